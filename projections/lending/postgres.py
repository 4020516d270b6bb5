"""The interlibrary-lending read model's tables and SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "lending"
TABLES = ("requests", "history")
SUPPLIER, REQUESTER = "SUPPLIER", "REQUESTER"
REQUEST_COLUMNS = ("id", "side", "state", "title", "requesting_agency_request_id",
                   "peer_type", "peer_value", "partner", "entry_id", "attempt", "sent_at",
                   "created_at", "updated_at", "seq")
HISTORY_COLUMNS = ("request_id", "state", "at", "actor", "message")
_INDEXES = (("requests", "tenant, side, seq"), ("requests", "side, state"),
            ("requests", "partner, side, shipped_at"))


class LendingTables:
    """The requests and history tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.requests = sql.Identifier(SCHEMA, self.names["requests"])
        self.history = sql.Identifier(SCHEMA, self.names["history"])

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the tables and their indexes if they do not exist."""
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "side text NOT NULL, state text NOT NULL, title text NOT NULL, "
            "requesting_agency_request_id text NOT NULL, peer_type text, peer_value text, "
            "partner text, entry_id text, attempt int NOT NULL DEFAULT 0, "
            "sent_at timestamptz NOT NULL, created_at timestamptz NOT NULL, "
            "updated_at timestamptz NOT NULL, shipped_at timestamptz, due_at timestamptz, "
            "seq bigint NOT NULL, "
            "PRIMARY KEY (tenant, id))").format(self.requests))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, request_id uuid NOT NULL, "
            "position bigint NOT NULL, state text NOT NULL, at timestamptz NOT NULL, "
            "actor text, message text NOT NULL, "
            "PRIMARY KEY (tenant, request_id, position))").format(self.history))
        for base, columns in _INDEXES:
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{self.names[base]}_{columns.replace(', ', '_')}"),
                sql.Identifier(SCHEMA, self.names[base]), sql.SQL(columns)))

    # Writes (the projection's).

    def add(self, cur: Cursor[Any], tenant: str, request_id: UUID, *, side: str, state: str,
            title: str, requesting_agency_request_id: str, peer: tuple[str, str] | None,
            partner: str | None, entry_id: str | None, at: datetime, seq: int) -> None:
        """A request begins (once: a redelivered event changes nothing)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, id, side, state, title, requesting_agency_request_id, "
            "peer_type, peer_value, partner, entry_id, sent_at, created_at, updated_at, seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING").format(self.requests),
            (tenant, request_id, side, state, title, requesting_agency_request_id,
             peer[0] if peer else None, peer[1] if peer else None, partner, entry_id, at, at,
             at, seq))

    def change(self, cur: Cursor[Any], tenant: str, request_id: UUID, at: datetime, *,
               state: str | None = None, partner: str | None = None,
               attempt: int | None = None, shipped: bool = False,
               due_at: datetime | None = None) -> None:
        """A request's state (and, when the rota moved on, its partner and turn; once
        shipped, when; its due date when one is given)."""
        cur.execute(sql.SQL(
            "UPDATE {} SET state = coalesce(%s, state), partner = coalesce(%s, partner), "
            "attempt = coalesce(%s, attempt), due_at = coalesce(%s, due_at), "
            "sent_at = CASE WHEN %s::int IS NULL THEN sent_at ELSE %s END, "
            "shipped_at = CASE WHEN %s AND shipped_at IS NULL THEN %s ELSE shipped_at END, "
            "updated_at = %s WHERE tenant = %s AND id = %s").format(self.requests),
            (state, partner, attempt, due_at, attempt, at, shipped, at, at, tenant,
             request_id))

    def note(self, cur: Cursor[Any], tenant: str, request_id: UUID, position: int, *,
             state: str | None, at: datetime, actor: str | None, message: str) -> None:
        """One line of a request's history (state None: the request's state as it is)."""
        cur.execute(sql.SQL(
            "INSERT INTO {h} (tenant, request_id, position, state, at, actor, message) "
            "SELECT %s, %s, %s, coalesce(%s, r.state), %s, %s, %s FROM {r} r "
            "WHERE r.tenant = %s AND r.id = %s ON CONFLICT DO NOTHING").format(
                h=self.history, r=self.requests),
            (tenant, request_id, position, state, at, actor, message, tenant, request_id))

    # Reads (the view's).

    def requests_of(self, cur: Cursor[Any], tenant: str, *, side: str | None,
                    state: str | None, after: int | None, limit: int,
                    ids: list[str] | None = None) -> list[tuple[Any, ...]]:
        """A tenant's requests, newest first, after a page's last seq."""
        conditions: list[sql.Composable] = [sql.SQL("tenant = %s")]
        params: list[Any] = [tenant]
        for column, value in (("side", side), ("state", state)):
            if value is not None:
                conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if after is not None:
            conditions.append(sql.SQL("seq < %s"))
            params.append(after)
        if ids is not None:
            conditions.append(sql.SQL("id = ANY(%s::uuid[])"))
            params.append(ids)
        return cur.execute(sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY seq DESC LIMIT %s").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in REQUEST_COLUMNS), self.requests,
            sql.SQL(" AND ").join(conditions)), [*params, limit]).fetchall()

    def history_of(self, cur: Cursor[Any], tenant: str,
                   request_ids: list[str]) -> list[tuple[Any, ...]]:
        """The history lines of these requests, oldest first."""
        return cur.execute(sql.SQL(
            "SELECT request_id::text, state, at, actor, message FROM {} WHERE tenant = %s "
            "AND request_id = ANY(%s::uuid[]) ORDER BY request_id, position").format(
                self.history), (tenant, request_ids)).fetchall()

    def waiting(self, cur: Cursor[Any], state: str) -> list[tuple[Any, ...]]:
        """(tenant, id, partner, sent at) of every requester's request in this state."""
        return cur.execute(sql.SQL(
            "SELECT tenant, id, partner, sent_at FROM {} WHERE side = %s AND state = %s "
            "ORDER BY sent_at").format(self.requests), (REQUESTER, state)).fetchall()

    def overdue(self, cur: Cursor[Any], state: str, now: datetime) -> list[tuple[Any, ...]]:
        """(tenant, id) of suppliers' requests in this state whose due date has passed."""
        return cur.execute(sql.SQL(
            "SELECT tenant, id FROM {} WHERE side = %s AND state = %s AND due_at < %s "
            "ORDER BY due_at").format(self.requests), (SUPPLIER, state, now)).fetchall()

    def figures(self, cur: Cursor[Any], since: datetime | None,
                until: datetime | None) -> list[tuple[Any, ...]]:
        """Per member, of its requests as requester made in the period: (member, requests,
        filled, unfilled, mean hours from the request to the copy shipped)."""
        return cur.execute(sql.SQL(
            "SELECT tenant, count(*), count(shipped_at), "
            "count(*) FILTER (WHERE state = 'Unfilled'), "
            "avg(extract(epoch FROM shipped_at - created_at) / 3600) "
            "FROM {} WHERE side = %s "
            "AND created_at >= coalesce(%s::timestamptz, '-infinity') "
            "AND created_at < coalesce(%s::timestamptz, 'infinity') "
            "GROUP BY tenant ORDER BY tenant"
        ).format(self.requests), (REQUESTER, since, until)).fetchall()

    def supplied_since(self, cur: Cursor[Any], members: list[str],
                       since: datetime) -> dict[str, int]:
        """How many loans each of these members shipped since then."""
        rows = cur.execute(sql.SQL(
            "SELECT tenant, count(*) FROM {} WHERE side = %s AND tenant = ANY(%s) "
            "AND shipped_at >= %s GROUP BY tenant").format(self.requests),
            (SUPPLIER, members, since)).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def supplied_to(self, cur: Cursor[Any], members: list[str],
                    requester: str) -> dict[str, int]:
        """How many loans each of these members shipped to this requester."""
        rows = cur.execute(sql.SQL(
            "SELECT tenant, count(*) FROM {} WHERE side = %s AND tenant = ANY(%s) "
            "AND partner = %s AND shipped_at IS NOT NULL GROUP BY tenant").format(
                self.requests), (SUPPLIER, members, requester)).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}
