"""The circulation read model's tables and SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "circulation"
TABLES = ("lending", "loans", "holds")
# A hold's statuses in the read model.
WAITING, ON_SHELF, COLLECTED, CANCELLED, EXPIRED = (
    "waiting", "on_shelf", "collected", "cancelled", "expired")
_INDEXES = (("loans", "tenant, borrower"), ("loans", "tenant, due_at"),
            ("holds", "tenant, record_id, status, seq"), ("holds", "tenant, borrower"),
            ("lending", "tenant, lending_id"))


class CirculationTables:
    """The lending, loans and holds tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.lending = sql.Identifier(SCHEMA, self.names["lending"])
        self.loans = sql.Identifier(SCHEMA, self.names["loans"])
        self.holds = sql.Identifier(SCHEMA, self.names["holds"])

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the tables and their indexes if they do not exist."""
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, item_id uuid NOT NULL, "
            "lending_id uuid NOT NULL, "
            "barcode text NOT NULL, record_id uuid NOT NULL, status text NOT NULL, "
            "loan_id uuid, borrower uuid, due_at timestamptz, renewals int NOT NULL DEFAULT 0, "
            "hold_id uuid, pickup_until timestamptz, PRIMARY KEY (tenant, item_id))").format(
                self.lending))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, loan_id uuid NOT NULL, "
            "item_id uuid NOT NULL, item_barcode text NOT NULL, record_id uuid NOT NULL, "
            "borrower uuid, patron_group text NOT NULL, material_type text NOT NULL, "
            "checked_out_at timestamptz NOT NULL, due_at timestamptz NOT NULL, "
            "renewals int NOT NULL DEFAULT 0, checked_in_at timestamptz, was_overdue boolean, "
            "PRIMARY KEY (tenant, loan_id))").format(self.loans))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, hold_id uuid NOT NULL, "
            "record_id uuid NOT NULL, borrower uuid, placed_at timestamptz NOT NULL, "
            "seq bigint NOT NULL, status text NOT NULL, item_id uuid, "
            "pickup_until timestamptz, PRIMARY KEY (tenant, hold_id))").format(self.holds))
        for base, columns in _INDEXES:
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{self.names[base]}_{columns.replace(', ', '_')}"),
                sql.Identifier(SCHEMA, self.names[base]), sql.SQL(columns)))

    # Writes (the projection's).

    def start_lending(self, cur: Cursor[Any], tenant: str, lending_id: UUID, *,
                      item_id: UUID, barcode: str, record_id: UUID, status: str) -> None:
        """An item's lending state begins."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, item_id, lending_id, barcode, record_id, status) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(self.lending),
            (tenant, item_id, lending_id, barcode, record_id, status))

    def record_copy(self, cur: Cursor[Any], tenant: str, lending_id: UUID, *,
                    item_id: UUID, barcode: str, record_id: UUID, status: str) -> None:
        """The copy's facts as circulation learnt them (its lending state begins if new)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, item_id, lending_id, barcode, record_id, status) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant, item_id) DO UPDATE "
            "SET barcode = EXCLUDED.barcode, record_id = EXCLUDED.record_id").format(
                self.lending), (tenant, item_id, lending_id, barcode, record_id, status))

    def set_lending_status(self, cur: Cursor[Any], tenant: str, item_id: UUID,
                           status: str) -> None:
        """An item's lending status."""
        cur.execute(sql.SQL("UPDATE {} SET status = %s WHERE tenant = %s "
                            "AND item_id = %s").format(self.lending), (status, tenant, item_id))

    def return_hold(self, cur: Cursor[Any], tenant: str, hold_id: UUID, status: str) -> None:
        """A hold back in its queue, at its old place, without a copy."""
        cur.execute(sql.SQL("UPDATE {} SET status = %s, item_id = NULL, pickup_until = NULL "
                            "WHERE tenant = %s AND hold_id = %s").format(self.holds),
                    (status, tenant, hold_id))

    def check_out(self, cur: Cursor[Any], tenant: str, *, loan_id: UUID, item_id: UUID,
                  item_barcode: str, record_id: UUID, borrower: UUID, patron_group: str,
                  material_type: str, checked_out_at: datetime, due_at: datetime,
                  status: str, collected: str, on_shelf: str) -> None:
        """A loan opens: the item's hold (if it was the borrower's) is collected."""
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s WHERE tenant = %s AND item_id = %s "
            "AND status = %s AND borrower = %s").format(self.holds),
            (collected, tenant, item_id, on_shelf, borrower))
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, loan_id = %s, borrower = %s, due_at = %s, "
            "renewals = 0, hold_id = NULL, pickup_until = NULL "
            "WHERE tenant = %s AND item_id = %s").format(self.lending),
            (status, loan_id, borrower, due_at, tenant, item_id))
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, loan_id, item_id, item_barcode, record_id, borrower, "
            "patron_group, material_type, checked_out_at, due_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                self.loans),
            (tenant, loan_id, item_id, item_barcode, record_id, borrower, patron_group,
             material_type, checked_out_at, due_at))

    def renew(self, cur: Cursor[Any], tenant: str, loan_id: UUID, due_at: datetime,
              renewals: int) -> None:
        """A loan's new due date."""
        for table in (self.lending, self.loans):
            cur.execute(sql.SQL("UPDATE {} SET due_at = %s, renewals = %s "
                                "WHERE tenant = %s AND loan_id = %s").format(table),
                        (due_at, renewals, tenant, loan_id))

    def check_in(self, cur: Cursor[Any], tenant: str, *, item_id: UUID, loan_id: UUID,
                 checked_in_at: datetime, was_overdue: bool, status: str) -> None:
        """A loan closes; the item is back."""
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, loan_id = NULL, borrower = NULL, "
            "due_at = NULL, renewals = 0 WHERE tenant = %s AND item_id = %s").format(
                self.lending), (status, tenant, item_id))
        cur.execute(sql.SQL(
            "UPDATE {} SET checked_in_at = %s, was_overdue = %s WHERE tenant = %s "
            "AND loan_id = %s").format(self.loans),
            (checked_in_at, was_overdue, tenant, loan_id))

    def hold_for_pickup(self, cur: Cursor[Any], tenant: str, lending_id: UUID, *,
                        hold_id: UUID, borrower: UUID, until: datetime, status: str) -> None:
        """An item waits on the hold shelf for a hold."""
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, hold_id = %s, borrower = %s, "
            "pickup_until = %s WHERE tenant = %s AND lending_id = %s").format(self.lending),
            (status, hold_id, borrower, until, tenant, lending_id))
        cur.execute(sql.SQL("UPDATE {} SET pickup_until = %s WHERE tenant = %s "
                            "AND hold_id = %s").format(self.holds), (until, tenant, hold_id))

    def expire_pickup(self, cur: Cursor[Any], tenant: str, hold_id: UUID, *,
                      hold_status: str, item_status: str) -> None:
        """A hold not collected in time: the hold ends, the item leaves the shelf."""
        cur.execute(sql.SQL("UPDATE {} SET status = %s WHERE tenant = %s "
                            "AND hold_id = %s").format(self.holds),
                    (hold_status, tenant, hold_id))
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, hold_id = NULL, borrower = NULL, "
            "pickup_until = NULL WHERE tenant = %s AND hold_id = %s").format(self.lending),
            (item_status, tenant, hold_id))

    def place_hold(self, cur: Cursor[Any], tenant: str, *, hold_id: UUID, record_id: UUID,
                   borrower: UUID, placed_at: datetime, seq: int, status: str) -> None:
        """A patron joins a title's queue (`seq` orders the queue)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, hold_id, record_id, borrower, placed_at, seq, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(self.holds),
            (tenant, hold_id, record_id, borrower, placed_at, seq, status))

    def set_hold(self, cur: Cursor[Any], tenant: str, hold_id: UUID, status: str,
                 item_id: UUID | None = None) -> None:
        """A hold's new status (and the copy that fills it)."""
        cur.execute(sql.SQL("UPDATE {} SET status = %s, item_id = COALESCE(%s, item_id) "
                            "WHERE tenant = %s AND hold_id = %s").format(self.holds),
                    (status, item_id, tenant, hold_id))

    def forget(self, cur: Cursor[Any], tenant: str, borrower: UUID) -> None:
        """A pseudonym dropped from every row."""
        for table in (self.lending, self.loans, self.holds):
            cur.execute(sql.SQL("UPDATE {} SET borrower = NULL WHERE tenant = %s "
                                "AND borrower = %s").format(table), (tenant, borrower))

    # Reads (the view's).

    def lendings(self, cur: Cursor[Any], tenant: str,
                 item_ids: list[str]) -> list[tuple[Any, ...]]:
        """(item id, status, loan id, due at, renewals, pickup until) of items ever lent."""
        return cur.execute(sql.SQL(
            "SELECT item_id::text, status, loan_id, due_at, renewals, pickup_until FROM {} "
            "WHERE tenant = %s AND item_id = ANY(%s::uuid[])").format(self.lending),
            (tenant, item_ids)).fetchall()

    def open_loan_item(self, cur: Cursor[Any], tenant: str, loan_id: str) -> str | None:
        """The barcode of the item an open loan lends, if the loan is open."""
        row = cur.execute(sql.SQL(
            "SELECT item_barcode FROM {} WHERE tenant = %s AND loan_id = %s "
            "AND checked_in_at IS NULL").format(self.loans), (tenant, loan_id)).fetchone()
        return str(row[0]) if row else None

    def loans_of(self, cur: Cursor[Any], tenant: str, *, borrower: str | None,
                 open_only: bool, overdue_at: datetime | None,
                 limit: int) -> list[tuple[Any, ...]]:
        """Loans, newest first: (id, item barcode, record id, borrower, checked out at, due
        at, renewals, checked in at, was overdue)."""
        conditions: list[sql.Composable] = [sql.SQL("tenant = %s")]
        params: list[Any] = [tenant]
        if borrower is not None:
            conditions.append(sql.SQL("borrower = %s"))
            params.append(borrower)
        if open_only:
            conditions.append(sql.SQL("checked_in_at IS NULL"))
        if overdue_at is not None:
            conditions.append(sql.SQL("due_at < %s"))
            params.append(overdue_at)
        return cur.execute(sql.SQL(
            "SELECT loan_id, item_barcode, record_id, borrower, checked_out_at, due_at, "
            "renewals, checked_in_at, was_overdue FROM {} WHERE {} "
            "ORDER BY checked_out_at DESC LIMIT %s").format(
                self.loans, sql.SQL(" AND ").join(conditions)), [*params, limit]).fetchall()

    def holds_of(self, cur: Cursor[Any], tenant: str, borrower: str,
                 waiting: str, on_shelf: str) -> list[tuple[Any, ...]]:
        """A borrower's current holds: (id, record id, status, pickup until, placed at,
        place in the queue)."""
        return cur.execute(sql.SQL(
            "SELECT h.hold_id, h.record_id, h.status, h.pickup_until, h.placed_at, "
            "(SELECT count(*) FROM {holds} w WHERE w.tenant = h.tenant AND w.record_id = "
            "h.record_id AND w.status = %s AND w.seq <= h.seq) FROM {holds} h "
            "WHERE h.tenant = %s AND h.borrower = %s AND h.status IN (%s, %s) "
            "ORDER BY h.placed_at").format(holds=self.holds),
            (waiting, tenant, borrower, waiting, on_shelf)).fetchall()

    def queue_lengths(self, cur: Cursor[Any], tenant: str, record_ids: list[str],
                      waiting: str) -> dict[str, int]:
        """How many patrons wait for each of these records (records nobody waits for are
        left out)."""
        rows = cur.execute(sql.SQL(
            "SELECT record_id::text, count(*) FROM {} WHERE tenant = %s "
            "AND record_id = ANY(%s::uuid[]) AND status = %s GROUP BY record_id").format(
                self.holds), (tenant, record_ids, waiting)).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def expired_pickups(self, cur: Cursor[Any], now: datetime,
                        on_hold_shelf: str) -> list[tuple[str, str]]:
        """(tenant, item id) of copies whose hold was not collected in time."""
        rows = cur.execute(sql.SQL(
            "SELECT tenant, item_id::text FROM {} WHERE status = %s "
            "AND pickup_until < %s").format(self.lending), (on_hold_shelf, now)).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
