"""The shared acquisition read model's tables and SQL: every member's suggestions and orders
(by what they want: a union entry, an ISBN or a title), the office's price-sharing setting,
and interlibrary requests per member record (holds and loans are circulation figures')."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "shared_acquisition"
TABLES = ("suggestions", "orders", "settings", "interlibrary")
ORDER_COLUMNS = ("tenant", "order_id", "wanted_key", "entry_id", "title", "isbn", "copies",
                 "price_amount", "price_currency", "vendor", "status", "placed_at",
                 "changed_at", "record_id")
_INDEXES = (("suggestions", "wanted_key"), ("orders", "wanted_key, status"),
            ("interlibrary", "tenant, record_id"))


class SharedAcquisitionTables:
    """The tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.t = {base: sql.Identifier(SCHEMA, name) for base, name in self.names.items()}

    def create(self, cur: Cursor[Any]) -> None:
        """The tables and their indexes, if they do not exist."""
        t = self.t
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, suggestion_id uuid NOT NULL, "
            "wanted_key text NOT NULL, entry_id text, title text, isbn text, "
            "for_patron boolean NOT NULL, suggested_at timestamptz NOT NULL, "
            "PRIMARY KEY (tenant, suggestion_id))").format(t["suggestions"]))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, order_id uuid NOT NULL, "
            "wanted_key text NOT NULL, entry_id text, title text, isbn text, "
            "copies int NOT NULL, price_amount numeric, price_currency text, vendor text, "
            "status text NOT NULL, placed_at timestamptz NOT NULL, "
            "changed_at timestamptz NOT NULL, record_id uuid, "
            "PRIMARY KEY (tenant, order_id))").format(t["orders"]))
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                            "enabled boolean NOT NULL)").format(t["settings"]))
        # From interlibrary lending's events: one row per request, under a member record of
        # its title (the record's member), and whether it was filled.
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, request_id uuid NOT NULL, "
            "record_id uuid NOT NULL, filled boolean, requested_at timestamptz NOT NULL, "
            "PRIMARY KEY (tenant, request_id))").format(t["interlibrary"]))
        for base, columns in _INDEXES:
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{self.names[base]}_{columns.replace(', ', '_')}"),
                t[base], sql.SQL(columns)))

    # Writes (the projection's).

    def add_suggestion(self, cur: Cursor[Any], tenant: str, suggestion_id: UUID, *,
                       wanted_key: str, wanted: dict[str, Any], for_patron: bool,
                       suggested_at: datetime) -> None:
        """A member's suggestion (whether a patron asked; never who)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, suggestion_id, wanted_key, entry_id, title, isbn, "
            "for_patron, suggested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING").format(self.t["suggestions"]),
            (tenant, suggestion_id, wanted_key, wanted.get("entry_id"), wanted.get("title"),
             wanted.get("isbn"), for_patron, suggested_at))

    def add_order(self, cur: Cursor[Any], tenant: str, order_id: UUID, wanted_key: str,
                  wanted: dict[str, Any], *, copies: int, price_amount: str | None,
                  price_currency: str | None, vendor: str | None, status: str,
                  placed_at: datetime) -> None:
        """A member's order, open."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, order_id, wanted_key, entry_id, title, isbn, copies, "
            "price_amount, price_currency, vendor, status, placed_at, changed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING").format(self.t["orders"]),
            (tenant, order_id, wanted_key, wanted.get("entry_id"), wanted.get("title"),
             wanted.get("isbn"), copies, price_amount, price_currency, vendor, status,
             placed_at, placed_at))

    def set_order_status(self, cur: Cursor[Any], tenant: str, order_id: UUID, *,
                         status: str, at: datetime, record_id: UUID | None = None) -> None:
        """An order cancelled or received (and the record its copies became)."""
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, changed_at = %s, record_id = COALESCE(%s, record_id) "
            "WHERE tenant = %s AND order_id = %s").format(self.t["orders"]),
            (status, at, record_id, tenant, order_id))

    def add_interlibrary(self, cur: Cursor[Any], tenant: str, request_id: UUID,
                         record_id: UUID, requested_at: datetime) -> None:
        """An interlibrary request for a member record's title (once)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, request_id, record_id, requested_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING").format(self.t["interlibrary"]),
            (tenant, request_id, record_id, requested_at))

    def fill_interlibrary(self, cur: Cursor[Any], request_id: UUID, filled: bool) -> None:
        """Whether an interlibrary request was filled (a copy shipped) or not (the rota
        ran out)."""
        cur.execute(sql.SQL("UPDATE {} SET filled = %s WHERE request_id = %s").format(
            self.t["interlibrary"]), (filled, request_id))

    def set_setting(self, cur: Cursor[Any], name: str, enabled: bool) -> None:
        """One of the office's settings."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (name, enabled) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            "SET enabled = EXCLUDED.enabled").format(self.t["settings"]), (name, enabled))

    # Reads (the view's).

    def setting(self, cur: Cursor[Any], name: str) -> bool:
        """One of the office's settings (off until set)."""
        row = cur.execute(sql.SQL("SELECT enabled FROM {} WHERE name = %s").format(
            self.t["settings"]), (name,)).fetchone()
        return bool(row[0]) if row else False

    def orders(self, cur: Cursor[Any], *, tenant: str | None = None,
               wanted_keys: list[str] | None = None, status: str | None = None,
               order_id: UUID | None = None, limit: int = 500) -> list[tuple[Any, ...]]:
        """Orders, newest first, narrowed by member, what they want, status or id."""
        conditions: list[sql.Composable] = [sql.SQL("true")]
        params: list[Any] = []
        for column, value in (("tenant", tenant), ("status", status), ("order_id", order_id)):
            if value is not None:
                conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if wanted_keys is not None:
            conditions.append(sql.SQL("wanted_key = ANY(%s)"))
            params.append(wanted_keys)
        return cur.execute(sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY placed_at DESC, "
                                   "order_id LIMIT %s").format(
            sql.SQL(", ").join(map(sql.Identifier, ORDER_COLUMNS)), self.t["orders"],
            sql.SQL(" AND ").join(conditions)), [*params, limit]).fetchall()

    def suggestion_counts(self, cur: Cursor[Any]) -> list[tuple[Any, ...]]:
        """(wanted key, entry id, title, isbn, tenant, suggestions) per member and title."""
        return cur.execute(sql.SQL(
            "SELECT wanted_key, max(entry_id), max(title), max(isbn), tenant, count(*) "
            "FROM {} GROUP BY wanted_key, tenant").format(self.t["suggestions"])).fetchall()

    def open_order_keys(self, cur: Cursor[Any], open_status: str) -> list[tuple[Any, ...]]:
        """(wanted key, entry id, title, isbn) of every title on open order."""
        return cur.execute(sql.SQL(
            "SELECT wanted_key, max(entry_id), max(title), max(isbn) FROM {} "
            "WHERE status = %s GROUP BY wanted_key").format(self.t["orders"]),
            (open_status,)).fetchall()

    def interlibrary_demand(self, cur: Cursor[Any]) -> list[tuple[Any, ...]]:
        """(tenant, record id, interlibrary requests, unfilled) of every member record some
        request was made for."""
        return cur.execute(sql.SQL(
            "SELECT tenant, record_id, count(*), count(*) FILTER (WHERE filled IS FALSE) "
            "FROM {} GROUP BY tenant, record_id").format(self.t["interlibrary"])).fetchall()
