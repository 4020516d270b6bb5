"""OAuth 2.0 token endpoint (client credentials) and the JWKS that verifies its tokens."""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import time
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.dependencies import ServicesDep
from api.rest.signin import staff_token

router = APIRouter(tags=["oauth"])
STAFF_GRANTS = ("authorization_code", "refresh_token")  # the console's (api.rest.signin)

# Unknown client and wrong secret get the same answer: nothing tells which ids exist.
INVALID_CLIENT = {"error": "invalid_client",
                  "error_description": "client authentication failed (unknown client, wrong "
                                       "secret, or revoked client)"}


def claimed_client_id(authorization: str | None, form: dict[str, str]) -> str | None:
    """The client id a token request names, by HTTP Basic or in the form (unchecked)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote(decoded.partition(":")[0])[:200] or None
    return (form.get("client_id") or "")[:200] or None


@router.post("/oauth/token")
async def token(request: Request, svc: ServicesDep) -> JSONResponse:
    """RFC 6749 section 4.4: grant_type=client_credentials, client by HTTP Basic or form;
    the console's authorization_code and refresh_token grants (api.rest.signin).

    Failed client authentication is answered late (a fixed delay) and, after too many
    failures of one client id or from one address, refused with 429 and Retry-After."""
    started = time.monotonic()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return JSONResponse(
            {"error": "invalid_request",
             "error_description": "send the body as application/x-www-form-urlencoded"},
            status_code=400,
        )
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("grant_type") in STAFF_GRANTS:
        return await staff_token(request, svc, form)
    headers = request.headers  # case-insensitive, as authlib expects
    throttle = svc.tokens.throttle
    client_id = claimed_client_id(headers.get("authorization"), form)
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client_id, address)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        return JSONResponse(
            {"error": "slow_down",
             "error_description": f"too many failed token requests for this client or from "
                                  f"this address; retry in {seconds} s"},
            status_code=429, headers={"Retry-After": str(seconds)})
    status, body, extra = await run_in_threadpool(svc.tokens.issue, form, headers)
    if status == 401:
        throttle.failed(client_id, address)
        await asyncio.sleep(max(0.0, svc.settings.token_failure_delay_s
                                - (time.monotonic() - started)))
        return JSONResponse(INVALID_CLIENT, status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="commonshelf"'})
    return JSONResponse(body, status_code=status, headers=dict(extra))


@router.get("/.well-known/jwks.json")
def jwks(svc: ServicesDep) -> dict[str, Any]:
    """The public keys of the token signer."""
    return svc.tokens.jwks()
