"""Circulation fed from the catalog's events: the items → copies process manager tells
circulation of every item added (by hand or imported) and withdrawn; the desk then decides
on circulation's own facts."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from domain.catalog.item import Item, ItemDetails, Location
from domain.circulation.item_lending import ItemLending
from tests.integration.api.test_catalog import code, data, gql
from tests.integration.api.test_circulation import CHECK_OUT, REGISTER

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
CREATE = 'mutation { createRecord(input: {title: "Bartleby"}) { record { id } } }'
ADD = """mutation($r: ID!, $b: String!) { addItem(input: {recordId: $r, barcode: $b,
  location: {branch: "MAIN"}}) { item { id } } }"""
WITHDRAW = """mutation($b: String!) { withdrawItem(input: {barcode: $b}) { item { status } } }"""


def _known(services: Services, slug: str, barcode: str, status: str) -> ItemLending | None:
    """Circulation's lending of the copy once it knows the copy with this catalog status."""
    circulation = services.scope(slug).circulation
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lending_id = ItemLending.create_id(Item.create_id(barcode))
        found: Any = (circulation.repository.get(lending_id)
                      if lending_id in circulation.repository else None)
        if found is not None and found.known_copy is not None and (
                found.known_copy.catalog_status == status):
            return found  # type: ignore[no-any-return]
        time.sleep(0.05)
    return None


def _patron(http: TestClient, token: str) -> None:
    data(gql(http, token, REGISTER, input={"barcode": "P-1", "name": "Ann Reader",
                                           "patronGroup": "public", "expiresOn": "2031-01-01"}))


def test_an_item_added_becomes_a_copy_circulation_knows(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token, slug = library["token"], library["slug"]
    record = data(gql(http, token, CREATE))["createRecord"]["record"]["id"]
    data(gql(http, token, ADD, r=record, b="C-1"))
    lending = _known(services, slug, "C-1", "available")
    assert lending is not None, "the process manager did not tell circulation of the item"
    assert (lending.item_barcode, str(lending.record_id)) == ("C-1", record)


def test_an_item_withdrawn_behind_the_desks_back_is_refused_by_circulation(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token, slug = library["token"], library["slug"]
    _patron(http, token)
    record = data(gql(http, token, CREATE))["createRecord"]["record"]["id"]
    data(gql(http, token, ADD, r=record, b="C-2"))
    assert _known(services, slug, "C-2", "available") is not None
    # withdrawn by the catalog alone (an import, a script): only the manager tells circulation
    services.scope(slug).catalog.withdraw_item("C-2", "damaged")
    assert _known(services, slug, "C-2", "withdrawn") is not None
    refused = gql(http, token, CHECK_OUT, item="C-2", patron="P-1")
    assert code(refused) == "ITEM_NOT_AVAILABLE"
    assert "withdrawn" in refused["errors"][0]["message"]


def test_a_withdrawal_through_the_api_is_refused_at_the_desk_at_once(
        http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    _patron(http, token)
    record = data(gql(http, token, CREATE))["createRecord"]["record"]["id"]
    data(gql(http, token, ADD, r=record, b="C-3"))
    data(gql(http, token, WITHDRAW, b="C-3"))
    assert code(gql(http, token, CHECK_OUT, item="C-3", patron="P-1")) == "ITEM_NOT_AVAILABLE"


def test_an_item_added_a_moment_ago_can_be_checked_out_at_once(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token, slug = library["token"], library["slug"]
    _patron(http, token)
    record = services.scope(slug).catalog.catalogue_record({"title": "Typee"})
    services.scope(slug).catalog.add_item(ItemDetails(
        barcode="C-4", record_id=record.id, location=Location("MAIN", None, None)))
    loan = data(gql(http, token, CHECK_OUT, item="C-4", patron="P-1"))["checkOut"]["loan"]
    assert uuid.UUID(loan["id"])
