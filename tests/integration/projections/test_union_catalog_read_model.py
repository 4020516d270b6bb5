"""The union catalog read model on real PostgreSQL: Record events from several members
clustered into entries, live equal to a rebuild in another order, a revision that moves a
record, shared records shown by the records linked to them, holdings following circulation,
and members leaving the view and coming back."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from domain.catalog.item import Item, ItemDetails, Location
from domain.catalog.record import Record
from domain.circulation.item_lending import Copy, ItemLending
from domain.circulation.policy import LoanPolicy
from domain.shared.description import describe
from domain.sharing.shared_record import SharedRecord
from projections.framework import Delivery, DomainEvent
from projections.postgres import SCHEMA
from projections.union_catalog.projection import record_key
from projections.union_catalog.query import Filters
from projections.union_catalog.view import UnionCatalogView
from tenants.directory.union_catalog import MembersUnionCatalog
from tenants.tenant import Tenant

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def book(title: str, *, isbn: str | None = None, form: str = " ", alt: str | None = None,
         year: str = "2017", author: str = "Snyder, Timothy") -> dict[str, Any]:
    """A printed book's description (form "o": online)."""
    d = describe([])
    d.update({"title": title, "authors": [{"name": author, "role": "main", "tag": "100"}],
              "year": year, "publisher": "Tim Duggan Books", "extent": "126 pages",
              "isbns": [isbn] if isbn else [], "record_type": "a", "bib_level": "m",
              "form_of_item": None if form == " " else form,
              "alt_titles": [alt] if alt else [], "languages": ["eng"]})
    return d


class Log:
    """Events of several tenants' logs, with their positions."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}

    def delivery(self, tenant: str, event: DomainEvent) -> Delivery:
        """An event as the pipeline delivers it, next in its tenant's log."""
        position = self.positions.get(tenant, 0) + 1
        self.positions[tenant] = position
        return Delivery(tenant, position, position - 1, event)

    def catalogued(self, tenant: str, description: dict[str, Any]) -> tuple[Record, Delivery]:
        """A record catalogued in a tenant."""
        record = Record(identity=secrets.token_hex(8), description=description,
                        original_format=None, original=None, catalogued_at=NOW)
        [event] = record.collect_events()
        return record, self.delivery(tenant, event)


@pytest.fixture
def cur(servers: tuple[str, str]) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the test database, with the projections' schema."""
    with psycopg.connect(servers[0], autocommit=True) as conn, conn.cursor() as c:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        yield c


def fresh(cur: psycopg.Cursor[Any]) -> tuple[MembersUnionCatalog, UnionCatalogView]:
    """A projection on a generation of its own (dropped first), and its view."""
    generation = 1000 + secrets.randbelow(10**6)
    projection = MembersUnionCatalog(generation=generation)
    for table in projection.tables:
        cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{projection.table(table)}")
    projection.create_tables(cur)
    return projection, UnionCatalogView(cur, generation)


def drop(cur: psycopg.Cursor[Any], projection: MembersUnionCatalog) -> None:
    """The generation's tables removed."""
    for table in projection.tables:
        cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{projection.table(table)}")


def entries(view: UnionCatalogView, keys: list[str]) -> set[tuple[str, tuple[str, ...]]]:
    """The entries of these records, as (id, members)."""
    ids = {view.entry_of_record(*key.split(":")) for key in keys}
    return {(e["id"], tuple(e["members"])) for e in view.entries(sorted(i for i in ids if i))}


def test_members_records_cluster_into_entries_equal_to_a_rebuild_in_another_order(
        cur: psycopg.Cursor[Any]) -> None:
    log = Log()
    isbn13 = "9780804190114"
    records = [
        log.catalogued("alpha", book("On tyranny", isbn="0804190119")),
        log.catalogued("beta", book("On tyranny", isbn=isbn13)),
        log.catalogued("gamma", book("On tyranny", isbn="9780804190121", form="o")),
        log.catalogued("beta", book("Hong lou meng", alt="紅樓夢", year="1982",
                                    author="Cao, Xueqin")),
    ]
    keys = [record_key(d.tenant, r.id) for r, d in records]
    live, view = fresh(cur)
    rebuilt, rebuilt_view = fresh(cur)
    try:
        for _, delivery in records:
            live.apply(cur, delivery)
        rebuilt.apply_batch(cur, [d for _, d in reversed(records)])
        assert entries(view, keys) == entries(rebuilt_view, keys)

        printed_id = view.entry_of_record("alpha", str(records[0][0].id))
        assert printed_id is not None
        assert view.entry_of_record("beta", str(records[1][0].id)) == printed_id
        printed = view.entry(printed_id)
        assert printed is not None
        assert sorted(printed["members"]) == sorted(keys[:2])
        assert printed["format"] == "text/print"
        assert any(f"isbn:{isbn13}" in j["reasons"] for j in printed["joins"])
        online = view.entry_of_record("gamma", str(records[2][0].id))
        assert online not in (None, printed_id)

        beta_record = records[1][0]
        beta_record.revise({**beta_record.description, "title": "Black earth",
                            "isbns": ["9781101903452"]}, None, None, NOW)
        [revised] = beta_record.collect_events()
        live.apply(cur, log.delivery("beta", revised))
        moved = view.entry_of_record("beta", str(beta_record.id))
        assert moved not in (None, printed_id)
        assert view.entry(printed_id) is not None
        assert view.entry(printed_id)["members"] == [keys[0]]  # type: ignore[index]
    finally:
        drop(cur, live)
        drop(cur, rebuilt)


def test_holdings_follow_items_and_circulation_and_members_leave_and_return(
        cur: psycopg.Cursor[Any]) -> None:
    log = Log()
    projection, view = fresh(cur)
    try:
        member = Tenant(slug="alpha", name="Alpha Library", isil=None, registered_at=NOW)
        record, catalogued = log.catalogued("alpha", book("On tyranny", isbn="0804190119"))
        other, other_catalogued = log.catalogued("beta", book("On tyranny",
                                                                  isbn="9780804190114"))
        items = [Item.add(ItemDetails(barcode=f"b{i}", record_id=record.id,
                                      location=Location("main")), NOW) for i in range(2)]
        deliveries = [log.delivery("office", e) for e in member.collect_events()]
        deliveries += [catalogued, other_catalogued]
        deliveries += [log.delivery("alpha", e) for item in items for e in item.collect_events()]
        projection.apply_batch(cur, deliveries)
        entry_id = view.entry_of_record("alpha", record.id)
        assert entry_id is not None
        assert view.holdings(entry_id) == [
            {"tenant": "alpha", "name": "Alpha Library", "items": 2, "available": 2},
            {"tenant": "beta", "name": "beta", "items": 0, "available": 0}]

        lending = ItemLending(item_id=items[0].id, item_barcode="b0", record_id=record.id)
        lending.record_copy(Copy(items[0].id, "b0", record.id, "book", "available"), NOW)
        lending.check_out(uuid4(), "adult", "book", LoanPolicy(), NOW)
        projection.apply_batch(cur, [log.delivery("alpha", e) for e in lending.collect_events()])
        assert view.holdings(entry_id)[0]["available"] == 1
        lending.check_in(NOW)
        projection.apply_batch(cur, [log.delivery("alpha", e) for e in lending.collect_events()])
        assert view.holdings(entry_id)[0]["available"] == 2
        lending.check_out(uuid4(), "adult", "book", LoanPolicy(), NOW)
        lending.declare_lost(NOW)
        items[1].withdraw("damaged", NOW)
        projection.apply_batch(cur, [log.delivery("alpha", e) for e in (
            *lending.collect_events(), *items[1].collect_events())])
        assert view.holdings(entry_id)[0] == {
            "tenant": "alpha", "name": "Alpha Library", "items": 1, "available": 0}
        lending.found(NOW)
        projection.apply_batch(cur, [log.delivery("alpha", e) for e in lending.collect_events()])
        assert view.holdings(entry_id)[0]["available"] == 1

        member.suspend("unpaid fees", NOW)
        projection.apply_batch(cur, [log.delivery("office", e) for e in member.collect_events()])
        assert view.entry_of_record("alpha", record.id) is None
        alone = view.entry_of_record("beta", other.id)  # its own entry, alpha's record gone
        assert alone is not None
        assert [h["tenant"] for h in view.holdings(alone)] == ["beta"]
        assert [r["tenant"] for r in view.records_of([alone])[alone]] == ["beta"]
        member.reactivate(NOW)
        projection.apply_batch(cur, [log.delivery("office", e) for e in member.collect_events()])
        assert view.entry_of_record("beta", other.id) == entry_id  # together again
        assert [h["tenant"] for h in view.holdings(entry_id)] == ["alpha", "beta"]
    finally:
        drop(cur, projection)


def test_a_record_linked_to_a_shared_record_is_matched_by_the_shared_description(
        cur: psycopg.Cursor[Any]) -> None:
    log = Log()
    projection, view = fresh(cur)
    try:
        record, catalogued = log.catalogued("alpha", book("Untitled draft", year="1999",
                                                          author="Nobody, A."))
        other, other_catalogued = log.catalogued("beta", book("On tyranny",
                                                              isbn="9780804190114"))
        shared = SharedRecord(contributor="beta", source_record_id=other.id,
                              description=book("On tyranny", isbn="9780804190114"),
                              original_format=None, original=None, contributed_at=NOW)
        projection.apply_batch(cur, [catalogued, other_catalogued, *[
            log.delivery("office", e) for e in shared.collect_events()]])
        assert view.entry_of_record("alpha", record.id) != view.entry_of_record(
            "beta", other.id)
        record.link(shared.id, NOW)
        projection.apply_batch(cur, [log.delivery("alpha", e) for e in record.collect_events()])
        assert view.entry_of_record("alpha", record.id) == view.entry_of_record(
            "beta", other.id)
    finally:
        drop(cur, projection)


def test_search_ranks_titles_above_notes_and_finds_across_scripts_and_diacritics(
        cur: psycopg.Cursor[Any]) -> None:
    log = Log()
    projection, view = fresh(cur)
    tea = book("Nihon no chasho", alt="日本の 茶書", year="1971", author="Hayashiya, Tatsusaburo")
    tea["languages"] = ["jpn"]
    subject_only = book("Gardens of stone", year="2001", author="Lee, Ann")
    subject_only["subjects"] = ["Tyranny -- History"]
    described = [
        ("alpha", book("Hong lou meng", alt="紅樓夢", year="1982", author="Cao, Xueqin")),
        ("alpha", book("阿Q正傳", year="1923", author="Lu, Xun")),
        ("beta", tea),
        ("beta", book("Thư viện học đại cương", year="2010", author="Nguyễn, Văn")),
        ("beta", subject_only),
        ("gamma", book("On tyranny", isbn="9780804190114")),
    ]
    try:
        projection.apply_batch(cur, [log.catalogued(t, d)[1] for t, d in described])

        def titles(query: str, **filters: Any) -> list[str]:
            return [e["title"] for e in view.search(query, filters=Filters(**filters)).entries]

        assert titles("红楼梦") == ["Hong lou meng"]
        assert titles("阿Q正传") == ["阿Q正傳"]
        assert titles("日本の茶書") == ["Nihon no chasho"]
        assert titles("thu vien") == titles("thư viện") == ["Thư viện học đại cương"]
        assert titles("tyranny") == ["On tyranny", "Gardens of stone"]  # title above subject
        assert titles("978-0-8041-9011-4") == ["On tyranny"]
        assert titles("tyranny", language="jpn") == []
        assert titles("", year_from=1900, year_to=1990) == [
            "Hong lou meng", "Nihon no chasho", "阿Q正傳"]
        assert titles("", holding_library="gamma") == ["On tyranny"]
        facets = view.facets("tyranny")
        assert facets["total"] == 2
        assert facets["formats"] == [{"value": "text/print", "count": 2}]
        assert [(c["tenant"], c["count"]) for c in facets["holding_libraries"]] == [
            ("beta", 1), ("gamma", 1)]
        assert (facets["first_year"], facets["last_year"]) == (2001, 2017)
        assert facets["available_now"] == 0  # no copies yet
    finally:
        drop(cur, projection)


def test_a_title_of_thousands_of_characters_is_filed_and_matched(
        cur: psycopg.Cursor[Any]) -> None:
    log = Log()
    projection, view = fresh(cur)
    title = "Proceedings " + " ".join(f"session{i}" for i in range(800))  # ~8,000 characters
    try:
        first, one = log.catalogued("alpha", book(title, year="1999"))
        second, other = log.catalogued("beta", book(title, year="1999"))
        projection.apply_batch(cur, [one])
        projection.apply_batch(cur, [other])
        entry_id = view.entry_of_record("alpha", first.id)
        assert entry_id is not None
        assert entry_id == view.entry_of_record("beta", second.id)
    finally:
        drop(cur, projection)
