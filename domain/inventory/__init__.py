"""Inventory: robots' shelf scans, where they placed each book, and what that tells."""
