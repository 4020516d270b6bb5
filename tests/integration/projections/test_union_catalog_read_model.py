"""The union catalog read model on real PostgreSQL: Record events from several members
clustered into entries, searched through the pg_trgm-indexed text, live equal to a rebuild
in another order, and a revision that moves a record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from domain.catalog.record import Record
from domain.shared.description import describe
from projections.framework import Delivery
from projections.postgres import SCHEMA
from projections.union_catalog.projection import UnionCatalog, record_key
from projections.union_catalog.view import UnionCatalogView

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _book(title: str, *, isbn: str | None = None, form: str = " ", alt: str | None = None,
          year: str = "2017") -> dict[str, Any]:
    d = describe([])
    d.update({"title": title, "authors": [{"name": "Snyder, Timothy", "role": "main",
                                           "tag": "100"}],
              "year": year, "publisher": "Tim Duggan Books", "extent": "126 pages",
              "isbns": [isbn] if isbn else [], "record_type": "a", "bib_level": "m",
              "form_of_item": None if form == " " else form,
              "alt_titles": [alt] if alt else []})
    return d


def _catalogued(tenant: str, identity: str, description: dict[str, Any],
                position: int) -> tuple[Record, Delivery]:
    record = Record(identity=identity, description=description, original_format=None,
                    original=None, catalogued_at=NOW)
    [event] = record.collect_events()
    return record, Delivery(tenant, position, position - 1, event)


def _entries(view: UnionCatalogView) -> set[tuple[str, tuple[str, ...]]]:
    return {(row["id"], tuple(row["members"])) for row in view.search(None, first=100)}


def test_members_records_cluster_into_entries_searchable_and_equal_to_a_rebuild(
        servers: tuple[str, str]) -> None:
    records = [
        _catalogued("alpha", "a1", _book("On tyranny", isbn="0804190119"), 1),
        _catalogued("beta", "b1", _book("On tyranny", isbn="9780804190114"), 1),
        _catalogued("gamma", "g1", _book("On tyranny", isbn="9780804190121", form="o"), 1),
        _catalogued("beta", "b2", _book("Hong lou meng", alt="紅樓夢", year="1982"), 2),
    ]
    with psycopg.connect(servers[0], autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        live, rebuilt = UnionCatalog(generation=1), UnionCatalog(generation=2)
        for projection in (live, rebuilt):
            projection.create_tables(cur)
        for _, delivery in records:
            live.apply(cur, delivery)
        for _, delivery in reversed(records):
            rebuilt.apply(cur, delivery)
        view = UnionCatalogView(cur, generation=1)
        assert _entries(view) == _entries(UnionCatalogView(cur, generation=2))

        alpha, beta = (record_key(t, r.id) for t, (r, _) in
                       (("alpha", records[0]), ("beta", records[1])))
        [printed] = view.search("9780804190114")
        assert sorted(printed["members"]) == sorted([alpha, beta])
        assert printed["format"] == "text/print"
        assert "isbn:9780804190114" in printed["joins"][0]["reasons"]
        found = view.search("tyranny")
        assert sorted(row["format"] for row in found) == ["text/online", "text/print"]
        assert [row["title"] for row in view.search("红楼梦")] == ["Hong lou meng"]
        assert view.entry(printed["id"]) == printed

        beta_record = records[1][0]
        beta_record.revise({**beta_record.description, "title": "Black earth",
                            "isbns": ["9781101903452"]}, None, None, NOW)
        [revised] = beta_record.collect_events()
        live.apply(cur, Delivery("beta", 3, 2, revised))
        [printed_now] = view.search("0804190119")
        assert printed_now["members"] == [alpha]  # beta's record left the entry
        assert [row["members"] for row in view.search("black earth")] == [[beta]]
