"""Where MARC import jobs keep their progress: `<tenant schema>.imports`, so any API replica
can answer for a job and a tenant sees only its own.

A job runs in the API process that took the upload; that process beats a heartbeat
(`public.cs_processes`) while it lives. A job still "running" whose process has stopped
beating is reported "interrupted", with what to do, instead of running forever.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID, uuid4

from psycopg import sql

from infra.database import Database, TenantTable

RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
HEARTBEAT_S = 10  # how often a live API process says so
GONE_AFTER_S = 60  # a process silent this long has stopped
PROCESSES = sql.Identifier("public", "cs_processes")


class ImportJobs:
    """The import jobs of every tenant, each in its tenant's schema."""

    def __init__(self, database: Database, owner: UUID | None = None) -> None:
        self.database = database
        self.owner = owner or uuid4()  # this process, as its jobs and heartbeats name it
        self._upgraded: set[str] = set()
        self._processes_ready = False
        self._jobs = TenantTable(database, "imports",
                                 "id uuid PRIMARY KEY, client_id text NOT NULL, "
                                 "format text NOT NULL, bytes_total bigint NOT NULL, "
                                 "bytes_read bigint NOT NULL DEFAULT 0, status text NOT NULL, "
                                 "summary jsonb, error text, "
                                 "started_at timestamptz NOT NULL DEFAULT now(), "
                                 "updated_at timestamptz NOT NULL DEFAULT now(), owner uuid")

    def _table(self, schema: str) -> sql.Identifier:
        table = self._jobs.of(schema)
        if schema not in self._upgraded:  # a table made by an earlier version
            with self.database.ddl() as conn:
                conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS owner uuid")
                             .format(table))
            self._upgraded.add(schema)
        self._ensure_processes()
        return table

    def _ensure_processes(self) -> None:
        if not self._processes_ready:
            with self.database.ddl() as conn:
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (owner uuid PRIMARY KEY, "
                                     "seen_at timestamptz NOT NULL)").format(PROCESSES))
            self._processes_ready = True

    def heartbeat(self) -> None:
        """Says this process is alive (its jobs are not interrupted)."""
        self._ensure_processes()
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (owner, seen_at) VALUES (%s, now()) ON CONFLICT (owner) "
                "DO UPDATE SET seen_at = now()").format(PROCESSES), (self.owner,))
            conn.execute(sql.SQL("DELETE FROM {} WHERE seen_at < now() - interval '1 day'")
                         .format(PROCESSES))

    def start(self, schema: str, job_id: UUID, client_id: str, fmt: str, size: int) -> None:
        """Records a job that is about to run."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (id, client_id, format, bytes_total, status, owner) "
                "VALUES (%s, %s, %s, %s, %s, %s)").format(table),
                (job_id, client_id, fmt, size, RUNNING, self.owner))

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
        """A job of the tenant, or None; "interrupted" when its process has stopped."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL(_SELECT + "WHERE j.id = %s").format(table, PROCESSES),
                               (GONE_AFTER_S, job_id)).fetchone()
        return None if row is None else _as_seen(dict(row))

    def list(self, schema: str, limit: int,
             before: tuple[datetime, UUID] | None = None) -> list[dict[str, Any]]:
        """The tenant's jobs, newest first: `limit` of them, started before `before`
        (started_at, id: the last one of the previous page)."""
        table = self._table(schema)  # before the connection: it may need one
        where = sql.SQL("WHERE (j.started_at, j.id) < (%s, %s) " if before else "")
        with self.database.connection() as conn:
            rows = conn.execute(
                sql.SQL(_SELECT).format(table, PROCESSES) + where + sql.SQL(
                    "ORDER BY j.started_at DESC, j.id DESC LIMIT %s"),
                (GONE_AFTER_S, *(before or ()), limit)).fetchall()
        return [_as_seen(dict(row)) for row in rows]


_SELECT: LiteralString = (
    "SELECT j.id, j.client_id, j.status, j.format, j.bytes_total, j.bytes_read, j.summary, "
    "j.error, j.started_at, j.updated_at, j.owner IS NOT NULL AND "
    "coalesce(p.seen_at < now() - make_interval(secs => %s), true) AS gone "
    "FROM {} AS j LEFT JOIN {} AS p ON p.owner = j.owner ")


def _as_seen(job: dict[str, Any]) -> dict[str, Any]:
    """A job row as reported: "interrupted" when its process has stopped beating."""
    if job.pop("gone") and job["status"] == RUNNING:
        job["status"] = INTERRUPTED
        job["error"] = (
            f"the import stopped after {job['bytes_read']:,} of {job['bytes_total']:,} "
            "bytes: the service process running it ended. The records of the batches "
            "before that are imported; upload the file again to finish (records already "
            "imported are recognized and left as they are)")
    return job
