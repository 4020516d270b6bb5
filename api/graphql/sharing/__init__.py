"""Shared metadata in GraphQL: sharing records, linking to them, editing and merging."""
