"""What browsers get: security headers on every response, and the API docs and GraphiQL
served from the package (no CDN: the service works offline), with OAuth2 in OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter

from api.openapi_errors import document_errors
from tenants.client import LIBRARY_SCOPES, OFFICE_SCOPES

# The HTML pages load scripts and styles from this service only, and run no inline script.
HTML_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
# The console (`/`) is stricter still: no inline style either, no forms posting anywhere,
# and DOM sinks only through named Trusted Types policies (the MARC view parses XML).
CONSOLE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; form-action 'self'; base-uri 'none'; "
                  "frame-ancestors 'none'; require-trusted-types-for 'script'; "
                  "trusted-types marcxml")
# Everything else is data: nothing in it may run, load or be framed.
DATA_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
PUBLIC_PATHS = ("/oauth/token", "/oauth/authorize", "/oauth/logout", "/.well-known/jwks.json",
                "/healthz", "/readyz")
SCOPE_DESCRIPTIONS = {
    "consortium:admin": "the consortium office: member libraries and their clients",
    "metrics": "the office's monitoring: /metrics",
    "library:read": "a library's catalog, patrons, loans and reports",
    "library:write": "a library's cataloguing and circulation",
    "ill": "interlibrary lending",
    "inventory:upload": "an inventory robot's scan uploads",
}


class SecurityHeaders:
    """Adds nosniff, frame and referrer rules and a Content-Security-Policy to every
    response, and drops any `server` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {b"server", b"content-security-policy"}]
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html")
                           for k, v in headers)
                policy = (CONSOLE_POLICY if html and scope["path"] == "/"
                          else HTML_POLICY if html else DATA_POLICY)
                message = {**message, "headers": [*headers, *SECURITY_HEADERS,
                                                  (b"content-security-policy",
                                                   policy.encode())]}
            await send(message)

        await self.app(scope, receive, secured)


def page_text(name: str) -> str:
    """A page shipped in api/static."""
    return (resources.files("api") / "static" / name).read_text(encoding="utf-8")


docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/docs")
def docs() -> HTMLResponse:
    """Swagger UI over /openapi.json, from the package's own copy."""
    return HTMLResponse(page_text("docs.html"))


class LocalGraphiQL(GraphQLRouter[Any, Any]):
    """strawberry's GraphQL router, whose GraphiQL page loads from this service."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # noqa: ARG002
        """GraphiQL from the package's own copy (strawberry's page loads it from a CDN)."""
        return HTMLResponse(page_text("graphiql.html"))


def static_files() -> StaticFiles:
    """The vendored Swagger UI, GraphiQL and React files (api/static, see its README)."""
    return StaticFiles(packages=[("api", "static")])


def with_client_credentials(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document with an OAuth2 client-credentials scheme that every
    authenticated operation requires, so /docs offers "Authorize"."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        scopes = sorted(OFFICE_SCOPES | LIBRARY_SCOPES)
        document.setdefault("components", {})["securitySchemes"] = {"clientCredentials": {
            "type": "oauth2",
            "description": "A client id and secret from the consortium office; the token "
                           "endpoint takes them by HTTP Basic or in the form.",
            "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": {s: SCOPE_DESCRIPTIONS.get(s, s) for s in scopes}}}}}
        for path, operations in document.get("paths", {}).items():
            if path in PUBLIC_PATHS:
                continue
            for operation in operations.values():
                operation.setdefault("security", [{"clientCredentials": []}])
        document_errors(document)
        app.openapi_schema = document
        return document

    return openapi
