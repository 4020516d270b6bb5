"""Shared metadata: records members contribute to the consortium, edited and merged there."""
