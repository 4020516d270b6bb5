"""OAuth 2.0 client credentials, JWT claims, revocation and suspension."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from api.auth import AuthError, TokenService
from api.dependencies import Services
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _claims(http: TestClient, token: str) -> dict[str, object]:
    keys = KeySet.import_key_set(http.get("/.well-known/jwks.json").json())
    return dict(jwt.decode(token, keys).claims)


def test_token_by_basic_and_post_has_contract_claims(http: TestClient,
                                                     library: dict[str, str]) -> None:
    basic = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(library["client_id"], library["client_secret"]))
    assert basic.status_code == 200
    body = basic.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["scope"] == "library:read library:write"
    posted = http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": library["client_id"],
        "client_secret": library["client_secret"], "scope": "library:read"})
    assert posted.status_code == 200
    assert posted.json()["scope"] == "library:read"
    claims = _claims(http, posted.json()["access_token"])
    assert claims["sub"] == library["client_id"]
    assert claims["tenant"] == library["slug"]
    assert claims["scope"] == "library:read"
    assert {"iss", "iat", "exp", "jti"} <= set(claims)


@pytest.mark.parametrize(("form", "auth", "status", "error"), [
    ({"grant_type": "client_credentials"}, ("nobody.1234", "x"), 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
    ({"grant_type": "password"}, "own", 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials", "scope": "consortium:admin"}, "own", 400,
     "invalid_scope"),
])
def test_token_refusals(http: TestClient, library: dict[str, str], form: dict[str, str],
                        auth: object, status: int, error: str) -> None:
    credentials = (library["client_id"], library["client_secret"]) if auth == "own" else auth
    response = http.post("/oauth/token", data=form, auth=credentials)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.json()["error"] == error


def test_wrong_secret_is_invalid_client(http: TestClient, library: dict[str, str]) -> None:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(library["client_id"], "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_token_endpoint_wants_a_form(http: TestClient, library: dict[str, str]) -> None:
    response = http.post("/oauth/token", json={"grant_type": "client_credentials"},
                         auth=(library["client_id"], library["client_secret"]))
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()["error_description"]


def test_suspension_refuses_tokens_at_once(http: TestClient, admin_headers: dict[str, str],
                                           library: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {library['token']}"}
    query = {"query": "{ viewer { tenant { status } } }"}
    assert http.post("/graphql", json=query, headers=headers).json()["data"]["viewer"]
    http.post(f"/admin/tenants/{library['slug']}/suspend", json={"reason": "audit"},
              headers=admin_headers)
    refused = http.post("/graphql", json=query, headers=headers).json()
    assert refused["errors"][0]["extensions"]["code"] == "TENANT_NOT_ACTIVE"
    assert "suspended" in refused["errors"][0]["message"]
    new = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=(library["client_id"], library["client_secret"]))
    assert new.status_code == 403
    assert "suspended" in new.json()["error_description"]
    http.post(f"/admin/tenants/{library['slug']}/reactivate", headers=admin_headers)
    assert "errors" not in http.post("/graphql", json=query, headers=headers).json()


def test_revoked_client_gets_no_token_and_its_tokens_fail(
    http: TestClient, admin_headers: dict[str, str], library: dict[str, str]
) -> None:
    revoked = http.delete(f"/admin/tenants/{library['slug']}/clients/{library['client_id']}",
                          headers=admin_headers)
    assert revoked.status_code == 204
    again = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(library["client_id"], library["client_secret"]))
    assert again.status_code == 401
    old = http.post("/graphql", json={"query": "{ viewer { scopes } }"},
                    headers={"Authorization": f"Bearer {library['token']}"}).json()
    assert old["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_forged_tenant_claim_is_refused(http: TestClient, library: dict[str, str]) -> None:
    header, payload, signature = library["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    response = http.post("/graphql", json={"query": "{ viewer { scopes } }"},
                         headers={"Authorization": f"Bearer {forged}"}).json()
    assert response["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_token_for_helper_round_trips(http: TestClient, library: dict[str, str]) -> None:
    token = token_for(http, library["client_id"], library["client_secret"], "library:write")
    assert _claims(http, token)["scope"] == "library:write"


def test_a_token_once_accepted_is_refused_when_it_expires(
        services: Services, library: dict[str, str]) -> None:
    tokens = TokenService(services.consortium, services.tokens.keys, services.tokens.issuer,
                          ttl_s=1)
    status, body, _ = tokens.issue({"grant_type": "client_credentials"}, {
        "Authorization": "Basic " + base64.b64encode(
            f"{library['client_id']}:{library['client_secret']}".encode()).decode()})
    assert status == 200, body
    bearer = f"Bearer {body['access_token']}"
    assert tokens.authenticate(bearer).tenant == library["slug"]
    assert tokens.authenticate_known(bearer) is not None  # verified once, then remembered
    time.sleep(2.1)
    with pytest.raises(AuthError) as refused:
        tokens.authenticate(bearer)
    assert refused.value.code == "UNAUTHENTICATED"
    assert "expired" in refused.value.message
    assert tokens.authenticate_known(bearer) is None
