"""The union catalog in GraphQL: one entry per edition across the members."""
