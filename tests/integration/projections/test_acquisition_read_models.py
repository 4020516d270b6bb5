"""The shared acquisition and circulation figures read models, rebuilt from the event stores
alone, equal the ones the workers built event by event."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services, projection_status
from projections.circulation_figures.projection import CirculationFigures
from projections.framework import Projection
from projections.postgres import active_generation
from projections.rebuild import rebuild
from projections.shared_acquisition.projection import SharedAcquisition
from tenants.consortium import log_name
from tests.integration.api.test_acquisition import CANCEL, PLACE, SHARING, SUGGEST, members
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, data, gql
from tests.integration.api.test_circulation import CHECK_IN, CHECK_OUT, ERASE, HOLD, _patron

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["members"]  # the fixture
MODELS = (SharedAcquisition, CirculationFigures)


def _caught_up(services: Services) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(r["lag"] == 0 for r in projection_status(services)
               if r["name"] in {m.name for m in MODELS}):
            return
        time.sleep(0.1)
    raise AssertionError("the read models did not catch up")


def _snapshot(url: str, projection: type[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        model = projection(generation=active_generation(cur, projection.name))
        return {base: sorted(cur.execute(sql.SQL("SELECT * FROM {}").format(
                    sql.Identifier("projections", model.table(base)))).fetchall(), key=repr)
                for base in projection.tables}


def test_rebuilt_acquisition_and_figures_equal_the_live_ones(
    http: TestClient, services: Services, members: dict[str, Any]
) -> None:
    a, office = members["a"], members["office"]
    token = a["token"]
    record_id = data(gql(http, token, CREATE, input={"title": "Rebuild me"}))[
        "createRecord"]["record"]["id"]
    data(gql(http, token, ADD_ITEM, input={"recordId": record_id, "barcode": "RA-1",
                                           "location": {"branch": "MAIN"}}))
    for barcode in ("RAP-1", "RAP-2"):
        _patron(http, token, barcode)
    data(gql(http, token, CHECK_OUT, item="RA-1", patron="RAP-1"))
    data(gql(http, token, HOLD, record=record_id, patron="RAP-2"))
    data(gql(http, token, CHECK_IN, item="RA-1"))
    data(gql(http, token, ERASE, patron="RAP-1"))
    data(gql(http, token, SUGGEST, input={"wanted": {"title": "Wanted"},
                                          "patronBarcode": "RAP-2"}))
    order = data(gql(http, token, PLACE, input={
        "wanted": {"title": "Wanted"}, "copies": 1,
        "price": {"amount": "10", "currency": "EUR"}}))["placeOrder"]["order"]
    data(gql(http, token, CANCEL, input={"orderId": order["id"]}))
    data(gql(http, office, SHARING, on=True))
    data(gql(http, office, SHARING, on=False))
    _caught_up(services)
    url = services.settings.database_url
    assert url is not None

    for projection in MODELS:
        live = _snapshot(url, projection)
        assert any(live.values())
        generation, _ = rebuild(projection, url, log_name)
        rebuilt = _snapshot(url, projection)
        assert rebuilt == live, projection.name
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            assert active_generation(cur, projection.name) == generation
