"""A robot uploads a shelf scan over HTTP; a scan worker localizes it from the JetStream work
queue; the library gets misplaced, missing and unknown books back."""

from __future__ import annotations

import gzip
import io
import json
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from localization_ext.simulate import Setup, simulate, write_batch
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, data, gql
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
BOOKS = 12


@pytest.fixture
def robot(http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> dict[str, Any]:
    """A library whose shelf A-01 holds books 1-11 of the simulation (book 0's tag is
    unknown to the catalog), book 5 catalogued out of call-number order, and one more book
    that should be on the shelf but is not scanned."""
    http.post("/admin/tenants", json={"slug": unique_slug, "name": "Robot Library"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{unique_slug}/clients", headers=admin_headers, json={
        "name": "staff", "scopes": ["library:read", "library:write", "inventory:upload"]}).json()
    token = token_for(http, client["client_id"], client["client_secret"])
    record = data(gql(http, token, CREATE, input={"title": "Shelf A-01"}))
    record_id = record["createRecord"]["record"]["id"]
    scan = simulate(Setup(books=BOOKS, spacing_m=0.03, seed=21))
    for n in range(1, BOOKS):
        call_number = "QA999" if n == 5 else f"QA{100 + n}"
        data(gql(http, token, ADD_ITEM, input={
            "recordId": record_id, "barcode": f"S-{n}", "epc": scan.epc[n],
            "callNumber": call_number, "location": {"branch": "MAIN", "shelf": "A-01"}}))
    data(gql(http, token, ADD_ITEM, input={
        "recordId": record_id, "barcode": "S-GONE", "epc": "ABCDEF0123", "callNumber": "QA150",
        "location": {"branch": "MAIN", "shelf": "A-01"}}))
    batch = io.StringIO()
    write_batch(scan, batch, shelf="A-01", batch_id=f"{unique_slug}-pass-1")
    return {"token": token, "batch": batch.getvalue(), "scan": scan, "slug": unique_slug}


def _upload(http: TestClient, token: str, body: bytes, gzipped: bool = True) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return http.post("/robots/scans", content=body, headers=headers)


def _done(http: TestClient, token: str, scan_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer: dict[str, Any] = http.get(f"/robots/scans/{scan_id}", headers={
            "Authorization": f"Bearer {token}"}).json()
        if answer["status"] in ("done", "failed"):
            return answer
        time.sleep(0.1)
    raise AssertionError("the scan was not localized in 60 s")


def test_a_scan_upload_is_localized_and_reported(http: TestClient, robot: dict[str, Any],
                                                 services: Services) -> None:
    token = robot["token"]
    accepted = _upload(http, token, gzip.compress(robot["batch"].encode()))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] in ("accepted", "localizing", "done")
    scan_id = accepted.json()["scan_id"]
    answer = _done(http, token, scan_id)
    assert answer["status"] == "done", answer
    report = answer["report"]
    assert answer["misplaced"] == report["misplaced"]  # also at the top level
    assert [m["barcode"] for m in report["misplaced"]] == ["S-5"]
    assert report["misplaced"][0]["belongs_after"] == "S-11"
    assert [(m["barcode"], m["call_number"], m["belongs_after"]) for m in report["missing"]
            ] == [("S-GONE", "QA150", "S-11")]
    assert [u["epc"] for u in report["unknown"]] == [robot["scan"].epc[0]]
    assert all(r["call_number"] and r["x_interval"][0] <= r["x"] <= r["x_interval"][1]
               for r in report["located"])
    located = {r["barcode"]: r["x"] for r in report["located"]}
    true_x = robot["scan"].true_x
    assert all(abs(located[f"S-{n}"] - true_x[n]) < 0.02 for n in range(1, BOOKS))

    kept = services.consortium.scope(robot["slug"]).inventory.calibration_of("sim-1")
    assert kept is not None  # the robot's reader calibration, kept for its next scans
    assert len(kept.offsets) == 16
    assert kept.weight == BOOKS

    again = _upload(http, token, robot["batch"].encode(), gzipped=False)
    assert again.status_code == 202
    assert again.json() == {"scan_id": scan_id, "status": "done"}  # the same scan


def test_bad_batches_are_refused_and_nothing_is_stored(http: TestClient,
                                                       robot: dict[str, Any]) -> None:
    token = robot["token"]
    lines = robot["batch"].splitlines()
    lines[3] = lines[3].replace('"phase": ', '"phase": 9')
    bad = _upload(http, token, "\n".join(lines).encode(), gzipped=False)
    assert bad.status_code == 422
    assert (bad.json()["line"], bad.json()["field"], bad.json()["code"]) == (
        4, "phase", "INVALID_SCAN")
    header = json.loads(lines[0])
    assert _upload(http, token, b"", gzipped=False).status_code == 422
    far = [lines[0], *lines[1:3], re.sub(r'"phase": [0-9.]+', '"phase": 6.2843', lines[3])]
    bad = _upload(http, token, "\n".join(far).encode(), gzipped=False)
    assert (bad.status_code, bad.json()["line"], bad.json()["field"]) == (422, 4, "phase")
    assert _upload(http, token, b"not gzip at all").status_code == 400
    bomb = gzip.compress(b"0" * (3 * 1024 * 1024))  # 3 MB of zeros: a few kB compressed
    bad = _upload(http, token, bomb)  # refused at its first 64 kB: no line is that long
    assert (bad.status_code, bad.json()["line"], bad.json()["field"]) == (422, 1, "line")
    refused = http.get(f"/robots/scans/{header['batch_id']}", headers={
        "Authorization": f"Bearer {token}"})
    assert refused.status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"robot": "R2\u0000D2"}, "robot"), ({"shelf": "A" * 201}, "shelf"),
    ({"batch_id": "b\u001b1"}, "batch_id"), ({"layer": 10**30}, "layer"), ({"layer": -1}, "layer"),
    ({"batch_id": "b\ud800"}, "batch_id"), ({"shelf": "\udfffA"}, "shelf"),
])
def test_a_header_the_service_could_not_keep_is_refused(
        http: TestClient, robot: dict[str, Any], change: dict[str, Any], field: str) -> None:
    lines = robot["batch"].splitlines()
    header = {**json.loads(lines[0]), **change}
    body = "\n".join([json.dumps(header), *lines[1:]]).encode()
    bad = _upload(http, robot["token"], body, gzipped=False)
    assert (bad.status_code, bad.json()["line"], bad.json()["field"]) == (422, 1, field)


def test_a_read_nested_too_deep_is_refused_naming_its_line(
        http: TestClient, robot: dict[str, Any]) -> None:
    lines = robot["batch"].splitlines()
    deep = "[" * 5000 + "]" * 5000
    bad = _upload(http, robot["token"], "\n".join([lines[0], lines[1], deep]).encode(),
                  gzipped=False)
    assert (bad.status_code, bad.json()["line"]) == (422, 3)


def test_scans_belong_to_their_library(http: TestClient, robot: dict[str, Any],
                                       admin_headers: dict[str, str]) -> None:
    accepted = _upload(http, robot["token"], robot["batch"].encode(), gzipped=False)
    scan_id = accepted.json()["scan_id"]
    other = robot["slug"] + "-x"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients", headers=admin_headers, json={
        "name": "robot", "scopes": ["inventory:upload"]}).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    assert http.get(f"/robots/scans/{scan_id}", headers={
        "Authorization": f"Bearer {theirs}"}).status_code == 404
    reader = http.post(f"/admin/tenants/{robot['slug']}/clients", headers=admin_headers,
                       json={"name": "circulation", "scopes": ["ill"]}).json()
    no_scope = token_for(http, reader["client_id"], reader["client_secret"])
    assert _upload(http, no_scope, robot["batch"].encode(), gzipped=False).status_code == 403


def test_reports_through_graphql_csv_and_svg(http: TestClient, robot: dict[str, Any]) -> None:
    token = robot["token"]
    scan_id = _upload(http, token, robot["batch"].encode(), gzipped=False).json()["scan_id"]
    assert _done(http, token, scan_id)["status"] == "done"
    answer = data(gql(http, token, """query($id: ID!) { inventoryScan(id: $id) { status shelf
        report { misplaced { barcode belongsAfter belongsAfterCallNumber xInterval }
                 uncertain { barcode neighbours { barcode } } missing { barcode expectedX }
                 unknown { epc } unlocalized { epc reads } located { barcode callNumber
                 xInterval } csv svg } } }""", id=scan_id))["inventoryScan"]
    assert answer["status"] == "done"
    [wrong] = answer["report"]["misplaced"]
    assert (wrong["barcode"], wrong["belongsAfter"], wrong["belongsAfterCallNumber"]) == (
        "S-5", "S-11", "QA111")
    assert wrong["xInterval"][0] < wrong["xInterval"][1]
    assert isinstance(answer["report"]["uncertain"], list)
    assert answer["report"]["unlocalized"] == []
    [gone] = answer["report"]["missing"]
    assert gone["barcode"] == "S-GONE"
    assert gone["expectedX"] is not None
    assert all(r["callNumber"] for r in answer["report"]["located"])
    assert "misplaced,S-5," in answer["report"]["csv"]
    assert answer["report"]["svg"].startswith("<svg")
    assert "#d33" in answer["report"]["svg"]  # the misplaced book, in red
    # The list is a read model: a scan appears in it a moment after its upload, and then with
    # the status its own events give (never behind what inventoryScan(id) said).
    deadline = time.monotonic() + 15
    listed: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(s["id"] == scan_id for s in listed):
        listed = data(gql(http, token, "{ inventoryScans { id shelf status } }"))[
            "inventoryScans"]
    assert {"id": scan_id, "shelf": "A-01", "status": "done"} in listed
    headers = {"Authorization": f"Bearer {token}"}
    csv_ = http.get(f"/robots/scans/{scan_id}/report.csv", headers=headers)
    assert csv_.headers["content-type"].startswith("text/csv")
    assert csv_.text.splitlines()[0].startswith("finding,barcode,epc")
    svg = http.get(f"/robots/scans/{scan_id}/report.svg", headers=headers)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert http.get(f"/robots/scans/{scan_id}/report.pdf", headers=headers).status_code == 404


def test_another_library_reads_none_of_our_scans_through_graphql(
    http: TestClient, robot: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    scan_id = _upload(http, robot["token"], robot["batch"].encode(),
                      gzipped=False).json()["scan_id"]
    other = robot["slug"] + "-g"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients", headers=admin_headers, json={
        "name": "staff", "scopes": ["library:read"]}).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    answer = gql(http, theirs, "query($id: ID!) { inventoryScan(id: $id) { status } }",
                 id=scan_id)
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert data(gql(http, theirs, "{ inventoryScans { id } }"))["inventoryScans"] == []
    bad = gql(http, theirs, 'query { inventoryScan(id: "nope") { status } }')
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_a_phase_rounded_at_2_pi_is_folded_not_refused(http: TestClient,
                                                        robot: dict[str, Any]) -> None:
    lines = robot["batch"].splitlines()
    lines[3] = re.sub(r'"phase": [0-9.]+', '"phase": 6.2832', lines[3])  # 2π, four decimals
    accepted = _upload(http, robot["token"], "\n".join(lines).encode(), gzipped=False)
    assert accepted.status_code == 202, accepted.text
    assert _done(http, robot["token"], accepted.json()["scan_id"])["status"] == "done"


def test_a_robots_kept_profile_sets_where_its_batches_are_searched(
        http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> None:
    http.post("/admin/tenants", json={"slug": unique_slug, "name": "Deep Shelves"},
              headers=admin_headers)
    robot_client = http.post(f"/admin/tenants/{unique_slug}/clients", headers=admin_headers,
                             json={"name": "robot", "scopes": ["inventory:upload"]}).json()
    token = token_for(http, robot_client["client_id"], robot_client["client_secret"])
    auth = {"Authorization": f"Bearer {token}"}
    path = "/robots/profiles/r2-deep"
    fresh = http.get(path, headers=auth)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {"robot": "r2-deep", "depth_m": None, "window_m": None,
                            "used": {"depth_m": [0.05, 0.8], "window_m": 0.2}, "set_at": None}
    for body, field in (({"depth_m": [0.9, 0.5]}, "depth_m"), ({"window_m": 9}, "window_m"),
                        ({"depth_m": [0.5]}, "depth_m")):
        refused = http.put(path, json=body, headers=auth)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == ("INVALID_PROFILE", field)
    misspelt = http.put(path, json={"depth": [0.6, 1.6]}, headers=auth)
    assert misspelt.status_code == 422, misspelt.text
    assert http.get(path, headers=auth).json()["set_at"] is None  # nothing was kept

    # A shelf 1.2 m from the path, beyond the default depth: searched there only by profile.
    scan = simulate(Setup(books=6, spacing_m=0.03, seed=5, distance_m=1.2))

    def depths(batch_id: str) -> list[float]:
        batch = io.StringIO()
        write_batch(scan, batch, shelf="A-09", robot="r2-deep",
                    batch_id=f"{unique_slug}-{batch_id}")
        accepted = _upload(http, token, gzip.compress(batch.getvalue().encode()))
        assert accepted.status_code == 202, accepted.text
        answer = _done(http, token, accepted.json()["scan_id"])
        assert answer["status"] == "done", answer
        found = {t["epc"]: t["y"] for t in answer["report"]["unknown"]}
        return [abs(found[epc] - true_y) for epc, true_y in zip(scan.epc, scan.true_y,
                                                                 strict=True)]

    assert min(depths("before")) > 0.3  # searched no deeper than the default 0.8 m
    kept = http.put(path, json={"depth_m": [0.6, 1.6]}, headers=auth)
    assert kept.status_code == 200, kept.text
    assert kept.json()["used"] == {"depth_m": [0.6, 1.6], "window_m": 0.2}
    assert kept.json()["set_at"] is not None
    assert max(depths("after")) < 0.1
    other = _other_library(http, admin_headers, unique_slug)
    assert http.get(path, headers=other).json()["depth_m"] is None  # its own robots only


def _other_library(http: TestClient, admin_headers: dict[str, str],
                   slug: str) -> dict[str, str]:
    """Another library's robot token headers."""
    http.post("/admin/tenants", json={"slug": f"{slug}-x", "name": "Other"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{slug}-x/clients", headers=admin_headers,
                       json={"name": "robot", "scopes": ["inventory:upload"]}).json()
    token = token_for(http, client["client_id"], client["client_secret"])
    return {"Authorization": f"Bearer {token}"}
