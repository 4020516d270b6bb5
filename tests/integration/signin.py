"""The console's sign-in as a browser goes through it: the page, the form, the code, the
token (helpers of the staff tests)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(challenge: str, state: str = "s-1", redirect: str = "/") -> dict[str, str]:
    """The console's authorize request."""
    return {"response_type": "code", "client_id": "console", "redirect_uri": redirect,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": state}


def csrf_of(page: httpx.Response) -> str:
    """The sign-in form's CSRF token."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def sign_in(http: TestClient, who: dict[str, str], challenge: str,
            password: str | None = None) -> httpx.Response:
    """Opens the sign-in page and submits it, as a browser does."""
    params = authorize_params(challenge)
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    return http.post("/oauth/authorize", data={
        **params, "csrf_token": csrf_of(page), "library": who["library"],
        "username": who["username"], "password": password or who["password"]},
        follow_redirects=False)


def code_of(response: httpx.Response) -> str:
    """The code the sign-in redirected to the console with."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("/?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def exchange(http: TestClient, code: str, verifier: str) -> httpx.Response:
    """The console's token request for a code."""
    return http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": "console", "redirect_uri": "/"})


def signed_in(http: TestClient, who: dict[str, str]) -> str:
    """A staff user's access token, through the whole flow."""
    verifier, challenge = pkce()
    token = exchange(http, code_of(sign_in(http, who, challenge)), verifier)
    assert token.status_code == 200, token.text
    access: str = token.json()["access_token"]
    return access
