"""OAuth 2.0 token endpoint (client credentials) and the JWKS that verifies its tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.dependencies import ServicesDep

router = APIRouter(tags=["oauth"])


@router.post("/oauth/token")
async def token(request: Request, svc: ServicesDep) -> JSONResponse:
    """RFC 6749 section 4.4: grant_type=client_credentials, client by HTTP Basic or form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return JSONResponse(
            {"error": "invalid_request",
             "error_description": "send the body as application/x-www-form-urlencoded"},
            status_code=400,
        )
    form = {k: str(v) for k, v in (await request.form()).items()}
    headers = request.headers  # case-insensitive, as authlib expects
    status, body, extra = await run_in_threadpool(svc.tokens.issue, form, headers)
    return JSONResponse(body, status_code=status, headers=dict(extra))


@router.get("/.well-known/jwks.json")
def jwks(svc: ServicesDep) -> dict[str, Any]:
    """The public keys of the token signer."""
    return svc.tokens.jwks()
