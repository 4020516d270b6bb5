"""Shared acquisition: suggestions, orders, the consortium-wide analysis."""
