"""Tenancy: tenants, the consortium office, API clients, tenant scopes."""
