"""NATS JetStream: one client per process, reconnecting on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)


async def log_error(error: Exception) -> None:
    """nats-py's default error callback prints a traceback per failed connect; one line does."""
    log.warning("nats: %s", error or type(error).__name__)


class Nats:
    """A NATS connection that keeps trying in the background while the server is away."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connects now if the server is there, otherwise keeps trying in the background."""
        if not await self._try_connect():
            self._task = asyncio.create_task(self._connect_until_up())

    async def _try_connect(self) -> bool:
        try:
            self.client = await nats.connect(
                self.url, connect_timeout=2, max_reconnect_attempts=-1,
                reconnect_time_wait=1, allow_reconnect=True, error_cb=log_error,
            )
        except Exception:  # noqa: BLE001 (any failure to connect means: try again later)
            return False
        return True

    async def _connect_until_up(self) -> None:
        while not await self._try_connect():  # noqa: ASYNC110 (polling a remote server)
            await asyncio.sleep(1)

    async def ready(self) -> bool:
        """True if the server answers a JetStream account query within a second."""
        if self.client is None or not self.client.is_connected:
            return False
        try:
            await self.client.jetstream(timeout=1).account_info()
        except Exception:  # noqa: BLE001 (readiness only reports; the cause is in the logs)
            return False
        return True

    async def close(self) -> None:
        """Stops connecting and closes the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
