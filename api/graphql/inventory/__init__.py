"""Inventory in GraphQL: a library's robot scans and their reports."""
