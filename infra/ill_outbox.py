"""The outbox of ISO 18626 messages to libraries outside the consortium. A message is queued
once per source event (tenant, position), written before anything is sent; a sender posts
what is due, marks it sent, and after a failure (the peer down, an error status, a
confirmation with messageStatus ERROR) tries again later, waiting twice as long each time up
to an hour. A message is re-sent only when its peer's answer was not recorded, and then
byte for byte the same (the same timestamp), so the peer sees one message, not two.

Senders claim what is due with a lease (no connection is held while a peer answers), post
to different peers at once (a slow peer delays only its own messages), and post a member's
messages to one peer in the order they were queued: after a failure the member's later
messages to that peer wait for it (a peer that keeps refusing one message holds up that
member's later messages to it, and only those)."""

from __future__ import annotations

import logging
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
PEERS_AT_ONCE = 8  # peers posted to at the same time by one sender
LEASE_MARGIN_S = 30  # a claim outlives the post's timeout by this much, then lapses
CLAIM_LOCK_KEY = 0x43530005  # senders claim one at a time (an advisory lock: "CS" outbox)


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
            conn.execute(sql.SQL(  # a sender's claim on a message it is posting
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS leased_until timestamptz").format(TABLE))

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
        by_peer: dict[tuple[str, str], list[Outgoing]] = {}
        for message in self._claim(now, limit):
            by_peer.setdefault((message.tenant, message.endpoint), []).append(message)
        if not by_peer:
            return 0
        with ThreadPoolExecutor(max_workers=min(PEERS_AT_ONCE, len(by_peer)),
                                thread_name_prefix="iso18626-out") as pool:
            return sum(pool.map(lambda queue: self._send_in_order(queue, now),
                                by_peer.values()))

    def _claim(self, now: datetime, limit: int) -> list[Outgoing]:
        """The messages due that no other sender holds, leased to this one, in the order
        they were queued. A member's message to a peer waits while an earlier one of the
        same member to the same peer is not due (it failed) or is held by another sender."""
        with self.database.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLAIM_LOCK_KEY,))
            rows = conn.execute(sql.SQL(
                "UPDATE {t} o SET leased_until = clock_timestamp() + make_interval(secs => %s) "
                "FROM (SELECT tenant, position FROM {t} c WHERE sent_at IS NULL "
                "AND next_at <= %s AND (leased_until IS NULL OR leased_until < clock_timestamp()) "
                "AND NOT EXISTS (SELECT 1 FROM {t} e WHERE e.tenant = c.tenant "
                "AND e.endpoint = c.endpoint AND e.sent_at IS NULL AND e.position < c.position "
                "AND (e.next_at > %s OR e.leased_until >= clock_timestamp())) "
                "ORDER BY queued_at, position LIMIT %s) due "
                "WHERE o.tenant = due.tenant AND o.position = due.position "
                "RETURNING o.tenant, o.position, o.endpoint, o.body, o.attempts, o.queued_at"
            ).format(t=TABLE), (self.timeout_s + LEASE_MARGIN_S, now, now, limit)).fetchall()
        rows.sort(key=lambda r: (r["queued_at"], r["tenant"], r["position"]))
        return [Outgoing(r["tenant"], r["position"], r["endpoint"], bytes(r["body"]),
                         r["attempts"]) for r in rows]

    def _send_in_order(self, queue: list[Outgoing], now: datetime) -> int:
        """One peer's claimed messages posted in order; after a failure the rest wait (their
        claims given up) so that none overtakes it. How many went."""
        for done, message in enumerate(queue):
            problem = self._post(message)
            if problem is None:
                self._update(message, "sent_at = %s, attempts = attempts + 1, "
                                      "last_error = NULL, leased_until = NULL", now)
                continue
            wait = min(self.first_wait * (2 ** message.attempts), LONGEST_WAIT)
            self._update(message, "attempts = attempts + 1, next_at = %s, last_error = %s, "
                                  "leased_until = NULL", now + wait, problem[:500])
            log.warning("an ISO 18626 message of %s to %s failed (%s); next try in %s",
                        message.tenant, message.endpoint, problem, wait)
            for later in queue[done + 1:]:
                self._update(later, "leased_until = NULL")
            return done
        return len(queue)

    def _update(self, message: Outgoing, assignments: str, *values: Any) -> None:
        with self.database.connection() as conn:
            conn.execute(sql.SQL("UPDATE {} SET " + assignments  # noqa: S608 (ours, fixed)
                                 + " WHERE tenant = %s AND position = %s").format(TABLE),
                         (*values, message.tenant, message.position))

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
