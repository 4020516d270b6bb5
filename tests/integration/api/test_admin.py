"""The consortium office's REST API: contract, bad input, isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_tenant_lifecycle_through_admin_api(http: TestClient, admin_headers: dict[str, str],
                                            unique_slug: str) -> None:
    created = http.post("/admin/tenants", headers=admin_headers,
                        json={"slug": unique_slug, "name": "River Library", "isil": "XX-RIV"})
    assert created.status_code == 201
    assert created.json() == {"slug": unique_slug, "name": "River Library", "isil": "XX-RIV",
                              "status": "active", "suspension_reason": None,
                              "server": "default"}
    listed = http.get("/admin/tenants", headers=admin_headers).json()
    assert unique_slug in [t["slug"] for t in listed]
    assert all(set(t) == set(created.json()) for t in listed)  # every item names its server
    assert [t["server"] for t in listed if t["slug"] == unique_slug] == ["default"]
    path = f"/admin/tenants/{unique_slug}"
    assert http.get(path, headers=admin_headers).json()["name"] == "River Library"
    suspended = http.post(f"{path}/suspend", json={"reason": "fees"}, headers=admin_headers)
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["suspension_reason"] == "fees"
    listed_now = {t["slug"]: t for t in http.get("/admin/tenants", headers=admin_headers).json()}
    assert listed_now[unique_slug]["status"] == "suspended"  # read-your-writes, via the view
    assert listed_now[unique_slug]["suspension_reason"] == "fees"
    assert http.post(f"{path}/reactivate", headers=admin_headers).json()["status"] == "active"
    assert http.post(f"{path}/archive", headers=admin_headers).json()["status"] == "archived"
    again = http.post(f"{path}/reactivate", headers=admin_headers)
    assert again.status_code == 409
    assert "archived" in again.json()["detail"]


def test_duplicate_slug_is_conflict(http: TestClient, admin_headers: dict[str, str],
                                    library: dict[str, str]) -> None:
    response = http.post("/admin/tenants", json={"slug": library["slug"], "name": "Again"},
                         headers=admin_headers)
    assert response.status_code == 409
    assert library["slug"] in response.json()["detail"]


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"slug": "Bad Slug", "name": "X"}, 422, "slug"),
    ({"slug": "ok-slug", "name": "  "}, 422, "name"),
    ({"slug": "ok-slug", "name": "X", "isil": "nonsense"}, 422, "isil"),
    ({"slug": "ok-slug", "name": "X", "colour": "red"}, 422, "colour"),
    ({"name": "X"}, 422, "slug"),
])
def test_create_tenant_bad_input_names_field(http: TestClient, admin_headers: dict[str, str],
                                             body: dict[str, str], status: int,
                                             needle: str) -> None:
    response = http.post("/admin/tenants", json=body, headers=admin_headers)
    assert response.status_code == status
    assert needle in response.text
    listed = http.get("/admin/tenants", headers=admin_headers).json()
    assert "ok-slug" not in [t["slug"] for t in listed]


def test_malformed_json_is_400(http: TestClient, admin_headers: dict[str, str]) -> None:
    response = http.post("/admin/tenants", content=b'{"slug": "x", ',
                         headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"


def test_oversized_body_is_413(http: TestClient, admin_headers: dict[str, str]) -> None:
    response = http.post("/admin/tenants", json={"slug": "big", "name": "x" * 100_000},
                         headers=admin_headers)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_unknown_tenant_is_404(http: TestClient, admin_headers: dict[str, str]) -> None:
    for method, path in [("get", "/admin/tenants/nobody-here"),
                         ("post", "/admin/tenants/nobody-here/reactivate"),
                         ("post", "/admin/tenants/nobody-here/archive")]:
        response = getattr(http, method)(path, headers=admin_headers)
        assert response.status_code == 404, path
        assert "nobody-here" in response.json()["detail"]


def test_admin_paths_refuse_missing_and_bad_tokens(http: TestClient) -> None:
    assert http.get("/admin/tenants").status_code == 401
    bad = http.get("/admin/tenants", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401
    assert "POST /oauth/token" in bad.json()["detail"]
    assert http.get("/admin/tenants", headers={"Authorization": "Basic abc"}).status_code == 401


ADMIN_PATHS = [
    ("get", "/admin/tenants", None),
    ("post", "/admin/tenants", {"slug": "sneaky", "name": "Sneaky"}),
    ("get", "/admin/tenants/{other}", None),
    ("post", "/admin/tenants/{other}/suspend", {"reason": "x"}),
    ("post", "/admin/tenants/{other}/reactivate", None),
    ("post", "/admin/tenants/{other}/archive", None),
    ("post", "/admin/tenants/{other}/clients", {"name": "x", "scopes": ["library:read"]}),
    ("delete", "/admin/tenants/{other}/clients/{other}.0000", None),
    ("get", "/admin/tenants/{own}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_PATHS)
def test_library_token_refused_on_every_admin_path(
    http: TestClient, admin_headers: dict[str, str], library: dict[str, str],
    method: str, path: str, body: dict[str, object] | None,
) -> None:
    other = http.post("/admin/tenants", json={"slug": library["slug"] + "-b", "name": "B"},
                      headers=admin_headers)
    assert other.status_code == 201
    url = path.format(other=library["slug"] + "-b", own=library["slug"])
    headers = {"Authorization": f"Bearer {library['token']}"}
    kwargs = {"json": body} if body is not None else {}
    response = http.request(method.upper(), url, headers=headers, **kwargs)
    assert response.status_code == 403
    assert http.get(f"/admin/tenants/{library['slug']}-b",
                    headers=admin_headers).json()["status"] == "active"


def test_library_client_cannot_have_admin_scope(http: TestClient, admin_headers: dict[str, str],
                                                library: dict[str, str]) -> None:
    response = http.post(f"/admin/tenants/{library['slug']}/clients",
                         json={"name": "x", "scopes": ["consortium:admin"]},
                         headers=admin_headers)
    assert response.status_code == 422
    assert "consortium:admin" in response.json()["detail"]
    unknown = http.post(f"/admin/tenants/{library['slug']}/clients",
                        json={"name": "x", "scopes": ["library:everything"]},
                        headers=admin_headers)
    assert unknown.status_code == 422


def test_revoke_needs_the_clients_own_tenant(http: TestClient, admin_headers: dict[str, str],
                                             library: dict[str, str]) -> None:
    http.post("/admin/tenants", json={"slug": library["slug"] + "-c", "name": "C"},
              headers=admin_headers)
    wrong = http.delete(f"/admin/tenants/{library['slug']}-c/clients/{library['client_id']}",
                        headers=admin_headers)
    assert wrong.status_code == 404
    viewer = http.post("/graphql", json={"query": "{ viewer { scopes } }"},
                       headers={"Authorization": f"Bearer {library['token']}"})
    assert "errors" not in viewer.json()


def test_suspend_needs_a_reason(http: TestClient, admin_headers: dict[str, str],
                                library: dict[str, str]) -> None:
    path = f"/admin/tenants/{library['slug']}/suspend"
    missing = http.post(path, json={}, headers=admin_headers)
    assert missing.status_code == 422
    assert "reason" in missing.text
    blank = http.post(path, json={"reason": "  "}, headers=admin_headers)
    assert blank.status_code == 422
    assert http.get(f"/admin/tenants/{library['slug']}",
                    headers=admin_headers).json()["status"] == "active"


def test_registration_refused_when_schema_exists_leaves_no_tenant(
    http: TestClient, admin_headers: dict[str, str], services: Services, unique_slug: str
) -> None:
    schema = "t_" + unique_slug.replace("-", "_")
    services.database.create_schema(schema)
    try:
        response = http.post("/admin/tenants", json={"slug": unique_slug, "name": "Clash"},
                             headers=admin_headers)
        assert response.status_code == 409
        assert http.get(f"/admin/tenants/{unique_slug}", headers=admin_headers).status_code == 404
        assert services.database.schema_exists(schema)
    finally:
        services.database.drop_schema(schema)


def test_client_name_and_scopes_required(http: TestClient, admin_headers: dict[str, str],
                                         library: dict[str, str]) -> None:
    path = f"/admin/tenants/{library['slug']}/clients"
    assert http.post(path, json={"name": "x", "scopes": []},
                     headers=admin_headers).status_code == 422
    assert http.post(path, json={"name": " ", "scopes": ["ill"]},
                     headers=admin_headers).status_code == 422
    assert http.post(path, json={"scopes": ["ill"]}, headers=admin_headers).status_code == 422
    unknown = http.post("/admin/tenants/nobody-here/clients",
                        json={"name": "x", "scopes": ["ill"]}, headers=admin_headers)
    assert unknown.status_code == 404


def test_office_commands_take_an_idempotency_key_bound_to_their_body(
        http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> None:
    keyed = {**admin_headers, "Idempotency-Key": f"create-{unique_slug}"}
    body = {"slug": unique_slug, "name": "Keyed Library"}
    first = http.post("/admin/tenants", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    again = http.post("/admin/tenants", json=body, headers=keyed)
    assert (again.status_code, again.json()) == (201, first.json())  # not 409: a retry
    other = http.post("/admin/tenants", json={**body, "name": "Another"}, headers=keyed)
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")

    suspend = {**admin_headers, "Idempotency-Key": f"suspend-{unique_slug}"}
    done = http.post(f"/admin/tenants/{unique_slug}/suspend", json={"reason": "unpaid"},
                     headers=suspend)
    assert done.json()["status"] == "suspended"
    retried = http.post(f"/admin/tenants/{unique_slug}/suspend", json={"reason": "unpaid"},
                        headers=suspend)
    assert retried.status_code == 200, retried.text  # a retry, not "already suspended"
    listed = {t["slug"]: t for t in http.get("/admin/tenants", headers=admin_headers).json()}
    assert listed[unique_slug]["status"] == "suspended"  # the directory shows it at once
