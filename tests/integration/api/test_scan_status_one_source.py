"""A scan's status has one source, its own events: the lists (REST and GraphQL) never show a
scan behind what `GET /robots/scans/{id}` said, even while the list's read model lags
(issue 12, finding 12)."""

from __future__ import annotations

import gzip
import time

import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from tests.integration.api.test_catalog import data, gql
from tests.integration.api.test_scan_upload_limits import _batch, _upload, robot
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["robot"]


def _list_says(services: Services, slug: str, scan_id: str, status: str) -> None:
    """Sets the list's row of the scan by hand (`localizing`: as a lagging replica shows it)."""
    with services.database.connection() as conn:
        generation = conn.execute("SELECT generation FROM projections.generations WHERE "
                                  "projection = 'inventory_scans'").fetchone()
        table = f"inventory_scans_g{generation['generation'] if generation else 1}_scans"
        changed = conn.execute(sql.SQL(
            "UPDATE {} SET status = %s WHERE tenant = %s AND scan_id = %s").format(
                sql.Identifier("projections", table)), (status, slug, scan_id))
        assert changed.rowcount == 1


def test_the_lists_show_the_status_the_scan_itself_gives(
        http: TestClient, services: Services, robot: str, unique_slug: str,
        admin_headers: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {robot}"}
    scan_id = _upload(http, robot, gzip.compress(_batch(f"{unique_slug}-s", 40))).json()[
        "scan_id"]
    deadline = time.monotonic() + 60
    while (final := http.get(f"/robots/scans/{scan_id}", headers=auth).json()["status"]) not in (
            "done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    while not http.get("/robots/scans", params={"status": final},
                       headers=auth).json()["scans"]:  # the read model has caught up
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _list_says(services, unique_slug, scan_id, "localizing")
    try:
        _lists_say(http, robot, _reader_of(http, admin_headers, unique_slug), scan_id, final)
    finally:
        _list_says(services, unique_slug, scan_id, final)


def _reader_of(http: TestClient, admin_headers: dict[str, str], slug: str) -> str:
    client = http.post(f"/admin/tenants/{slug}/clients", headers=admin_headers, json={
        "name": "reader", "scopes": ["library:read"]}).json()
    return token_for(http, client["client_id"], client["client_secret"])


def _lists_say(http: TestClient, robot: str, reader: str, scan_id: str, final: str) -> None:
    auth = {"Authorization": f"Bearer {robot}"}
    listed = http.get("/robots/scans", headers=auth).json()["scans"]
    assert [(s["scan_id"], s["status"]) for s in listed] == [(scan_id, final)]
    assert http.get("/robots/scans", params={"status": "localizing"},
                    headers=auth).json()["scans"] == []
    assert [s["scan_id"] for s in http.get("/robots/scans", params={"status": final},
                                           headers=auth).json()["scans"]] == [scan_id]
    graphql = data(gql(http, reader, "{ inventoryScans { id status } }"))["inventoryScans"]
    assert graphql == [{"id": scan_id, "status": final}]
