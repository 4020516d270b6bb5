"""The failures each REST operation can answer, written into the OpenAPI document with the
bodies the service really sends (api.errors, api.app's body checks, the token endpoint):
`{"detail", "code", ...}` everywhere but the token endpoint, whose errors are RFC 6749's."""

from __future__ import annotations

from typing import Any

ERROR: dict[str, Any] = {
    "type": "object",
    "description": "An expected failure: what is wrong, and a stable code; a refused scan "
                   "batch also names its line and field, or the limit it crossed.",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["NOT_FOUND", "INVALID_INPUT", "FORBIDDEN"]},
        "errors": {"type": "array", "description": "each invalid field and its problem",
                   "items": {"type": "object", "required": ["field", "problem"],
                             "properties": {"field": {"type": "string"},
                                            "problem": {"type": "string"}}}},
        "line": {"type": "integer"},
        "field": {"type": "string"},
        "limit": {"type": "string", "description": "the limit crossed (a setting's name)"},
        "max": {"type": "integer", "description": "the limit's value"},
    },
}
OAUTH_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 6749 §5.2 error of the token endpoint.",
    "required": ["error"],
    "properties": {"error": {"type": "string", "examples": ["invalid_client"]},
                   "error_description": {"type": "string"}},
}
GRAPHQL_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "A GraphQL response whose request could not run, or an Error.",
    "properties": {"errors": {"type": "array", "items": {"type": "object"}},
                   "data": {}, "detail": {"type": "string"}, "code": {"type": "string"}},
}
TEXT: dict[str, Any] = {"schema": {"type": "string"}}
READINESS: dict[str, Any] = {
    "type": "object", "required": ["status", "checks"],
    "properties": {"status": {"enum": ["ready", "not ready"]},
                   "checks": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "each dependency: ok, or what is wrong"}}}
WHY = {
    400: "The body is not what the operation reads (not UTF-8, not JSON, not gzip).",
    401: "No token, or one that is not valid (expired, revoked, forged).",
    403: "The token lacks the scope, belongs to no library here, or its library is not "
         "active.",
    404: "Nothing of that id in the caller's library.",
    409: "The request conflicts with the current state (taken, not in that status, not "
         "ready yet, an idempotency key reused).",
    413: "The body is over its limit.",
    415: "The body is not in a format the operation takes.",
    422: "The input is invalid; `errors` or `line` and `field` say where.",
    429: "Too many requests; Retry-After says when to try again.",
    503: "The library is moving to another database server and its writes stayed paused "
         "longer than a writer waits (code TENANT_MOVING); Retry-After says when to try again.",
}
WRITES = ("post", "put", "patch", "delete")
# What, beyond the common failures, each operation may answer (by path prefix and method).
EXTRA: list[tuple[str, str, tuple[int, ...]]] = [
    ("/admin/", "post", (409,)), ("/admin/", "patch", (409,)), ("/admin/", "delete", (409,)),
    ("/catalog/imports", "post", (413, 415)), ("/robots/scans", "post", (413, 415)),
    ("/robots/scans/{scan_id}/report", "get", (409,)),
]
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a secret)
GRAPHQL_PATH = "/graphql"
SIGN_IN_PATH = "/oauth/authorize"  # a page for people: every answer is HTML
SIGN_IN_ANSWERS = {
    "400": "The authorize request is malformed (client, redirect URI, PKCE); the page says "
           "which parameter.",
    "401": "Wrong library, username or password: the form again, saying so.",
    "403": "The form's token expired or is missing, the account is disabled or the library "
           "suspended: the form again, saying what to do.",
    "429": "Too many failed sign-ins for this account or address; Retry-After says when to "
           "try again."}
LIBRARY_WRITES = ("/catalog/", "/robots/", GRAPHQL_PATH, "/iso18626")  # paused by a move
PUBLIC = ("/.well-known/jwks.json", "/healthz", "/readyz")


def document_errors(document: dict[str, Any]) -> None:
    """Adds the failures every operation may answer, with their real bodies, replacing
    FastAPI's default 422 (which the service never sends)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({"Error": ERROR, "OAuthError": OAUTH_ERROR, "GraphQLError": GRAPHQL_ERROR,
                    "Readiness": READINESS})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _failures(path, method, operation):
                responses[str(status)] = _response(status, _schema_of(path))
    if ready := document.get("paths", {}).get("/readyz", {}).get("get"):
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
        ready["responses"] = {
            "200": {"description": "Ready: PostgreSQL and NATS answer.", "content": body},
            "503": {"description": "Not ready (or draining); `checks` says what.",
                    "content": body}}
    graphql = document.get("paths", {}).get(GRAPHQL_PATH, {})
    if "get" in graphql:  # GraphiQL, for a browser
        graphql["get"]["responses"]["200"]["content"]["text/html"] = TEXT
    for refused in ("400", "415"):  # strawberry's own refusals of a body it cannot read
        if refused in graphql.get("post", {}).get("responses", {}):
            graphql["post"]["responses"][refused]["content"]["text/plain"] = TEXT
    _document_sign_in(document.get("paths", {}).get(SIGN_IN_PATH, {}))


def _document_sign_in(operations: dict[str, Any]) -> None:
    html = {"text/html": TEXT}
    for method, operation in operations.items():
        responses = operation.setdefault("responses", {})
        for status, why in SIGN_IN_ANSWERS.items():
            responses[status] = {"description": why, "content": html}
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                       "description": "seconds to wait"}}
        if method == "post":
            responses["302"] = {"description": "Signed in: back to the console with a "
                                               "one-time code and the request's state."}


def _failures(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    if path in PUBLIC or path == SIGN_IN_PATH:
        return []
    if path == TOKEN_PATH:
        return [400, 401, 429]
    statuses = [401, 403]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413, 422]
    elif any(p.get("in") == "query" for p in parameters):
        statuses.append(422)
    if path == GRAPHQL_PATH:
        statuses += [400, 413, 415, 422]
    if method in WRITES and path.startswith(LIBRARY_WRITES):
        statuses.append(503)
    statuses += [s for prefix, verb, extra in EXTRA
                 if path.startswith(prefix) and method == verb for s in extra]
    return sorted(set(statuses))


def _schema_of(path: str) -> str:
    if path == TOKEN_PATH:
        return "OAuthError"
    return "GraphQLError" if path == GRAPHQL_PATH else "Error"


def _response(status: int, schema: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": WHY[status], "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                             "description": "seconds to wait"}}
    return answer
