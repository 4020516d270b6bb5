"""The GraphQL face for member libraries (strawberry)."""
