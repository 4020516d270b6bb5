"""Bounded contexts: catalog, circulation, sharing, lending, acquisition, inventory."""
