"""Where MARC import jobs keep their progress: `<tenant schema>.imports`, so any API replica
can answer for a job and a tenant sees only its own."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from psycopg import sql

from infra.database import Database, TenantTable

RUNNING, DONE, FAILED = "running", "done", "failed"


class ImportJobs:
    """The import jobs of every tenant, each in its tenant's schema."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._jobs = TenantTable(database, "imports",
                                 "id uuid PRIMARY KEY, client_id text NOT NULL, "
                                 "format text NOT NULL, bytes_total bigint NOT NULL, "
                                 "bytes_read bigint NOT NULL DEFAULT 0, status text NOT NULL, "
                                 "summary jsonb, error text, "
                                 "started_at timestamptz NOT NULL DEFAULT now(), "
                                 "updated_at timestamptz NOT NULL DEFAULT now()")

    def _table(self, schema: str) -> sql.Identifier:
        return self._jobs.of(schema)

    def start(self, schema: str, job_id: UUID, client_id: str, fmt: str, size: int) -> None:
        """Records a job that is about to run."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (id, client_id, format, bytes_total, status) "
                "VALUES (%s, %s, %s, %s, %s)").format(table),
                (job_id, client_id, fmt, size, RUNNING))

    def progress(self, schema: str, job_id: UUID, bytes_read: int,
                 summary: dict[str, Any]) -> None:
        """Notes how far a running job got."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "UPDATE {} SET bytes_read = %s, summary = %s, updated_at = now() WHERE id = %s"
            ).format(table), (bytes_read, json.dumps(summary), job_id))

    def finish(self, schema: str, job_id: UUID, summary: dict[str, Any] | None,
               error: str | None = None) -> None:
        """Marks a job done (or failed, with the reason)."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "UPDATE {} SET status = %s, summary = COALESCE(%s, summary), error = %s, "
                "bytes_read = CASE WHEN %s THEN bytes_total ELSE bytes_read END, "
                "updated_at = now() WHERE id = %s").format(table),
                (FAILED if error else DONE, json.dumps(summary) if summary else None, error,
                 error is None, job_id))

    def get(self, schema: str, job_id: UUID) -> dict[str, Any] | None:
        """A job of the tenant, or None."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL(
                "SELECT id, status, format, bytes_total, bytes_read, summary, error, started_at, "
                "updated_at FROM {} WHERE id = %s").format(table),
                (job_id,)).fetchone()
        return dict(row) if row else None
