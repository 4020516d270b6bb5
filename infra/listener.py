"""PostgreSQL LISTEN on one channel, in a thread of its own: every process hears what any
process announces (a revoked client, a suspended tenant) within milliseconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


def announce(conn: psycopg.Connection[object], channel: str, payload: str) -> None:
    """Sends a notification on the channel (delivered when the connection's work commits)."""
    conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


class ChannelListener:
    """Calls `on_message(payload)` for each notification on `channel`, and `on_message(None)`
    whenever it (re)connects, since notifications sent while it was away are lost."""

    def __init__(self, database_url: str, channel: str,
                 on_message: Callable[[str | None], None]) -> None:
        self.database_url = database_url
        self.channel = channel
        self.on_message = on_message
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout_s: float) -> bool:
        """True once the listener is connected (tests wait for it before announcing)."""
        return self._listening.wait(timeout_s)

    def close(self) -> None:
        """Stops listening (within a second)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.on_message(None)
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.on_message(note.payload)
            except psycopg.Error as error:
                self._listening.clear()
                self.on_message(None)
                if self._stop.is_set():
                    return
                log.warning("listening on %s failed (%s); retrying in 1 s", self.channel, error)
                time.sleep(1.0)
