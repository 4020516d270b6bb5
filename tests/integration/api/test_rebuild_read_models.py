"""The catalog and circulation read models, rebuilt from the event stores alone, equal the
ones the workers built event by event (shared records, merges, erasures included)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services, projection_status
from projections.circulation.projection import Circulation
from projections.framework import Projection
from projections.local_catalog.projection import LocalCatalog
from projections.postgres import active_generation
from projections.rebuild import rebuild
from tenants.consortium import log_name
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, data, gql, import_bytes
from tests.integration.api.test_circulation import CHECK_IN, CHECK_OUT, HOLD, REGISTER

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
OURS = Path(__file__).parents[2] / "data" / "marc"
COLUMNS = {
    "records": "tenant, id, title, sort_key, authors, isbns, year, languages, subjects, "
               "description, original_format, search, own_description, shared_record_id, "
               "shows_shared_id",
    "items": "tenant, id, barcode, epc, record_id, call_number, branch, shelf, status",
    "shared": "id, contributor, title, search, description, merged_into",
    "lending": "tenant, item_id, status, loan_id, borrower, due_at, renewals, hold_id",
    "loans": "tenant, loan_id, item_id, borrower, checked_out_at, due_at, checked_in_at",
    "holds": "tenant, hold_id, record_id, borrower, status, item_id, pickup_until",
}


def _caught_up(services: Services) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(r["lag"] == 0 for r in projection_status(services)
               if r["name"] in ("local_catalog", "circulation")):
            return
        time.sleep(0.1)
    raise AssertionError("the read models did not catch up")


def _snapshot(url: str, projection: type[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        model = projection(generation=active_generation(cur, projection.name))
        return {base: cur.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1, 2").format(
                    sql.SQL(COLUMNS[base]), sql.Identifier("projections", model.table(base)))
                ).fetchall() for base in projection.tables}


def test_rebuilt_catalog_and_circulation_equal_the_live_ones(
    http: TestClient, services: Services, library: dict[str, str]
) -> None:
    token = library["token"]
    import_bytes(http, token, (OURS / "cjk_vi.xml").read_bytes())
    record = data(gql(http, token, CREATE, input={"title": "Rebuild me"}))
    record_id = record["createRecord"]["record"]["id"]
    data(gql(http, token, ADD_ITEM, input={"recordId": record_id, "barcode": "RB-1",
                                           "location": {"branch": "MAIN"}}))
    data(gql(http, token, """mutation($id: ID!) { shareRecord(input: {recordId: $id}) {
        sharedRecord { id } } }""", id=record_id))
    for barcode in ("RP-1", "RP-2"):
        data(gql(http, token, REGISTER, input={"barcode": barcode, "name": "Reader",
                                               "patronGroup": "staff",
                                               "expiresOn": "2031-01-01"}))
    data(gql(http, token, CHECK_OUT, item="RB-1", patron="RP-1"))
    data(gql(http, token, HOLD, record=record_id, patron="RP-2"))
    data(gql(http, token, CHECK_IN, item="RB-1"))
    data(gql(http, token, 'mutation { erasePatron(input: {barcode: "RP-1"}) { erased } }'))
    _caught_up(services)
    url = services.settings.database_url
    assert url is not None

    for projection in (LocalCatalog, Circulation):
        live = _snapshot(url, projection)
        assert any(live.values())
        generation, _ = rebuild(projection, url, log_name)
        rebuilt = _snapshot(url, projection)
        assert rebuilt == live, projection.name
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            assert active_generation(cur, projection.name) == generation
