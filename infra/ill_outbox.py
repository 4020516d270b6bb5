"""The outbox of ISO 18626 messages to libraries outside the consortium. A message is queued
once per source event (tenant, position), written before anything is sent; a sender posts
what is due, marks it sent, and after a failure (the peer down, an error status, a
confirmation with messageStatus ERROR) tries again later, waiting twice as long each time up
to an hour. A message is re-sent only when its peer's answer was not recorded, and then
byte for byte the same (the same timestamp), so the peer sees one message, not two."""

from __future__ import annotations

import logging
import re
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from psycopg import sql

from infra.database import Database

log = logging.getLogger(__name__)
TABLE = sql.Identifier("office", "ill_outbox")
FIRST_WAIT = timedelta(seconds=2)
LONGEST_WAIT = timedelta(hours=1)
_ERROR = re.compile(rb"messageStatus>\s*ERROR\s*<")


@dataclass(frozen=True)
class Outgoing:
    """A message due to be sent."""

    tenant: str
    position: int
    endpoint: str
    body: bytes
    attempts: int


class IllOutbox:
    """Messages to outside libraries, in the office's schema (every member's)."""

    def __init__(self, database: Database, *, first_wait: timedelta = FIRST_WAIT,
                 timeout_s: float = 10) -> None:
        self.database = database
        self.first_wait = first_wait
        self.timeout_s = timeout_s

    def create(self) -> None:
        """Creates the table if it does not exist (when a process starts)."""
        with self.database.ddl() as conn:
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, position bigint NOT NULL, "
                "endpoint text NOT NULL, body bytea NOT NULL, queued_at timestamptz NOT NULL, "
                "attempts int NOT NULL DEFAULT 0, next_at timestamptz NOT NULL, "
                "sent_at timestamptz, last_error text, PRIMARY KEY (tenant, position))").format(
                    TABLE))

    def queue(self, tenant: str, position: int, endpoint: str, body: bytes,
              at: datetime) -> bool:
        """Queues a message once per source event; False when it was queued already."""
        with self.database.connection() as conn:
            cur = conn.execute(sql.SQL(
                "INSERT INTO {} (tenant, position, endpoint, body, queued_at, next_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(TABLE),
                (tenant, position, endpoint, body, at, at))
            return cur.rowcount == 1

    def send_due(self, now: datetime, limit: int = 50) -> int:
        """Sends the messages due (each claimed by one sender at a time); how many went."""
        sent = 0
        for _ in range(limit):
            with self.database.connection() as conn, conn.transaction():
                row = conn.execute(sql.SQL(
                    "SELECT tenant, position, endpoint, body, attempts FROM {} "
                    "WHERE sent_at IS NULL AND next_at <= %s ORDER BY next_at "
                    "LIMIT 1 FOR UPDATE SKIP LOCKED").format(TABLE), (now,)).fetchone()
                if row is None:
                    return sent
                message = Outgoing(row["tenant"], row["position"], row["endpoint"],
                                   bytes(row["body"]), row["attempts"])
                problem = self._post(message)
                if problem is None:
                    conn.execute(sql.SQL("UPDATE {} SET sent_at = %s, attempts = attempts + 1, "
                                         "last_error = NULL WHERE tenant = %s AND position = %s"
                                         ).format(TABLE), (now, message.tenant,
                                                           message.position))
                    sent += 1
                    continue
                wait = min(self.first_wait * (2 ** message.attempts), LONGEST_WAIT)
                conn.execute(sql.SQL("UPDATE {} SET attempts = attempts + 1, next_at = %s, "
                                     "last_error = %s WHERE tenant = %s AND position = %s"
                                     ).format(TABLE), (now + wait, problem[:500], message.tenant,
                                                       message.position))
                log.warning("an ISO 18626 message of %s to %s failed (%s); next try in %s",
                            message.tenant, message.endpoint, problem, wait)
        return sent

    def pending(self, tenant: str) -> list[dict[str, Any]]:
        """A tenant's messages, oldest first: position, attempts, sent at, last error."""
        with self.database.connection() as conn:
            rows = conn.execute(sql.SQL(
                "SELECT position, attempts, sent_at, last_error FROM {} WHERE tenant = %s "
                "ORDER BY position").format(TABLE), (tenant,)).fetchall()
        return [dict(r) for r in rows]

    def _post(self, message: Outgoing) -> str | None:
        """Posts a message; None when the peer confirmed it, what went wrong otherwise."""
        request = urllib.request.Request(  # noqa: S310 (endpoints are http(s), checked when registered)
            message.endpoint, data=message.body, method="POST",
            headers={"Content-Type": "application/xml"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                body = answer.read(1_000_000)
        except (URLError, OSError, ValueError) as error:
            return f"not delivered: {error}"
        if _ERROR.search(body):
            return "the peer answered ERROR"
        return None
