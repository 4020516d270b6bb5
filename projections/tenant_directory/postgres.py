"""The tenant directory read model: one row per tenant, from the office's Tenant events."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor, sql

from projections.framework import EventRecord, Projection
from projections.postgres import SCHEMA


class TenantDirectory(Projection):
    """Every member library with its current status, as the consortium office lists them."""

    name = "tenant_directory"
    aggregates = frozenset({"Tenant"})
    tables = ("tenants",)

    def _table(self) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table("tenants"))

    def create_tables(self, cur: Cursor[Any]) -> None:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (slug text PRIMARY KEY, tenant_id uuid UNIQUE NOT NULL, "
            "name text NOT NULL, "
            "isil text, status text NOT NULL, suspension_reason text, "
            "registered_at timestamptz NOT NULL)").format(self._table()))

    def handles(self, record: EventRecord) -> bool:
        return record.tenant == "office" and super().handles(record)

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        data = record.data()
        table = self._table()
        if record.event == "Registered":
            cur.execute(sql.SQL(
                "INSERT INTO {} (slug, tenant_id, name, isil, status, registered_at) "
                "VALUES (%s, %s, %s, %s, 'active', %s) ON CONFLICT (slug) DO NOTHING"
            ).format(table), (data["slug"], record.originator_id, data["name"], data["isil"],
                              record.timestamp()))
            return
        if record.event == "DetailsChanged":
            cur.execute(sql.SQL(
                "UPDATE {} SET name = COALESCE(%s, name), "
                "isil = CASE WHEN %s THEN NULL ELSE COALESCE(%s, isil) END WHERE tenant_id = %s"
            ).format(table), (data["name"], data["isil_removed"], data["isil"],
                              record.originator_id))
            return
        status, reason = {
            "Suspended": ("suspended", data.get("reason")),
            "Reactivated": ("active", None),
            "Archived": ("archived", None),
        }.get(record.event, (None, None))
        if status is not None:
            cur.execute(sql.SQL(
                "UPDATE {} SET status = %s, suspension_reason = %s WHERE tenant_id = %s"
            ).format(table), (status, reason, record.originator_id))

    def tenants(self, cur: Cursor[Any]) -> list[dict[str, Any]]:
        """The directory, by slug."""
        rows = cur.execute(sql.SQL(
            "SELECT slug, name, isil, status, suspension_reason FROM {} ORDER BY slug"
        ).format(self._table())).fetchall()
        keys = ("slug", "name", "isil", "status", "suspension_reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]
