"""The inventory read model: each library's scans with their status, newest first."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor, sql

from projections.framework import EventRecord, Projection, plain
from projections.postgres import SCHEMA

STATUS = {"Uploaded": "accepted", "LocalizationStarted": "localizing", "Localized": "done",
          "Failed": "failed"}


class InventoryScans(Projection):
    """Every tenant's scans (the reports themselves are computed from the scan's events
    and the catalog when asked)."""

    name = "inventory_scans"
    aggregates = frozenset({"InventoryScan"})
    tables = ("scans",)

    def _t(self) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table("scans"))

    def create_tables(self, cur: Cursor[Any]) -> None:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, scan_id uuid NOT NULL, "
            "batch_id text NOT NULL, robot text NOT NULL, shelf text NOT NULL, "
            "status text NOT NULL, reads bigint NOT NULL, tags bigint NOT NULL, "
            "uploaded_at timestamptz NOT NULL, PRIMARY KEY (tenant, scan_id))").format(
                self._t()))

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        data = {k: plain(v) for k, v in record.data().items()}
        if record.event == "Uploaded":
            cur.execute(sql.SQL(
                "INSERT INTO {} (tenant, scan_id, batch_id, robot, shelf, status, reads, tags, "
                "uploaded_at) VALUES (%s, %s, %s, %s, %s, 'accepted', %s, %s, %s) "
                "ON CONFLICT DO NOTHING").format(self._t()),
                (record.tenant, record.originator_id, data["batch_id"], data["robot"],
                 data["shelf"], data["reads"], data["tags"], data["uploaded_at"]))
        elif record.event in STATUS:
            cur.execute(sql.SQL("UPDATE {} SET status = %s WHERE tenant = %s AND scan_id = %s")
                        .format(self._t()),
                        (STATUS[record.event], record.tenant, record.originator_id))

    def scans(self, cur: Cursor[Any], tenant: str, limit: int, *, shelf: str | None = None,
              status: str | None = None, robot: str | None = None,
              before: tuple[Any, Any] | None = None) -> list[dict[str, Any]]:
        """The tenant's scans, newest first; only those of a shelf, status or robot when
        asked, and those uploaded before `before` (uploaded_at, scan_id: a page's last)."""
        conditions: list[sql.Composable] = [sql.SQL("tenant = %s")]
        params: list[Any] = [tenant]
        for column, value in (("shelf", shelf), ("status", status), ("robot", robot)):
            if value is not None:
                conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if before is not None:
            conditions.append(sql.SQL("(uploaded_at, scan_id) < (%s, %s)"))
            params.extend(before)
        rows = cur.execute(sql.SQL(
            "SELECT scan_id, batch_id, robot, shelf, status, reads, tags, uploaded_at FROM {} "
            "WHERE {} ORDER BY uploaded_at DESC, scan_id DESC LIMIT %s").format(
                self._t(), sql.SQL(" AND ").join(conditions)),
            (*params, limit)).fetchall()
        keys = ("scan_id", "batch_id", "robot", "shelf", "status", "reads", "tags",
                "uploaded_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]
