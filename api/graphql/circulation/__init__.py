"""Circulation in GraphQL: patrons, loans, renewals, holds and loan policies."""
