"""Staff sign-in for the web console: OAuth 2.0 authorization code with PKCE (RFC 6749
section 4.1, RFC 7636 S256) for the public client `console`, whose only redirect is `/` on
this service's own origin; refresh tokens in an HTTP-only SameSite=Strict cookie, rotated
on every use; sign-out ends the session. The sign-in form is protected from cross-site
submission by a token bound to a cookie and to the authorize request, and may not be framed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.auth import CONSOLE_CLIENT
from api.dependencies import Services, ServicesDep
from api.rest.signin_page import CARRIED, TEXT, choose_language, message_page, sign_in_page
from tenants.scope import OFFICE
from tenants.staff import (
    SIGN_IN_FAILURES_PER_ACCOUNT,
    SIGN_IN_WINDOW_S,
    GrantInvalidError,
    SignInFailedError,
    SignInRefusedError,
    StaffAccess,
)

router = APIRouter(tags=["staff sign-in"])
REFRESH_COOKIE = "cs_refresh"
CSRF_COOKIE = "cs_signin"
COOKIE_PATH = "/oauth"
CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
MAX_STATE = 1000
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AuthorizeRequestError(ValueError):
    """The authorize request is not one the console may make (the message says why)."""


def redirect_allowed(redirect_uri: str) -> bool:
    """The console's only redirect: `/` on this origin, with a query or not (no scheme, no
    host, no second slash: nothing can point elsewhere)."""
    return redirect_uri == "/" or (redirect_uri.startswith("/?") and "#" not in redirect_uri
                                   and "\\" not in redirect_uri)


def check_authorize(params: Mapping[str, str]) -> None:
    """Refuses an authorize request the console would not make."""
    if params.get("client_id") != CONSOLE_CLIENT:
        raise AuthorizeRequestError(f"client_id must be {CONSOLE_CLIENT!r}")
    if not redirect_allowed(params.get("redirect_uri", "")):
        raise AuthorizeRequestError("redirect_uri must be '/' on this service")
    if params.get("response_type") != "code":
        raise AuthorizeRequestError("response_type must be 'code'")
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeRequestError("code_challenge_method must be 'S256'")
    if not CHALLENGE.match(params.get("code_challenge", "")):
        raise AuthorizeRequestError("code_challenge must be 43-128 characters of base64url")
    if len(params.get("state", "")) > MAX_STATE:
        raise AuthorizeRequestError(f"state must be at most {MAX_STATE} characters")


def _csrf_keys(svc: Services) -> list[bytes]:
    """HMAC keys derived from the token signing keys (every replica has them)."""
    return [hashlib.sha256(b"commonshelf sign-in form\0" + str(key.as_dict(private=True)["d"])
                           .encode()).digest() for key in svc.tokens.keys.accepted]


def _bound(params: Mapping[str, str], nonce: str) -> bytes:
    return "\0".join([nonce, *(params.get(n, "") for n in CARRIED)]).encode()


def csrf_token(svc: Services, params: Mapping[str, str], nonce: str) -> str:
    """The form's token: the cookie's nonce and the authorize request, signed."""
    return hmac.new(_csrf_keys(svc)[0], _bound(params, nonce), hashlib.sha256).hexdigest()


def csrf_valid(svc: Services, params: Mapping[str, str], nonce: str | None,
               token: str | None) -> bool:
    """Whether the form came from our page for this authorize request, in this browser."""
    if not nonce or not token:
        return False
    message = _bound(params, nonce)
    return any(hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), token)
               for key in _csrf_keys(svc))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _html(body: str, status: int = 200, headers: Mapping[str, str] | None = None
          ) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


def _form_page(svc: Services, request: Request, lang: str, params: Mapping[str, str], *,
               status: int = 200, nonce: str | None = None,
               headers: Mapping[str, str] | None = None, shown: Mapping[str, str] | None = None,
               errors: Mapping[str, str] | None = None) -> HTMLResponse:
    """The form with a token bound to the browser's nonce cookie (made when it has none),
    showing what was typed (`shown`: library, username) and the errors by field."""
    nonce = nonce or request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    page = sign_in_page(lang, params, csrf_token(svc, params, nonce),
                        library=(shown or {}).get("library", ""),
                        username=(shown or {}).get("username", ""), errors=errors)
    response = _html(page, status, headers)
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=_secure(request), path=COOKIE_PATH)
    return response


@router.get("/oauth/authorize", response_class=HTMLResponse)
def authorize_page(request: Request, svc: ServicesDep) -> HTMLResponse:
    """The sign-in page for the console's authorize request (`lang`: en, zh-Hans, vi;
    `library`: the library's slug, filled in)."""
    params = dict(request.query_params)
    lang = choose_language(params.get("lang"), request.headers.get("accept-language"))
    try:
        check_authorize(params)
    except AuthorizeRequestError as error:
        return _html(message_page(lang, TEXT[lang]["bad_request"].format(reason=error)), 400)
    library = params.get("library", "")[:40]  # the console may say which library to sign in to
    return _form_page(svc, request, lang, params, shown={"library": library})


@router.post("/oauth/authorize", response_class=HTMLResponse)
async def authorize(request: Request, svc: ServicesDep) -> Response:
    """Checks the form's token, the throttle and the password; on success redirects to the
    console with a one-time code (60 s), else shows the form with what to do."""
    started = time.monotonic()
    form = {k: str(v) for k, v in (await request.form()).items()}
    lang = choose_language(form.get("lang"), request.headers.get("accept-language"))
    text = TEXT[lang]
    try:
        check_authorize(form)
    except AuthorizeRequestError as error:
        return _html(message_page(lang, text["bad_request"].format(reason=error)), 400)
    if not csrf_valid(svc, form, request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        return _form_page(svc, request, lang, form, status=403,
                          nonce=secrets.token_urlsafe(24), errors={"form": text["expired"]})
    return await _sign_in(request, svc, form, lang, started)


async def _sign_in(request: Request, svc: Services, form: dict[str, str], lang: str,
                   started: float) -> Response:
    """The form's fields checked against the throttle and the staff user's password."""
    text = TEXT[lang]
    library = form.get("library", "").strip().lower()
    username = form.get("username", "").strip().lower()
    password = form.get("password", "")
    shown = {"library": library, "username": username}
    missing = {f: text[f"missing_{f}"] for f, v in (("username", username),
                                                     ("password", password)) if not v}
    if missing:
        return _form_page(svc, request, lang, form, status=400, errors=missing, shown=shown)
    tenant = None if library in ("", OFFICE) else library
    account = f"{tenant or OFFICE}/{username}"
    address = request.client.host if request.client else "unknown"
    throttle = svc.consortium.staff.throttle
    wait = await run_in_threadpool(throttle.retry_after, account, address)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        return _form_page(svc, request, lang, form, status=429,
                          headers={"Retry-After": str(seconds)}, shown=shown,
                          errors={"password": text["locked"].format(seconds=seconds)})
    try:
        user = await run_in_threadpool(svc.consortium.staff.sign_in, tenant, username, password)
    except SignInFailedError:
        await run_in_threadpool(throttle.failed, account, address)
        await asyncio.sleep(max(0.0, svc.settings.token_failure_delay_s
                                - (time.monotonic() - started)))
        message = text["failed"].format(tries=SIGN_IN_FAILURES_PER_ACCOUNT,
                                        minutes=SIGN_IN_WINDOW_S // 60)
        return _form_page(svc, request, lang, form, status=401, errors={"password": message},
                          shown=shown)
    except SignInRefusedError as error:
        return _form_page(svc, request, lang, form, status=403,
                          errors={"form": text["disabled" if error.why == "disabled"
                                               else "library_closed"]}, shown=shown)
    code = await run_in_threadpool(svc.consortium.staff.start_session, tenant, user,
                                   CONSOLE_CLIENT, form["redirect_uri"], form["code_challenge"])
    target = form["redirect_uri"]
    query = urlencode({"code": code, **({"state": form["state"]} if form.get("state") else {})})
    response = RedirectResponse(f"{target}{'&' if '?' in target else '?'}{query}", 302,
                                headers=NO_STORE)
    response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)
    return response


def _token_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description},
                        status_code=status, headers=NO_STORE)


def _issued(request: Request, svc: Services, access: StaffAccess, refresh: str) -> JSONResponse:
    response = JSONResponse(svc.tokens.issue_staff(access), headers=NO_STORE)
    response.set_cookie(REFRESH_COOKIE, refresh, max_age=svc.consortium.staff.session_lifetime_s,
                        httponly=True, samesite="strict", secure=_secure(request),
                        path=COOKIE_PATH)
    return response


async def staff_token(request: Request, svc: Services, form: dict[str, str]) -> JSONResponse:
    """The console's grants: authorization_code (with its PKCE verifier) and refresh_token
    (from the `cs_refresh` cookie)."""
    if form.get("client_id") != CONSOLE_CLIENT:
        return _token_error(401, "invalid_client", f"these grants are for client_id "
                            f"{CONSOLE_CLIENT!r} only")
    staff = svc.consortium.staff
    try:
        if form.get("grant_type") == "authorization_code":
            missing = [f for f in ("code", "code_verifier", "redirect_uri") if not form.get(f)]
            if missing:
                return _token_error(400, "invalid_request", f"give {', '.join(missing)}")
            access, refresh = await run_in_threadpool(
                staff.redeem_code, form["code"], form["code_verifier"], CONSOLE_CLIENT,
                form["redirect_uri"])
        else:
            cookie = request.cookies.get(REFRESH_COOKIE)
            if not cookie:
                return _token_error(400, "invalid_grant", "no session: sign in first")
            access, refresh = await run_in_threadpool(staff.refresh, cookie)
    except GrantInvalidError as error:
        response = _token_error(400, "invalid_grant", str(error))
        if form.get("grant_type") == "refresh_token":
            response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH)
        return response
    return _issued(request, svc, access, refresh)


@router.post("/oauth/logout", status_code=204)
async def logout(request: Request, svc: ServicesDep) -> Response:
    """Ends the session of the `cs_refresh` cookie (its tokens are refused at once) and
    clears the cookie; without a session there is nothing to end."""
    cookie = request.cookies.get(REFRESH_COOKIE)
    if cookie:
        await run_in_threadpool(svc.consortium.staff.sign_out, cookie)
    response = Response(status_code=204, headers=NO_STORE)
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=_secure(request))
    return response
