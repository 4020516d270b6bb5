"""The faces: FastAPI app, GraphQL, REST, OAuth 2.0, CLI."""
