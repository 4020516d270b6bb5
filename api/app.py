"""The FastAPI application: routers, GraphQL, error handlers, body limits, lifespan."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import REGISTRY
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import console, errors
from api.bodies import JsonBodies
from api.browser import (
    LocalGraphiQL,
    SecurityHeaders,
    docs_router,
    static_files,
    with_client_credentials,
)
from api.dependencies import Services, create_read_models, projection_status
from api.graphql.context import context_getter
from api.graphql.schema import schema, sdl
from api.observability import RequestMetrics
from api.request_ids import RequestIds
from api.rest import admin, catalog, health, lending, metrics, oauth, robots, signin, staff
from infra.relay import Relay
from projections.runner import ProjectionWorker
from tenants.imports import beat_while_serving
from tenants.processes.runner import ProcessRunner
from tenants.scans import ScanWorker


class BodyLimit:
    """Answers 413 as soon as a request body grows past the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 by_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.by_path = by_path or {}  # larger limits for upload paths (MARC files, scans)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"].rstrip("/"), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLargeError
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLargeError:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = (b'{"detail":"the request body is over the limit of %d bytes","code":"TOO_LARGE"}'
                % limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLargeError(Exception):
    pass


_collectors: list[Collector] = []


def graphql_sdl() -> PlainTextResponse:
    """The GraphQL schema as SDL, for client code generators (no token needed)."""
    return PlainTextResponse(sdl(), media_type="text/plain; charset=utf-8")


class QueryStringsOut(logging.Filter):
    """Keeps query strings out of the access log: a client that sends a secret or a
    patron's barcode in one must not find it in the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, query = args[2].partition("?")[::2]
            record.args = (args[0], args[1], path + ("?…" if query else ""), *args[3:])
        return True


_ACCESS_FILTER = QueryStringsOut()


def create_app(services: Services, relay: Relay | None = None,
               workers: list[ProjectionWorker] | None = None,
               scan_workers: list[ScanWorker] | None = None,
               processes: list[ProcessRunner] | None = None) -> FastAPI:
    """The HTTP application over built services, with the relay and workers beside it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.nats.start()
        await asyncio.to_thread(create_read_models, services)  # queries never create tables
        stop = asyncio.Event()
        background = [asyncio.create_task(relay.run(stop))] if relay else []
        background += [asyncio.create_task(w.run(stop)) for w in workers or []]
        background += [asyncio.create_task(w.run(stop)) for w in scan_workers or []]
        background += [asyncio.create_task(p.run(stop)) for p in processes or []]
        background.append(asyncio.create_task(beat_while_serving(
            services.consortium.placement, stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*background)
            await services.nats.close()

    app = FastAPI(
        title="CommonShelf",
        description="The cloud service of a library consortium.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # browser.docs_router serves /docs from the package, not a CDN
        redoc_url=None,
    )
    app.openapi = with_client_credentials(app)  # type: ignore[method-assign]
    app.mount("/static", static_files(), name="static")
    app.include_router(docs_router)
    app.include_router(console.router)
    app.state.services = services
    app.state.draining = threading.Event()  # set on SIGTERM: /readyz answers 503 (api.cli)
    access = logging.getLogger("uvicorn.access")
    if _ACCESS_FILTER not in access.filters:
        access.addFilter(_ACCESS_FILTER)
    errors.install(app)
    app.include_router(oauth.router)
    app.include_router(signin.router)
    app.include_router(staff.router)
    app.include_router(admin.router)
    app.include_router(lending.router)
    app.include_router(catalog.router)
    app.include_router(robots.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.add_api_route("/graphql/schema.graphql", graphql_sdl, methods=["GET"],
                      response_class=PlainTextResponse, tags=["graphql"])
    app.include_router(LocalGraphiQL(schema, context_getter=context_getter), prefix="/graphql")
    app.add_middleware(JsonBodies)  # inside the body limit, which bounds what it reads
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_body_bytes,
                       by_path={"/catalog/imports": services.settings.max_import_bytes,
                                "/robots/scans": services.settings.max_scan_bytes})
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestIds)
    app.add_middleware(SecurityHeaders)  # outermost: even a refused body gets the headers
    collector = metrics.PipelineCollector(lambda: projection_status(services))
    while _collectors:  # one pipeline collector per process, even when apps are rebuilt
        REGISTRY.unregister(_collectors.pop())
    REGISTRY.register(collector)
    _collectors.append(collector)
    return app


def create_background_app(services: Services) -> FastAPI:
    """What a relay, projection or scan process serves on its port: `/healthz`, and
    `/metrics` for a token with the `metrics` scope."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    errors.install(app)
    app.include_router(metrics.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(SecurityHeaders)
    return app
