"""The activity read model's tables and SQL."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from psycopg import Cursor, sql

from projections.framework import EventRecord, Projection
from projections.postgres import SCHEMA


class Activity(Projection):
    """Counts each tenant's events per aggregate type per day."""

    name = "activity"
    tables = ("daily",)

    def create_tables(self, cur: Cursor[Any]) -> None:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, day date NOT NULL, "
            "aggregate text NOT NULL, events bigint NOT NULL, "
            "PRIMARY KEY (tenant, day, aggregate))"
        ).format(sql.Identifier(SCHEMA, self.table("daily"))))

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        self.apply_batch(cur, [record])

    def apply_batch(self, cur: Cursor[Any], records: list[EventRecord]) -> None:
        """Counts are additive: one upsert per tenant, day and aggregate of the batch."""
        counts = sorted(Counter((r.tenant, r.timestamp().date(), r.aggregate)
                                for r in records).items())
        if not counts:
            return
        cur.execute(sql.SQL(
            "INSERT INTO {} AS a (tenant, day, aggregate, events) SELECT * FROM "
            "unnest(%s::text[], %s::date[], %s::text[], %s::bigint[]) "
            "ON CONFLICT (tenant, day, aggregate) DO UPDATE SET events = a.events + "
            "EXCLUDED.events"
        ).format(sql.Identifier(SCHEMA, self.table("daily"))), (
            [k[0] for k, _ in counts], [k[1] for k, _ in counts], [k[2] for k, _ in counts],
            [n for _, n in counts]))

    def daily(self, cur: Cursor[Any], tenant: str) -> list[tuple[date, str, int]]:
        """The tenant's activity, oldest day first."""
        rows = cur.execute(sql.SQL(
            "SELECT day, aggregate, events FROM {} WHERE tenant = %s ORDER BY day, aggregate"
        ).format(sql.Identifier(SCHEMA, self.table("daily"))), (tenant,)).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]
