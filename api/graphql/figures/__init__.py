"""Consortium figures: what the office and each member plot."""
