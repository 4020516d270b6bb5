"""The ISO 18626 outbox against real peers (local HTTP servers) and a real PostgreSQL: a slow
peer holds up neither the other peers' messages nor a database connection, and one peer's
messages go in order, none overtaking one that failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import psycopg
import pytest

from infra.database import Database
from infra.ill_outbox import IllOutbox
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.postgres]
__all__ = ["database_url"]
OK = (b'<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626">'
      b"<confirmationHeader><messageStatus>OK</messageStatus></confirmationHeader>"
      b"</ISO18626Message>")


class _Peer(BaseHTTPRequestHandler):
    """A library's ISO 18626 endpoint: records what it gets and when; answers as told."""

    received: ClassVar[list[tuple[str, bytes, float]]] = []
    slow_s: ClassVar[dict[str, float]] = {}
    failing: ClassVar[set[str]] = set()
    during_slow: ClassVar[list[bool]] = []  # could the sender's pool lend a connection?
    database: ClassVar[Database | None] = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path in self.slow_s:
            assert self.database is not None
            try:
                with self.database.pool.connection(timeout=self.slow_s[self.path] / 2):
                    self.during_slow.append(True)
            except Exception:  # noqa: BLE001 (the pool's timeout: the connection is held)
                self.during_slow.append(False)
            time.sleep(self.slow_s[self.path])
        self.received.append((self.path, body, time.monotonic()))
        self.send_response(500 if self.path in self.failing else 200)
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.wfile.write(OK)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def outbox(database_url: str) -> Iterator[tuple[IllOutbox, str]]:
    """An outbox on a database of its own whose pool has one connection, and the base URL
    of a local peer server."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA office")
    database = Database(database_url, 1)
    box = IllOutbox(database, first_wait=timedelta(seconds=0))
    box.create()
    _Peer.received, _Peer.slow_s, _Peer.failing, _Peer.during_slow = [], {}, set(), []
    _Peer.database = database
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield box, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        database.close()


def test_a_slow_peer_holds_up_neither_other_peers_nor_a_connection(
        outbox: tuple[IllOutbox, str]) -> None:
    box, base = outbox
    now = datetime.now(UTC)
    _Peer.slow_s["/slow"] = 1.5
    box.queue("east", 1, f"{base}/slow", b"<first/>", now - timedelta(seconds=2))
    box.queue("west", 1, f"{base}/fast", b"<second/>", now - timedelta(seconds=1))

    assert box.send_due(now) == 2

    got = {path: at for path, _, at in _Peer.received}
    assert got["/fast"] < got["/slow"] - 1  # not queued behind the slow peer's answer
    assert _Peer.during_slow == [True]  # the pool's one connection was free meanwhile
    assert all(row["sent_at"] is not None for t in ("east", "west") for row in box.pending(t))


def test_one_peers_messages_go_in_order_and_none_overtakes_a_failure(
        outbox: tuple[IllOutbox, str]) -> None:
    box, base = outbox
    now = datetime.now(UTC)
    for position in (1, 2, 3):
        box.queue("east", position, f"{base}/peer", f"<m{position}/>".encode(),
                  now - timedelta(seconds=10 - position))
    _Peer.failing.add("/peer")

    assert box.send_due(now) == 0
    assert [body for _, body, _ in _Peer.received] == [b"<m1/>"]  # the rest wait behind it
    first, second, third = box.pending("east")
    assert (first["attempts"], first["sent_at"], second["attempts"], third["attempts"]) == (
        1, None, 0, 0)
    assert "500" in first["last_error"]

    _Peer.failing.clear()
    assert box.send_due(now + timedelta(seconds=5)) == 3
    assert [body for _, body, _ in _Peer.received] == [b"<m1/>", b"<m1/>", b"<m2/>", b"<m3/>"]
    assert box.send_due(now + timedelta(seconds=10)) == 0  # each sent once
