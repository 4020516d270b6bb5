"""The union catalog read model's entries do not depend on how events arrive: the labelled
set (real Gold Rush and pymarc records, and the hard pairs built for every matching rule)
fed in shuffled order, in batches of any size, some records first catalogued as something
else and revised to what they are, ends with the entries a batch clustering of the same
records gives (the definition a rebuild follows)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from domain.catalog.record import Record
from domain.shared.description import describe
from projections.framework import Delivery
from projections.postgres import SCHEMA
from projections.union_catalog.clustering import Clusterer
from projections.union_catalog.projection import UnionCatalog, record_key

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "union_catalog"))
from labelled_set import labelled_set  # the unit tests' set, beside them

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 11, 30, tzinfo=UTC)
SAMPLE = [r for r in labelled_set()
          if r.category or r.key.startswith(("pymarc/test.dat", "goldrush"))]
TENANTS = ("alpha", "beta", "gamma", "delta")


@pytest.fixture(scope="module")
def cur(servers: tuple[str, str]) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the test database, with the projections' schema."""
    with psycopg.connect(servers[0], autocommit=True) as conn, conn.cursor() as c:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        yield c


def _events(detour: list[bool]) -> tuple[list[Delivery], dict[str, dict[str, Any]]]:
    """Each labelled record catalogued by one of the tenants (after a detour: catalogued as
    a placeholder, then revised to what it is); the final descriptions by record key."""
    placeholder = describe([])
    placeholder.update({"title": "Placeholder", "record_type": "a", "bib_level": "m"})
    deliveries, final = [], {}
    positions = dict.fromkeys(TENANTS, 0)
    for i, labelled in enumerate(SAMPLE):
        tenant = TENANTS[i % len(TENANTS)]
        record = Record(identity=secrets.token_hex(8),
                        description=placeholder if detour[i] else labelled.description,
                        original_format=None, original=None, catalogued_at=NOW)
        if detour[i]:
            record.revise(labelled.description, None, None, NOW)
        for event in record.collect_events():
            positions[tenant] += 1
            deliveries.append(Delivery(tenant, positions[tenant], positions[tenant] - 1, event))
        final[record_key(tenant, record.id)] = labelled.description
    return deliveries, final


def _expected(final: dict[str, dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    clusterer = Clusterer()
    for key in sorted(final):
        clusterer.upsert(key, final[key])
    return {(e.id, e.members) for e in clusterer.entries.values()}


def _stored(cur: psycopg.Cursor[Any], projection: UnionCatalog) -> set[
        tuple[str, tuple[str, ...]]]:
    rows = cur.execute(sql.SQL("SELECT id, members FROM {}").format(
        sql.Identifier(SCHEMA, projection.table("entries"))))
    return {(r[0], tuple(r[1])) for r in rows.fetchall()}


@settings(max_examples=6, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_shuffled_batched_arrival_gives_the_entries_of_a_batch_clustering(
        cur: psycopg.Cursor[Any], data: st.DataObject) -> None:
    detour = data.draw(st.lists(st.booleans(), min_size=len(SAMPLE), max_size=len(SAMPLE)))
    deliveries, final = _events(detour)
    # Each record's own events keep their order (its log's); records interleave freely.
    order = data.draw(st.permutations(range(len(deliveries))))
    by_record: dict[Any, list[Delivery]] = {}
    for d in deliveries:
        by_record.setdefault(d.event.originator_id, []).append(d)
    arrival, taken = [], dict.fromkeys(by_record, 0)
    for i in order:
        record_id = deliveries[i].event.originator_id
        arrival.append(by_record[record_id][taken[record_id]])
        taken[record_id] += 1
    projection = UnionCatalog(generation=5000 + secrets.randbelow(10**6))
    projection.create_tables(cur)
    try:
        start = 0
        while start < len(arrival):
            size = data.draw(st.integers(min_value=1, max_value=64))
            projection.apply_batch(cur, arrival[start:start + size])
            start += size
        assert _stored(cur, projection) == _expected(final)
    finally:
        for table in projection.tables:
            cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{projection.table(table)}")
