"""The circulation figures read model's tables and SQL: each member's records, items,
patrons (card expiry and erasure only), loans (dates, no borrower), holds (waiting or not)
and the shared records it contributed. Figures are counted from them when asked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "circulation_figures"
TABLES = ("records", "items", "patrons", "loans", "holds", "contributions")
_KEY = {"records": "record_id", "items": "item_id", "patrons": "patron_id",
        "loans": "loan_id", "holds": "hold_id", "contributions": "shared_id"}
_INDEXES = (("loans", "tenant, checked_out_at"), ("loans", "tenant, closed_at"),
            ("loans", "tenant, record_id"), ("holds", "tenant, record_id"))


class CirculationFiguresTables:
    """The tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.t = {base: sql.Identifier(SCHEMA, name) for base, name in self.names.items()}

    def create(self, cur: Cursor[Any]) -> None:
        """The tables and their indexes, if they do not exist."""
        columns = {
            "records": "record_id uuid NOT NULL",
            "items": "item_id uuid NOT NULL, withdrawn boolean NOT NULL",
            "patrons": "patron_id uuid NOT NULL, expires_on date NOT NULL, "
                       "erased boolean NOT NULL",
            "loans": "loan_id uuid NOT NULL, record_id uuid NOT NULL, "
                     "checked_out_at timestamptz NOT NULL, due_at timestamptz NOT NULL, "
                     "closed_at timestamptz, returned boolean",
            "holds": "hold_id uuid NOT NULL, record_id uuid NOT NULL, waiting boolean NOT NULL",
            "contributions": "shared_id uuid NOT NULL",
        }
        for base, described in columns.items():
            cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, {}, "
                                "PRIMARY KEY (tenant, {}))").format(
                self.t[base], sql.SQL(described), sql.Identifier(_KEY[base])))
        for base, indexed in _INDEXES:
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{self.names[base]}_{indexed.replace(', ', '_')}"),
                self.t[base], sql.SQL(indexed)))

    # Writes (the projection's).

    def insert(self, cur: Cursor[Any], base: str, row: dict[str, Any]) -> None:
        """A new row of one of the tables (a redelivered event changes nothing)."""
        cur.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
            self.t[base], sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))

    def update(self, cur: Cursor[Any], base: str, key: tuple[str, UUID],
               changes: dict[str, Any]) -> None:
        """Changes one row, found by its tenant and id."""
        cur.execute(sql.SQL("UPDATE {} SET {} WHERE tenant = %s AND {} = %s").format(
            self.t[base], sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changes),
            sql.Identifier(_KEY[base])), [*changes.values(), *key])

    # Reads (the view's).

    def totals(self, cur: Cursor[Any], tenants: list[str], today: date,
               now: datetime) -> dict[str, dict[str, int]]:
        """Per member: records, items, active patrons, holds waiting, overdue loans, shared
        records contributed."""
        t = self.t
        rows = cur.execute(sql.SQL(
            "SELECT tenant, 'records', count(*) FROM {records} WHERE tenant = ANY(%(t)s) "
            "GROUP BY tenant UNION ALL "
            "SELECT tenant, 'items', count(*) FROM {items} WHERE tenant = ANY(%(t)s) "
            "AND NOT withdrawn GROUP BY tenant UNION ALL "
            "SELECT tenant, 'active_patrons', count(*) FROM {patrons} WHERE tenant = ANY(%(t)s) "
            "AND NOT erased AND expires_on >= %(today)s GROUP BY tenant UNION ALL "
            "SELECT tenant, 'holds_waiting', count(*) FROM {holds} WHERE tenant = ANY(%(t)s) "
            "AND waiting GROUP BY tenant UNION ALL "
            "SELECT tenant, 'overdue_loans', count(*) FROM {loans} WHERE tenant = ANY(%(t)s) "
            "AND closed_at IS NULL AND due_at < %(now)s GROUP BY tenant UNION ALL "
            "SELECT tenant, 'shared_records', count(*) FROM {contributions} "
            "WHERE tenant = ANY(%(t)s) GROUP BY tenant").format(**t),
            {"t": tenants, "today": today, "now": now}).fetchall()
        found: dict[str, dict[str, int]] = {}
        for tenant, figure, count in rows:
            found.setdefault(str(tenant), {})[str(figure)] = int(count)
        return found

    def daily(self, cur: Cursor[Any], tenants: list[str], since: date,
              until: date) -> list[tuple[str, date, int, int]]:
        """(tenant, day, loans, returns) of each day from `since` to `until` with either,
        in UTC days."""
        return [(str(r[0]), r[1], int(r[2]), int(r[3])) for r in cur.execute(sql.SQL(
            "SELECT tenant, day, sum(loans), sum(returns) FROM ("
            " SELECT tenant, (checked_out_at AT TIME ZONE 'UTC')::date AS day, 1 AS loans, "
            "  0 AS returns FROM {loans} WHERE tenant = ANY(%(t)s)"
            " UNION ALL SELECT tenant, (closed_at AT TIME ZONE 'UTC')::date, 0, 1 FROM {loans}"
            "  WHERE tenant = ANY(%(t)s) AND returned"
            ") d WHERE day BETWEEN %(since)s AND %(until)s GROUP BY tenant, day "
            "ORDER BY day, tenant").format(loans=self.t["loans"]),
            {"t": tenants, "since": since, "until": until}).fetchall()]

    def record_demand(self, cur: Cursor[Any], since: datetime) -> list[tuple[Any, ...]]:
        """(tenant, record id, holds waiting, loans since) of every record with either."""
        return cur.execute(sql.SQL(
            "SELECT tenant, record_id, sum(h), sum(l) FROM ("
            " SELECT tenant, record_id, 1 AS h, 0 AS l FROM {holds} WHERE waiting"
            " UNION ALL SELECT tenant, record_id, 0, 1 FROM {loans} "
            "  WHERE checked_out_at >= %s"
            ") d GROUP BY tenant, record_id").format(holds=self.t["holds"],
                                                     loans=self.t["loans"]),
            (since,)).fetchall()
