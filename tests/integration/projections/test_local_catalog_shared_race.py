"""A record linked to a shared record, and the shared record itself (from the office's log),
applied by two projection workers at once: whichever commits last, the record's row shows
the shared metadata, as a rebuild (one log after another) draws it. Before the shared
records were locked, each transaction missed the other's uncommitted row and the record
showed its own metadata for good (seen in tests/e2e/test_multiprocess.py under load)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from domain.catalog.record import Record
from domain.shared.description import describe
from domain.sharing.shared_record import SharedRecord
from projections.framework import Delivery
from projections.local_catalog.projection import OFFICE, LocalCatalog
from projections.postgres import SCHEMA

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _described(title: str) -> dict[str, Any]:
    description = describe([])
    description.update({"title": title, "record_type": "a", "bib_level": "m"})
    return description


@pytest.fixture
def projection(servers: tuple[str, str]) -> Iterator[LocalCatalog]:
    """The local catalog in a generation of its own (dropped afterwards)."""
    made = LocalCatalog(generation=100_000 + secrets.randbelow(1_000_000))
    with psycopg.connect(servers[0], autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        made.create_tables(cur)
        try:
            yield made
        finally:
            for base in ("records", "items", "shared"):
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(SCHEMA, made.table(base))))


@pytest.mark.parametrize("link_first", [True, False])
def test_a_link_and_its_shared_record_applied_at_once_show_the_shared_metadata(
        projection: LocalCatalog, servers: tuple[str, str], link_first: bool) -> None:
    record = Record(identity=secrets.token_hex(8), description=_described("Own title"),
                    original_format=None, original=None, catalogued_at=NOW)
    shared = SharedRecord(contributor="beta", source_record_id=record.id,
                          description=_described("Shared title"), original_format=None,
                          original=None, contributed_at=NOW)
    catalogued = record.collect_events()
    record.link(shared.id, NOW)
    linked = record.collect_events()
    contributed = shared.collect_events()
    with psycopg.connect(servers[0], autocommit=True) as conn, conn.cursor() as cur:
        projection.apply_batch(cur, [Delivery("alpha", 1, 0, catalogued[0])])

    batches = [[Delivery("alpha", 2, 1, linked[0])], [Delivery(OFFICE, 1, 0, contributed[0])]]
    if not link_first:
        batches.reverse()
    with psycopg.connect(servers[0]) as first, psycopg.connect(servers[0]) as second:
        projection.apply_batch(first.cursor(), batches[0])
        later = threading.Thread(target=lambda: (
            projection.apply_batch(second.cursor(), batches[1]), second.commit()))
        later.start()
        later.join(timeout=1.0)  # the second batch waits for the first (or not)
        first.commit()
        later.join(timeout=30)
        assert not later.is_alive()

    with psycopg.connect(servers[0]) as conn:
        row = conn.execute(sql.SQL("SELECT title, shows_shared_id FROM {} WHERE id = %s")
                           .format(sql.Identifier(SCHEMA, projection.table("records"))),
                           (record.id,)).fetchone()
    assert row == ("Shared title", shared.id)
