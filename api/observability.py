"""What the API tells Prometheus: every HTTP request, and every GraphQL operation by field."""

from __future__ import annotations

import time

from graphql import DocumentNode, FieldNode, OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry import Schema
from strawberry.extensions import SchemaExtension

from api.auth import AuthError
from infra.metrics import COMMAND_SECONDS, COMMANDS, REQUEST_SECONDS, REQUESTS


class RequestMetrics:
    """Counts requests and times them, labelled by route template (not raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], path).observe(time.perf_counter() - started)


class OperationMetrics(SchemaExtension):
    """Counts and times every operation by its root fields (`checkOut`, `record`, ...).

    Labels stay few whatever clients send: a root field the schema does not have counts as
    `unknown`, and an operation whose caller is not authenticated as `unauthenticated`
    (a label per name sent would let anyone grow the metrics without bound)."""

    def on_operation(self):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return  # did not parse: nothing to attribute it to
        kind = context.operation_type.value if context.operation_type else "unknown"
        outcome = "error" if context.result is None or context.result.errors else "ok"
        for field in self._root_fields(document, context.operation_name, kind):
            COMMANDS.labels(kind, field, outcome).inc()
            COMMAND_SECONDS.labels(kind, field).observe(elapsed)

    def _root_fields(self, document: DocumentNode, operation_name: str | None,
                     kind: str) -> list[str]:
        if not _authenticated(self.execution_context.context):
            return [UNAUTHENTICATED]
        known = _known_root_fields(self.execution_context.schema, kind)
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if operation_name and (
                    definition.name is None or definition.name.value != operation_name):
                continue
            return [selection.name.value if selection.name.value in known else UNKNOWN
                    for selection in definition.selection_set.selections
                    if isinstance(selection, FieldNode)]
        return []


UNKNOWN = "unknown"
UNAUTHENTICATED = "unauthenticated"
_INTROSPECTION = frozenset({"__schema", "__type", "__typename"})
_root_fields_of: dict[tuple[int, str], frozenset[str]] = {}


def _known_root_fields(schema: Schema, kind: str) -> frozenset[str]:
    """The root fields the schema has for this kind of operation (introspection's too)."""
    cache_key = (id(schema), kind)
    known = _root_fields_of.get(cache_key)
    if known is None:
        graphql_schema = schema._schema  # strawberry's graphql-core schema
        root = {"query": graphql_schema.query_type, "mutation": graphql_schema.mutation_type,
                "subscription": graphql_schema.subscription_type}.get(kind)
        known = frozenset(root.fields if root is not None else ()) | _INTROSPECTION
        _root_fields_of[cache_key] = known
    return known


def _authenticated(context: object) -> bool:
    """Whether the request's caller proved who they are, checked without I/O: a resolver
    that verified the token left its client in memory."""
    services, authorization = (getattr(context, "services", None),
                               getattr(context, "authorization", None))
    if services is None or not authorization:
        return False
    try:
        return services.tokens.authenticate_known(authorization) is not None
    except AuthError:
        return False  # a revoked client or a suspended library
