"""Adapters: settings, PostgreSQL, event-store wiring, NATS, the embedded runtime."""
