"""The catalog in GraphQL: records, items, and the library's edits to them."""
