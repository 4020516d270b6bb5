"""The office lists a library's clients, renames it, rotates client secrets; a suspended
library is told why."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from tenants.client import ApiClient
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_patch_renames_and_changes_isil_and_directory_shows_it(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str],
        services: Services) -> None:
    path = f"/admin/tenants/{library['slug']}"
    changed = http.patch(path, json={"name": "Riverside Library", "isil": "XX-RIV"},
                         headers=admin_headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["isil"]) == ("Riverside Library", "XX-RIV")
    listed = {t["slug"]: t for t in http.get("/admin/tenants", headers=admin_headers).json()}
    assert listed[library["slug"]]["name"] == "Riverside Library"  # read-your-writes
    assert listed[library["slug"]]["isil"] == "XX-RIV"
    removed = http.patch(path, json={"isil": None}, headers=admin_headers)
    assert removed.json()["isil"] is None
    assert removed.json()["name"] == "Riverside Library"
    listed = {t["slug"]: t for t in http.get("/admin/tenants", headers=admin_headers).json()}
    assert listed[library["slug"]]["isil"] is None
    viewer = http.post("/graphql", json={"query": "{ viewer { tenant { name isil } } }"},
                       headers=_bearer(library["token"])).json()
    assert viewer["data"]["viewer"]["tenant"] == {"name": "Riverside Library", "isil": None}
    tenant = services.consortium.office.get_tenant(library["slug"])
    assert tenant.version == 3  # registered, then two DetailsChanged events


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 422, "give name or isil"),
    ({"name": None}, 422, "name"),
    ({"name": " "}, 422, "name must be"),
    ({"isil": "no isil"}, 422, "isil"),
    ({"slug": "other"}, 422, "slug"),
])
def test_patch_bad_input_names_the_field(http: TestClient, admin_headers: dict[str, str],
                                         library: dict[str, str], body: dict[str, object],
                                         status: int, field: str) -> None:
    answer = http.patch(f"/admin/tenants/{library['slug']}", json=body, headers=admin_headers)
    assert answer.status_code == status, answer.text
    assert field in answer.json()["detail"]


def test_patch_unknown_archived_or_by_a_library_is_refused(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str]) -> None:
    assert http.patch("/admin/tenants/no-such-lib", json={"name": "X"},
                      headers=admin_headers).status_code == 404
    assert http.patch(f"/admin/tenants/{library['slug']}", json={"name": "Mine now"},
                      headers=_bearer(library["token"])).status_code == 403
    http.post(f"/admin/tenants/{library['slug']}/archive", headers=admin_headers)
    archived = http.patch(f"/admin/tenants/{library['slug']}", json={"name": "X"},
                          headers=admin_headers)
    assert archived.status_code == 409
    assert "archived" in archived.json()["detail"]


def test_clients_listed_with_scopes_created_and_last_token_never_secrets(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str]) -> None:
    path = f"/admin/tenants/{library['slug']}/clients"
    robot = http.post(path, json={"name": "robot", "scopes": ["inventory:upload"]},
                      headers=admin_headers).json()
    listed = http.get(path, headers=admin_headers)
    assert listed.status_code == 200, listed.text
    by_id = {c["client_id"]: c for c in listed.json()}
    assert set(by_id) == {library["client_id"], robot["client_id"]}
    desk = by_id[library["client_id"]]
    assert desk["scopes"] == ["library:read", "library:write"]
    assert desk["last_token_at"] is not None  # the fixture got a token
    assert by_id[robot["client_id"]]["last_token_at"] is None
    assert by_id[robot["client_id"]]["created_at"] >= desk["created_at"]
    assert "secret" not in listed.text.replace("secret_rotated_at", "").replace(
        "previous_secret_valid_until", "")
    assert robot["client_secret"] not in listed.text
    http.delete(f"{path}/{robot['client_id']}", headers=admin_headers)
    again = {c["client_id"]: c for c in http.get(path, headers=admin_headers).json()}
    assert again[robot["client_id"]]["revoked"] is True


def test_clients_of_another_tenant_are_not_listed(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str],
        unique_slug: str) -> None:
    other = f"{unique_slug}-b"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    http.post(f"/admin/tenants/{other}/clients", json={"name": "x", "scopes": ["ill"]},
              headers=admin_headers)
    mine = http.get(f"/admin/tenants/{library['slug']}/clients", headers=admin_headers).json()
    assert [c["client_id"] for c in mine] == [library["client_id"]]
    assert http.get(f"/admin/tenants/{library['slug']}/clients",
                    headers=_bearer(library["token"])).status_code == 403
    assert http.get("/admin/tenants/no-such-lib/clients",
                    headers=admin_headers).status_code == 404


def test_rotated_secret_old_one_works_for_the_grace_period_then_stops(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str],
        services: Services) -> None:
    path = f"/admin/tenants/{library['slug']}/clients/{library['client_id']}/rotate-secret"
    rotated = http.post(path, json={"grace_seconds": 2}, headers=admin_headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["client_secret"]
    assert new != library["client_secret"]
    assert rotated.json()["previous_secret_valid_until"]
    token_for(http, library["client_id"], new)
    token_for(http, library["client_id"], library["client_secret"])  # within the grace
    listed = http.get(f"/admin/tenants/{library['slug']}/clients", headers=admin_headers)
    assert listed.json()[0]["previous_secret_valid_until"] is not None
    time.sleep(2.2)
    refused = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(library["client_id"], library["client_secret"]))
    assert refused.status_code in (400, 401)
    assert refused.json()["error"] == "invalid_client"
    token_for(http, library["client_id"], new)
    client = services.consortium.scope(library["slug"]).clients.get_client(library["client_id"])
    events = services.consortium.scope(library["slug"]).clients.repository.event_store.get(
        client.id)
    assert any(isinstance(e, ApiClient.SecretRotated) for e in events)


def test_rotate_default_grace_and_bad_requests(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str],
        unique_slug: str) -> None:
    base = f"/admin/tenants/{library['slug']}/clients"
    rotated = http.post(f"{base}/{library['client_id']}/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200, rotated.text
    token_for(http, library["client_id"], library["client_secret"])  # a day of grace
    too_long = http.post(f"{base}/{library['client_id']}/rotate-secret",
                         json={"grace_seconds": 10**9}, headers=admin_headers)
    assert too_long.status_code == 422
    assert "grace_seconds" in too_long.json()["detail"]
    other = f"{unique_slug}-c"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    foreign = http.post(f"/admin/tenants/{other}/clients/{library['client_id']}/rotate-secret",
                        headers=admin_headers)
    assert foreign.status_code == 404
    assert http.post(f"{base}/{library['client_id']}/rotate-secret",
                     headers=_bearer(library["token"])).status_code == 403


def test_suspended_library_is_told_the_reason(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str]) -> None:
    reason = "membership fees for 2026 unpaid; write to the office"
    http.post(f"/admin/tenants/{library['slug']}/suspend", json={"reason": reason},
              headers=admin_headers)
    refused = http.post("/graphql", json={"query": "{ viewer { clientId } }"},
                        headers=_bearer(library["token"])).json()
    assert refused["errors"][0]["extensions"]["code"] == "TENANT_NOT_ACTIVE"
    assert reason in refused["errors"][0]["message"]
    rest = http.get("/catalog/imports", headers=_bearer(library["token"]))
    assert rest.status_code == 403
    assert reason in rest.json()["detail"]
    token = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(library["client_id"], library["client_secret"]))
    assert token.status_code == 403
    assert reason in token.json()["error_description"]
