"""REST routers: admin, OAuth 2.0, health."""
