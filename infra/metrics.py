"""Prometheus metrics of the process (scraped at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_RELAYED = Counter(
    "commonshelf_events_relayed_total", "Events published to JetStream by the relay",
    ["tenant"])
EVENTS_APPLIED = Counter(
    "commonshelf_projection_events_applied_total", "Events applied to read models",
    ["projection"])
EVENTS_DEFERRED = Counter(
    "commonshelf_projection_events_deferred_total",
    "Events handed back because their predecessor was not applied yet", ["projection"])
EVENTS_FAILED = Counter(
    "commonshelf_projection_events_failed_total",
    "Events a projection could not apply (retried; the tenant waits behind them)",
    ["projection", "tenant"])
EVENTS_PARKED = Counter(
    "commonshelf_projection_events_parked_total",
    "Events a projection (or process manager) could not apply and parked: an alert",
    ["projection", "tenant"])
REQUESTS = Counter(
    "commonshelf_requests_total", "HTTP requests and GraphQL operations (commands)",
    ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "commonshelf_request_seconds", "Time to answer a request", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
COMMANDS = Counter(
    "commonshelf_graphql_operations_total",
    "GraphQL operations by root field: mutations are the commands", ["kind", "field", "outcome"])
COMMAND_SECONDS = Histogram(
    "commonshelf_graphql_operation_seconds", "Time to run a GraphQL operation",
    ["kind", "field"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
