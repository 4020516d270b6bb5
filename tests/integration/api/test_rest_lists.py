"""`GET /robots/scans` and `GET /catalog/imports`: a library's own, newest first, paged."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from localization_ext.simulate import Setup, simulate, write_batch
from tests.integration.api.test_catalog import import_bytes
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
MARC = Path(__file__).parents[2] / "data" / "marc" / "shared" / "pymarc"


def _library(http: TestClient, admin_headers: dict[str, str], slug: str) -> str:
    http.post("/admin/tenants", json={"slug": slug, "name": f"Library {slug}"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{slug}/clients", headers=admin_headers, json={
        "name": "staff", "scopes": ["library:read", "library:write", "inventory:upload"]}).json()
    return token_for(http, client["client_id"], client["client_secret"])


def _get(http: TestClient, token: str, path: str, **params: Any) -> Any:
    return http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def _upload_scan(http: TestClient, token: str, batch_id: str, shelf: str) -> str:
    batch = io.StringIO()
    write_batch(simulate(Setup(books=2, spacing_m=0.04, seed=3)), batch, shelf=shelf,
                batch_id=batch_id)
    answer = http.post("/robots/scans", content=batch.getvalue().encode(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 202, answer.text
    scan_id: str = answer.json()["scan_id"]
    return scan_id


def _settled_scans(http: TestClient, token: str, count: int) -> list[dict[str, Any]]:
    """The list once it shows `count` scans, each localized or failed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        scans: list[dict[str, Any]] = _get(http, token, "/robots/scans", limit=100).json()[
            "scans"]
        if len(scans) == count and all(s["status"] in ("done", "failed") for s in scans):
            return scans
        time.sleep(0.1)
    raise AssertionError(f"the scan list did not settle at {count} scans")


def test_scans_listed_newest_first_paged_and_filtered(
        http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> None:
    token = _library(http, admin_headers, unique_slug)
    other = _library(http, admin_headers, f"{unique_slug}-x")
    uploaded = [_upload_scan(http, token, f"{unique_slug}-{n}", shelf)
                for n, shelf in enumerate(["A-01", "B-02", "A-01"])]
    _upload_scan(http, other, f"{unique_slug}-other", "A-01")
    scans = _settled_scans(http, token, 3)
    assert [s["scan_id"] for s in scans] == uploaded[::-1]
    assert {"batch_id", "robot", "shelf", "status", "reads", "tags", "uploaded_at"} <= set(
        scans[0])
    first = _get(http, token, "/robots/scans", limit=2).json()
    assert [s["scan_id"] for s in first["scans"]] == uploaded[:0:-1]
    second = _get(http, token, "/robots/scans", limit=2, after=first["next_cursor"]).json()
    assert [s["scan_id"] for s in second["scans"]] == uploaded[:1]
    assert second["next_cursor"] is None
    shelf = _get(http, token, "/robots/scans", shelf="A-01").json()["scans"]
    assert [s["scan_id"] for s in shelf] == [uploaded[2], uploaded[0]]
    status = scans[0]["status"]
    same = _get(http, token, "/robots/scans", status=status).json()["scans"]
    assert {s["scan_id"] for s in same} == {s["scan_id"] for s in scans
                                            if s["status"] == status}
    assert _get(http, token, "/robots/scans", shelf="Z-99").json()["scans"] == []


def test_scans_of_another_library_are_not_listed(
        http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> None:
    token = _library(http, admin_headers, unique_slug)
    other = _library(http, admin_headers, f"{unique_slug}-y")
    _upload_scan(http, token, f"{unique_slug}-mine", "A-01")
    _settled_scans(http, token, 1)
    assert _get(http, other, "/robots/scans").json() == {"scans": [], "next_cursor": None}


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
    ({"after": "not-a-cursor"}, "after"),
])
def test_scan_list_bad_parameters_name_the_parameter(
        http: TestClient, library: dict[str, str], params: dict[str, Any], field: str) -> None:
    answer = _get(http, library["token"], "/robots/scans", **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "INVALID_INPUT"
    assert field in answer.json()["detail"]


def test_scan_list_needs_a_library_token(http: TestClient, admin_headers: dict[str, str]
                                         ) -> None:
    assert http.get("/robots/scans", headers=admin_headers).status_code == 403
    assert http.get("/robots/scans").status_code == 401


def test_imports_listed_newest_first_paged_with_counts(
        http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> None:
    token = _library(http, admin_headers, unique_slug)
    other = _library(http, admin_headers, f"{unique_slug}-z")
    body = (MARC / "one.dat").read_bytes()
    results = [import_bytes(http, token, body) for _ in range(3)]
    import_bytes(http, other, body)
    listed = _get(http, token, "/catalog/imports", limit=2).json()
    assert len(listed["imports"]) == 2
    newest = listed["imports"][0]
    assert newest["status"] == "done"
    assert newest["counts"]["read"] == results[-1]["read"]
    assert newest["counts"]["errors"] == len(results[-1]["errors"])
    assert "result" not in newest
    rest = _get(http, token, "/catalog/imports", limit=2, after=listed["next_cursor"]).json()
    assert len(rest["imports"]) == 1
    assert rest["next_cursor"] is None
    ids = [i["import_id"] for i in listed["imports"] + rest["imports"]]
    assert len(set(ids)) == 3
    started = [i["started_at"] for i in listed["imports"] + rest["imports"]]
    assert started == sorted(started, reverse=True)
    theirs = _get(http, other, "/catalog/imports").json()["imports"]
    assert len(theirs) == 1
    assert theirs[0]["import_id"] not in ids


def test_import_list_bad_parameters_and_scope(
        http: TestClient, admin_headers: dict[str, str], library: dict[str, str]) -> None:
    bad = _get(http, library["token"], "/catalog/imports", after="%%%")
    assert bad.status_code == 422
    assert "after" in bad.json()["detail"]
    assert _get(http, library["token"], "/catalog/imports", limit=500).status_code == 422
    assert http.get("/catalog/imports", headers=admin_headers).status_code == 403


def test_graphql_sdl_served_matches_the_committed_copy(http: TestClient) -> None:
    answer = http.get("/graphql/schema.graphql")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    committed = (Path(__file__).parents[3] / "docs" / "schema.graphql").read_text()
    assert answer.text == committed, "run `make schema` and commit docs/schema.graphql"
