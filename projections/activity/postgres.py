"""The activity read model's tables and SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "activity"
TABLES = ("daily",)


class ActivityTables:
    """The daily counts table of one generation."""

    def __init__(self, generation: int) -> None:
        self.daily = sql.Identifier(SCHEMA, table_name(NAME, generation, "daily"))

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the table if it does not exist."""
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, day date NOT NULL, "
            "aggregate text NOT NULL, events bigint NOT NULL, "
            "PRIMARY KEY (tenant, day, aggregate))").format(self.daily))

    def add(self, cur: Cursor[Any], counts: list[tuple[tuple[str, date, str], int]]) -> None:
        """Adds counts ((tenant, day, aggregate), events) in one statement."""
        if not counts:
            return
        cur.execute(sql.SQL(
            "INSERT INTO {} AS a (tenant, day, aggregate, events) SELECT * FROM "
            "unnest(%s::text[], %s::date[], %s::text[], %s::bigint[]) "
            "ON CONFLICT (tenant, day, aggregate) DO UPDATE SET events = a.events + "
            "EXCLUDED.events").format(self.daily), (
            [k[0] for k, _ in counts], [k[1] for k, _ in counts], [k[2] for k, _ in counts],
            [n for _, n in counts]))

    def daily_of(self, cur: Cursor[Any], tenant: str) -> list[tuple[date, str, int]]:
        """The tenant's activity, oldest day first."""
        rows = cur.execute(sql.SQL(
            "SELECT day, aggregate, events FROM {} WHERE tenant = %s ORDER BY day, aggregate"
        ).format(self.daily), (tenant,)).fetchall()
        return [(r[0], str(r[1]), int(r[2])) for r in rows]
