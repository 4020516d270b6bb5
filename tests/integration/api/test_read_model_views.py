"""The read models' views: a page's nested fields are read in one query per field, not one
per node, and every batch query stays inside its tenant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from projections.circulation.view import CirculationView
from projections.local_catalog.view import LocalCatalogView
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, data, gql
from tests.integration.api.test_circulation import CHECK_OUT, HOLD, REGISTER

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
PAGE = """{ records(first: 20) { edges { node { title holdQueueLength
  items { barcode status loan { id } } } } } }"""


def _catalogue(http: TestClient, token: str, records: int) -> list[str]:
    ids = []
    for r in range(records):
        record = data(gql(http, token, CREATE, input={"title": f"Views {r}"}))
        ids.append(record["createRecord"]["record"]["id"])
        for i in range(2):
            data(gql(http, token, ADD_ITEM, input={"recordId": ids[-1], "barcode": f"V{r}-{i}",
                                                   "location": {"branch": "MAIN"}}))
    for patron in ("VP-1", "VP-2"):
        data(gql(http, token, REGISTER, input={"barcode": patron, "name": "Reader",
                                               "patronGroup": "staff",
                                               "expiresOn": "2031-01-01"}))
    data(gql(http, token, CHECK_OUT, item="V0-1", patron="VP-1"))
    data(gql(http, token, HOLD, record=ids[2], patron="VP-2"))
    return ids


@pytest.fixture
def opened(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The views opened while the test runs, by name."""
    seen: list[str] = []
    view = services.view

    def counted(kind: Any) -> AbstractContextManager[Any]:
        seen.append(kind.name)
        return view(kind)

    monkeypatch.setattr(services, "view", counted)
    return seen


def test_a_page_reads_each_nested_field_in_one_query(
    http: TestClient, library: dict[str, str], opened: list[str]
) -> None:
    _catalogue(http, library["token"], 5)
    opened.clear()
    nodes = {e["node"]["title"]: e["node"] for e in
             data(gql(http, library["token"], PAGE))["records"]["edges"]}
    assert len(nodes) == 5
    assert [i["status"] for i in nodes["Views 0"]["items"]] == ["AVAILABLE", "CHECKED_OUT"]
    assert nodes["Views 0"]["items"][1]["loan"] is not None
    assert [n["holdQueueLength"] for _, n in sorted(nodes.items())] == [0, 0, 1, 0, 0]
    # The search, the items of every record, every item's lending, every queue: four reads
    # for five records and ten items.
    assert sorted(opened) == sorted(["local_catalog", "local_catalog", "circulation",
                                     "circulation"])


def _ours(http: TestClient, token: str) -> Iterator[tuple[str, list[str]]]:
    for edge in data(gql(http, token, """{ records(first: 20) { edges { node { id
            items { id } } } } }"""))["records"]["edges"]:
        yield edge["node"]["id"], [i["id"] for i in edge["node"]["items"]]


def test_batch_queries_stay_in_their_tenant(
    http: TestClient, services: Services, library: dict[str, str]
) -> None:
    ids = _catalogue(http, library["token"], 3)
    records = dict(_ours(http, library["token"]))
    items = [i for found in records.values() for i in found]
    assert len(items) == 6
    with services.view(CirculationView) as circulation:
        assert len(circulation.lendings(library["slug"], items)) >= 1
        assert circulation.lendings("another-library", items) == {}
        assert circulation.queue_lengths(library["slug"], ids)[ids[2]] == 1
        assert circulation.queue_lengths("another-library", ids) == dict.fromkeys(ids, 0)
    with services.view(LocalCatalogView) as catalog:
        assert sum(map(len, catalog.items_of_records(library["slug"], ids).values())) == 6
        assert catalog.items_of_records("another-library", ids) == {i: [] for i in ids}
