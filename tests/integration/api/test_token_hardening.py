"""The token endpoint under attack, tokens that claim too much, and what browsers get:
security headers, docs and GraphiQL served offline, OAuth2 in OpenAPI."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from api.auth import TokenThrottle
from api.browser import HTML_POLICY
from api.cli import _http_server
from api.dependencies import Services

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
VIEWER = {"query": "{ viewer { clientId scopes } }"}


def _token_request(http: TestClient, client_id: str, secret: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     auth=(client_id, secret))


def test_unknown_and_wrong_secret_clients_get_the_same_late_answer(
        http: TestClient, library: dict[str, str], services: Services) -> None:
    answers = []
    for client_id, secret in ((f"{library['slug']}.{secrets.token_hex(8)}", "x"),
                              (library["client_id"], "wrong")):
        started = time.monotonic()
        response = _token_request(http, client_id, secret)
        elapsed = time.monotonic() - started
        assert elapsed >= services.settings.token_failure_delay_s * 0.9  # slowed down
        answers.append((response.status_code, response.json(),
                        response.headers.get("www-authenticate")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert answers[0][1]["error"] == "invalid_client"


@pytest.fixture
def strict_throttle(services: Services) -> Any:
    """A throttle with small limits, for this test only."""
    before = services.tokens.throttle
    services.tokens.throttle = TokenThrottle(per_client=3, per_address=5, window_s=60)
    yield services.tokens.throttle
    services.tokens.throttle = before


def test_repeated_failures_are_refused_with_429_per_client_and_per_address(
        http: TestClient, library: dict[str, str], strict_throttle: TokenThrottle) -> None:
    for _ in range(3):
        assert _token_request(http, library["client_id"], "wrong").status_code == 401
    refused = _token_request(http, library["client_id"], library["client_secret"])
    assert refused.status_code == 429  # even the right secret waits: guessing is stopped
    assert refused.json()["error"] == "slow_down"
    assert 0 < int(refused.headers["retry-after"]) <= 60

    # Another address may still use the client; the limit per client holds there too.
    elsewhere = TestClient(http.app, client=("192.0.2.7", 40000))
    assert _token_request(elsewhere, library["client_id"],
                          library["client_secret"]).status_code == 429
    # From this address, two more failures (of any client id) reach the address's limit.
    for _ in range(2):
        assert _token_request(http, f"nobody.{secrets.token_hex(4)}", "x").status_code == 401
    assert _token_request(http, f"nobody.{secrets.token_hex(4)}", "x").status_code == 429
    other = TestClient(http.app, client=("192.0.2.8", 40000))
    assert _token_request(other, f"nobody.{secrets.token_hex(4)}", "x").status_code == 401


def test_the_throttle_forgets_failures_after_its_window() -> None:
    throttle = TokenThrottle(per_client=2, per_address=100, window_s=0.2)
    throttle.failed("c", "a")
    throttle.failed("c", "a")
    wait = throttle.retry_after("c", "a")
    assert wait is not None
    assert 0 < wait <= 0.2
    time.sleep(0.25)
    assert throttle.retry_after("c", "a") is None


def test_the_throttle_keeps_a_bounded_memory() -> None:
    throttle = TokenThrottle(per_client=5, per_address=5, window_s=60, max_tracked=100)
    for n in range(1000):
        throttle.failed(f"client-{n}", f"address-{n}")
    assert len(throttle._failures) <= 101


def _signed(services: Services, claims: dict[str, Any]) -> str:
    key_set = KeySet([services.tokens.keys.current])
    return jwt.encode({"alg": "RS256", "typ": "at+jwt"}, claims, key_set)


def _claims(library: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "commonshelf", "aud": "commonshelf", "sub": library["client_id"],
            "client_id": library["client_id"], "tenant": library["slug"],
            "scope": "library:read", "iat": now, "exp": now + 600,
            "jti": secrets.token_hex(8), **changes}


def _viewer(http: TestClient, token: str) -> dict[str, Any]:
    body: dict[str, Any] = http.post("/graphql", json=VIEWER,
                                     headers={"Authorization": f"Bearer {token}"}).json()
    return body


def test_a_signed_token_with_scopes_beyond_its_client_is_refused(
        http: TestClient, library: dict[str, str], services: Services) -> None:
    fair = _viewer(http, _signed(services, _claims(library)))
    assert fair["data"]["viewer"]["scopes"] == ["library:read"]  # the forging itself works
    beyond = _viewer(http, _signed(services, _claims(
        library, scope="library:read consortium:admin")))
    assert beyond["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "consortium:admin" in beyond["errors"][0]["message"]


def test_a_token_living_longer_than_the_configured_lifetime_is_refused(
        http: TestClient, library: dict[str, str], services: Services) -> None:
    now = int(time.time())
    for claims in (_claims(library, exp=now + 30 * 86400),
                   _claims(library, iat=now - 60, exp=now + services.tokens.ttl_s * 2),
                   _claims(library, iat=now + 3600, exp=now + 3700)):
        answer = _viewer(http, _signed(services, claims))
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", claims
    issued = _viewer(http, library["token"])
    assert issued["data"]["viewer"]["clientId"] == library["client_id"]


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("GET", "/healthz", {}),
    ("GET", "/nowhere", {}),
    ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials"}}),
    ("POST", "/graphql", {"json": VIEWER}),
    ("POST", "/admin/tenants", {"content": b"x" * (128 * 1024),
                                "headers": {"content-type": "application/json"}}),
    ("GET", "/openapi.json", {}),
    ("GET", "/static/docs.js", {}),
])
def test_every_response_carries_the_security_headers(http: TestClient, method: str, path: str,
                                                     kwargs: dict[str, Any]) -> None:
    response = http.request(method, path, **kwargs)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


def test_uvicorn_sends_no_server_banner() -> None:
    assert _http_server(object(), "127.0.0.1", 0, "warning").config.server_header is False


@pytest.mark.parametrize(("path", "headers"), [
    ("/docs", {}),
    ("/graphql", {"accept": "text/html"}),
])
def test_docs_and_graphiql_load_everything_from_the_service(
        http: TestClient, path: str, headers: dict[str, str]) -> None:
    page = http.get(path, headers=headers)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == HTML_POLICY
    assert "<script>" not in page.text  # no inline script: the policy allows none
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls
    for url in urls:
        assert url.startswith("/static/"), url
        asset = http.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in {
            "text/javascript", "application/javascript", "text/css"}, url


def test_openapi_offers_client_credentials_so_docs_can_authorize(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["clientCredentials"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert {"consortium:admin", "library:read"} <= set(flow["scopes"])
    assert document["paths"]["/admin/tenants"]["get"]["security"] == [
        {"clientCredentials": []}]
    assert "security" not in document["paths"]["/oauth/token"]["post"]
