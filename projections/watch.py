"""Read-your-writes without hammering the database: one thread per process watches the
projections' positions for every request that waits, woken by the workers' NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter

import psycopg

from projections.postgres import APPLIED_CHANNEL, applied_positions

Key = tuple[str, str]  # (projection, tenant)


class AppliedWatch:
    """Waits until projections have applied a tenant's log up to a position."""

    def __init__(self, database_url: str, fallback_s: float = 0.01) -> None:
        self.database_url = database_url
        self.fallback_s = fallback_s  # re-read this often even without a notification
        self._cond = threading.Condition()
        self._waiting: Counter[Key] = Counter()
        self._positions: dict[Key, int] = {}
        self._async: dict[Key, list[tuple[int, asyncio.AbstractEventLoop,
                                          asyncio.Future[None]]]] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def wait(self, projection: str, tenant: str, target: int, timeout_s: float) -> bool:
        """True once the projection has applied the tenant's log up to `target`; False on
        timeout."""
        key = (projection, tenant)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._ensure_thread()
            self._waiting[key] += 1
            self._cond.notify_all()  # the watcher reads the new key at once
            try:
                while self._positions.get(key, 0) < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._waiting[key] -= 1
                if self._waiting[key] <= 0:
                    del self._waiting[key]

    async def wait_async(self, projection: str, tenant: str, target: int,
                         timeout_s: float) -> bool:
        """`wait` for an event loop: holds no thread while it waits (a request waiting for a
        slow projection never starves the others of threads), and is woken by the watcher
        rather than polling, so a thousand waiting requests cost the loop nothing."""
        key = (projection, tenant)
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        waiter = (target, loop, woken)
        with self._cond:
            if self._positions.get(key, 0) >= target:
                return True
            self._ensure_thread()
            self._waiting[key] += 1
            self._async.setdefault(key, []).append(waiter)
            self._cond.notify_all()  # the watcher reads the new key at once
        try:
            await asyncio.wait_for(woken, timeout_s)
        except TimeoutError:
            return False
        else:
            return True
        finally:
            with self._cond:
                waiters = self._async.get(key, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._async.pop(key, None)
                self._waiting[key] -= 1
                if self._waiting[key] <= 0:
                    del self._waiting[key]

    def _wake_async(self) -> None:
        """Resolves the futures of waiters whose position has been reached (under _cond)."""
        for key, waiters in self._async.items():
            position = self._positions.get(key, 0)
            for target, loop, woken in waiters:
                if position >= target and not woken.done():
                    with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                        loop.call_soon_threadsafe(_resolve, woken)

    def close(self) -> None:
        """Stops the watcher thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._watch, name="applied-watch",
                                            daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._closed:
            try:
                with psycopg.connect(self.database_url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {APPLIED_CHANNEL}")
                    self._follow(conn)
            except psycopg.Error:
                time.sleep(0.5)  # the database went away: waiters time out or retry

    def _follow(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        while not self._closed:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                keys = list(self._waiting)
            with conn.cursor() as cur:
                positions = applied_positions(cur, keys)
            with self._cond:
                self._positions.update(positions)
                self._cond.notify_all()
                self._wake_async()
            with contextlib.suppress(StopIteration):
                next(iter(conn.notifies(timeout=self.fallback_s, stop_after=1)))


def _resolve(woken: asyncio.Future[None]) -> None:
    if not woken.done():  # it may have timed out meanwhile
        woken.set_result(None)
