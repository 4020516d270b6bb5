"""Acquisition: purchase suggestions and orders, weighed against what the consortium holds."""
