"""The inventory read model's table and SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "inventory_scans"
TABLES = ("scans",)
_SCAN_COLUMNS = ("scan_id", "batch_id", "robot", "shelf", "status", "reads", "tags",
                 "uploaded_at")


class InventoryTables:
    """The scans table of one generation."""

    def __init__(self, generation: int) -> None:
        self.scans = sql.Identifier(SCHEMA, table_name(NAME, generation, "scans"))

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the table if it does not exist."""
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, scan_id uuid NOT NULL, "
            "batch_id text NOT NULL, robot text NOT NULL, shelf text NOT NULL, "
            "status text NOT NULL, reads bigint NOT NULL, tags bigint NOT NULL, "
            "uploaded_at timestamptz NOT NULL, PRIMARY KEY (tenant, scan_id))").format(
                self.scans))

    def add_scan(self, cur: Cursor[Any], tenant: str, scan_id: UUID, *, batch_id: str,
                 robot: str, shelf: str, reads: int, tags: int, uploaded_at: datetime) -> None:
        """A scan uploaded (accepted)."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (tenant, scan_id, batch_id, robot, shelf, status, reads, tags, "
            "uploaded_at) VALUES (%s, %s, %s, %s, %s, 'accepted', %s, %s, %s) "
            "ON CONFLICT DO NOTHING").format(self.scans),
            (tenant, scan_id, batch_id, robot, shelf, reads, tags, uploaded_at))

    def set_status(self, cur: Cursor[Any], tenant: str, scan_id: UUID, status: str) -> None:
        """A scan's new status."""
        cur.execute(sql.SQL("UPDATE {} SET status = %s WHERE tenant = %s AND scan_id = %s")
                    .format(self.scans), (status, tenant, scan_id))

    def scans_of(self, cur: Cursor[Any], tenant: str, limit: int, *,
                 shelf: str | None = None, status: str | tuple[str, ...] | None = None,
                 robot: str | None = None,
                 before: tuple[datetime, UUID] | None = None) -> list[tuple[Any, ...]]:
        """The tenant's scans, newest first, as rows of `_SCAN_COLUMNS`; only those of a
        shelf, status (or statuses) or robot when asked, and those uploaded before `before`
        (uploaded_at, scan_id: a page's last)."""
        conditions: list[sql.Composable] = [sql.SQL("tenant = %s")]
        params: list[Any] = [tenant]
        for column, value in (("shelf", shelf), ("robot", robot)):
            if value is not None:
                conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if status is not None:
            conditions.append(sql.SQL("status = ANY(%s)"))
            params.append([status] if isinstance(status, str) else list(status))
        if before is not None:
            conditions.append(sql.SQL("(uploaded_at, scan_id) < (%s, %s)"))
            params.extend(before)
        return cur.execute(sql.SQL(
            "SELECT scan_id, batch_id, robot, shelf, status, reads, tags, uploaded_at FROM {} "
            "WHERE {} ORDER BY uploaded_at DESC, scan_id DESC LIMIT %s").format(
                self.scans, sql.SQL(" AND ").join(conditions)), (*params, limit)).fetchall()
