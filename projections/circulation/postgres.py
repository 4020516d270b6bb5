"""The circulation read model: each item's lending state, loans and holds, under patrons'
pseudonyms (never their names); a forgotten pseudonym is dropped from every row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import Cursor, sql

from projections.framework import EventRecord, Projection, plain
from projections.postgres import SCHEMA

WAITING, ON_SHELF, COLLECTED, CANCELLED, EXPIRED = (
    "waiting", "on_shelf", "collected", "cancelled", "expired")


def _fields(e: EventRecord) -> dict[str, Any]:
    return {k: plain(v) for k, v in e.data().items()}


class CirculationView(Projection):
    """Lending states, loans and holds of every tenant."""

    name = "circulation"
    aggregates = frozenset({"Lending", "HoldQueue", "Borrower"})
    tables = ("lending", "loans", "holds")

    def _t(self, base: str) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table(base))

    def create_tables(self, cur: Cursor[Any]) -> None:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, item_id uuid NOT NULL, "
            "lending_id uuid NOT NULL, "
            "barcode text NOT NULL, record_id uuid NOT NULL, status text NOT NULL, "
            "loan_id uuid, borrower uuid, due_at timestamptz, renewals int NOT NULL DEFAULT 0, "
            "hold_id uuid, pickup_until timestamptz, PRIMARY KEY (tenant, item_id))").format(
                self._t("lending")))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, loan_id uuid NOT NULL, "
            "item_id uuid NOT NULL, item_barcode text NOT NULL, record_id uuid NOT NULL, "
            "borrower uuid, patron_group text NOT NULL, material_type text NOT NULL, "
            "checked_out_at timestamptz NOT NULL, due_at timestamptz NOT NULL, "
            "renewals int NOT NULL DEFAULT 0, checked_in_at timestamptz, was_overdue boolean, "
            "PRIMARY KEY (tenant, loan_id))").format(self._t("loans")))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, hold_id uuid NOT NULL, "
            "record_id uuid NOT NULL, borrower uuid, placed_at timestamptz NOT NULL, "
            "seq bigint NOT NULL, status text NOT NULL, item_id uuid, "
            "pickup_until timestamptz, PRIMARY KEY (tenant, hold_id))").format(
                self._t("holds")))
        for table, columns in (("loans", "tenant, borrower"), ("loans", "tenant, due_at"),
                               ("holds", "tenant, record_id, status, seq"),
                               ("holds", "tenant, borrower"),
                               ("lending", "tenant, lending_id")):
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{self.table(table)}_{columns.replace(', ', '_')}"),
                self._t(table), sql.SQL(columns)))

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        handler = {
            "Lending.Started": self._started, "Lending.CheckedOut": self._checked_out,
            "Lending.Renewed": self._renewed, "Lending.CheckedIn": self._checked_in,
            "Lending.HeldForPickup": self._held, "Lending.PickupExpired": self._pickup_expired,
            "HoldQueue.HoldPlaced": self._hold_placed,
            "HoldQueue.HoldCancelled": self._hold_cancelled,
            "HoldQueue.HoldFilled": self._hold_filled, "Borrower.Forgotten": self._forgotten,
        }.get(f"{record.aggregate}.{record.event}")
        if handler is not None:
            handler(cur, record)

    def _started(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, item_id, lending_id, barcode, record_id, status) "
            "VALUES (%s, %s, %s, %s, %s, 'available') ON CONFLICT DO NOTHING").format(
                self._t("lending")),
            (tenant, d["item_id"], e.originator_id, d["item_barcode"], d["record_id"]))

    def _checked_out(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL(
            "UPDATE {} SET status = 'collected' WHERE tenant = %s AND item_id = %s "
            "AND status = 'on_shelf' AND borrower = %s").format(self._t("holds")),
            (tenant, d["item_id"], d["borrower"]))
        cur.execute(sql.SQL(
            "UPDATE {} SET status = 'checked_out', loan_id = %s, borrower = %s, due_at = %s, "
            "renewals = 0, hold_id = NULL, pickup_until = NULL "
            "WHERE tenant = %s AND item_id = %s").format(self._t("lending")),
            (d["loan_id"], d["borrower"], d["due_at"], tenant, d["item_id"]))
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, loan_id, item_id, item_barcode, record_id, borrower, "
            "patron_group, material_type, checked_out_at, due_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                self._t("loans")),
            (tenant, d["loan_id"], d["item_id"], d["item_barcode"], d["record_id"],
             d["borrower"], d["patron_group"], d["material_type"], d["checked_out_at"],
             d["due_at"]))

    def _renewed(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        for table, key in (("lending", "loan_id"), ("loans", "loan_id")):
            cur.execute(sql.SQL("UPDATE {} SET due_at = %s, renewals = %s "
                                "WHERE tenant = %s AND {} = %s").format(
                                    self._t(table), sql.Identifier(key)),
                        (d["due_at"], d["renewals"], tenant, d["loan_id"]))

    def _checked_in(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL(
            "UPDATE {} SET status = 'available', loan_id = NULL, borrower = NULL, "
            "due_at = NULL, renewals = 0 WHERE tenant = %s AND item_id = %s").format(
                self._t("lending")), (tenant, d["item_id"]))
        cur.execute(sql.SQL(
            "UPDATE {} SET checked_in_at = %s, was_overdue = %s WHERE tenant = %s "
            "AND loan_id = %s").format(self._t("loans")),
            (d["checked_in_at"], d["was_overdue"], tenant, d["loan_id"]))

    def _held(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL(
            "UPDATE {} SET status = 'on_hold_shelf', hold_id = %s, borrower = %s, "
            "pickup_until = %s WHERE tenant = %s AND lending_id = %s").format(
                self._t("lending")),
            (d["hold_id"], d["borrower"], d["until"], tenant, e.originator_id))
        cur.execute(sql.SQL("UPDATE {} SET pickup_until = %s WHERE tenant = %s "
                            "AND hold_id = %s").format(self._t("holds")),
                    (d["until"], tenant, d["hold_id"]))

    def _pickup_expired(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL("UPDATE {} SET status = 'expired' WHERE tenant = %s "
                            "AND hold_id = %s").format(self._t("holds")),
                    (tenant, d["hold_id"]))
        cur.execute(sql.SQL(
            "UPDATE {} SET status = 'available', hold_id = NULL, borrower = NULL, "
            "pickup_until = NULL WHERE tenant = %s AND hold_id = %s").format(
                self._t("lending")), (tenant, d["hold_id"]))

    def _hold_placed(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, hold_id, record_id, borrower, placed_at, seq, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'waiting') ON CONFLICT DO NOTHING").format(
                self._t("holds")),
            (tenant, d["hold_id"], d["record_id"], d["borrower"], d["placed_at"],
             e.position))

    def _hold_cancelled(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL("UPDATE {} SET status = 'cancelled' WHERE tenant = %s "
                            "AND hold_id = %s").format(self._t("holds")),
                    (tenant, d["hold_id"]))

    def _hold_filled(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant, d = e.tenant, _fields(e)
        cur.execute(sql.SQL("UPDATE {} SET status = 'on_shelf', item_id = %s WHERE tenant = %s "
                            "AND hold_id = %s").format(self._t("holds")),
                    (d["item_id"], tenant, d["hold_id"]))

    def _forgotten(self, cur: Cursor[Any], e: EventRecord) -> None:
        tenant = e.tenant
        for table in ("lending", "loans", "holds"):
            cur.execute(sql.SQL("UPDATE {} SET borrower = NULL WHERE tenant = %s "
                                "AND borrower = %s").format(self._t(table)),
                        (tenant, e.originator_id))

    # The view.

    def lending(self, cur: Cursor[Any], tenant: str, item_id: str) -> dict[str, Any] | None:
        """An item's lending state, if it was ever lent."""
        row = cur.execute(sql.SQL(
            "SELECT status, loan_id, due_at, renewals, pickup_until FROM {} "
            "WHERE tenant = %s AND item_id = %s").format(self._t("lending")),
            (tenant, item_id)).fetchone()
        keys = ("status", "loan_id", "due_at", "renewals", "pickup_until")
        return dict(zip(keys, row, strict=True)) if row else None

    def item_on_loan(self, cur: Cursor[Any], tenant: str, loan_id: str) -> str | None:
        """The barcode of the item an open loan lends, if the loan is open."""
        row = cur.execute(sql.SQL(
            "SELECT item_barcode FROM {} WHERE tenant = %s AND loan_id = %s "
            "AND checked_in_at IS NULL").format(self._t("loans")), (tenant, loan_id)).fetchone()
        return str(row[0]) if row else None

    def statuses(self, cur: Cursor[Any], tenant: str, item_ids: list[str]) -> dict[str, str]:
        """The lending status of those items that were ever lent."""
        rows = cur.execute(sql.SQL(
            "SELECT item_id::text, status FROM {} WHERE tenant = %s "
            "AND item_id = ANY(%s::uuid[])").format(self._t("lending")),
            (tenant, item_ids)).fetchall()
        return {r[0]: r[1] for r in rows}

    def loans(self, cur: Cursor[Any], tenant: str, *, borrower: str | None = None,
              open_only: bool = True, overdue_at: datetime | None = None,
              limit: int = 500) -> list[dict[str, Any]]:
        """Loans of the tenant (a borrower's; open ones; overdue ones), newest first."""
        conditions, params = [sql.SQL("tenant = %s")], [tenant]
        if borrower is not None:
            conditions.append(sql.SQL("borrower = %s"))
            params.append(borrower)
        if open_only:
            conditions.append(sql.SQL("checked_in_at IS NULL"))
        if overdue_at is not None:
            conditions.append(sql.SQL("due_at < %s"))
            params.append(overdue_at)  # type: ignore[arg-type]
        rows = cur.execute(sql.SQL(
            "SELECT loan_id, item_barcode, record_id, borrower, checked_out_at, due_at, "
            "renewals, checked_in_at, was_overdue FROM {} WHERE {} "
            "ORDER BY checked_out_at DESC LIMIT %s").format(
                self._t("loans"), sql.SQL(" AND ").join(conditions)),
            [*params, limit]).fetchall()
        keys = ("id", "item_barcode", "record_id", "borrower", "checked_out_at", "due_at",
                "renewals", "checked_in_at", "was_overdue")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def holds(self, cur: Cursor[Any], tenant: str, borrower: str) -> list[dict[str, Any]]:
        """A borrower's current holds with their place in the queue (1 = next)."""
        rows = cur.execute(sql.SQL(
            "SELECT h.hold_id, h.record_id, h.status, h.pickup_until, h.placed_at, "
            "(SELECT count(*) FROM {holds} w WHERE w.tenant = h.tenant AND w.record_id = "
            "h.record_id AND w.status = 'waiting' AND w.seq <= h.seq) FROM {holds} h "
            "WHERE h.tenant = %s AND h.borrower = %s AND h.status IN ('waiting', 'on_shelf') "
            "ORDER BY h.placed_at").format(holds=self._t("holds")), (tenant, borrower)).fetchall()
        keys = ("id", "record_id", "status", "pickup_until", "placed_at", "position")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def queue_length(self, cur: Cursor[Any], tenant: str, record_id: str) -> int:
        """How many patrons wait for a record."""
        row = cur.execute(sql.SQL(
            "SELECT count(*) FROM {} WHERE tenant = %s AND record_id = %s "
            "AND status = 'waiting'").format(self._t("holds")), (tenant, record_id)).fetchone()
        return int(row[0]) if row else 0

    def expired_pickups(self, cur: Cursor[Any], now: datetime) -> list[tuple[str, str]]:
        """(tenant, item id) of copies whose hold was not collected in time."""
        rows = cur.execute(sql.SQL(
            "SELECT tenant, item_id::text FROM {} WHERE status = 'on_hold_shelf' "
            "AND pickup_until < %s").format(self._t("lending")), (now,)).fetchall()
        return [(r[0], r[1]) for r in rows]
