"""What the API tells Prometheus: every HTTP request, and every GraphQL operation by field."""

from __future__ import annotations

import time

from graphql import FieldNode, OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

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
    """Counts and times every operation by its root fields (`checkOut`, `record`, ...)."""

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
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if context.operation_name and (
                    definition.name is None or definition.name.value != context.operation_name):
                continue
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    COMMANDS.labels(kind, selection.name.value, outcome).inc()
                    COMMAND_SECONDS.labels(kind, selection.name.value).observe(elapsed)
            break
