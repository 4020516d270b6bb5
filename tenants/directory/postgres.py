"""The tenant directory's table and SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "tenant_directory"
TABLES = ("tenants",)


class DirectoryTables:
    """The directory table of one generation."""

    def __init__(self, generation: int) -> None:
        self.tenants = sql.Identifier(SCHEMA, table_name(NAME, generation, "tenants"))

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the table if it does not exist."""
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (slug text PRIMARY KEY, tenant_id uuid UNIQUE NOT NULL, "
            "name text NOT NULL, isil text, status text NOT NULL, suspension_reason text, "
            "registered_at timestamptz NOT NULL)").format(self.tenants))

    def register(self, cur: Cursor[Any], tenant_id: UUID, *, slug: str, name: str,
                 isil: str | None, status: str, registered_at: datetime) -> None:
        """A tenant registered."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (slug, tenant_id, name, isil, status, registered_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (slug) DO NOTHING").format(
                self.tenants), (slug, tenant_id, name, isil, status, registered_at))

    def set_status(self, cur: Cursor[Any], tenant_id: UUID, status: str,
                   reason: str | None) -> None:
        """A tenant's new status (and why, for a suspension)."""
        cur.execute(sql.SQL(
            "UPDATE {} SET status = %s, suspension_reason = %s WHERE tenant_id = %s").format(
                self.tenants), (status, reason, tenant_id))

    def change_details(self, cur: Cursor[Any], tenant_id: UUID, *, name: str | None,
                       isil: str | None, isil_removed: bool) -> None:
        """A tenant renamed or its ISIL changed (None: unchanged) or removed."""
        cur.execute(sql.SQL(
            "UPDATE {} SET name = COALESCE(%s, name), "
            "isil = CASE WHEN %s THEN NULL ELSE COALESCE(%s, isil) END WHERE tenant_id = %s"
        ).format(self.tenants), (name, isil_removed, isil, tenant_id))

    def listed(self, cur: Cursor[Any]) -> list[tuple[Any, ...]]:
        """Every tenant by slug: (slug, name, isil, status, suspension_reason)."""
        return cur.execute(sql.SQL(
            "SELECT slug, name, isil, status, suspension_reason FROM {} ORDER BY slug").format(
                self.tenants)).fetchall()
