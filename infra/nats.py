"""NATS JetStream: one client per process, reconnecting on its own.

`NATS_URL` may name one server or a cluster's seeds, comma-separated
(`nats://a:4222,nats://b:4222,nats://c:4222`): the client connects to any that answers,
learns the rest of the cluster from it, and fails over to another when its server goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)
_SCHEMES = ("nats://", "tls://", "ws://", "wss://")


class NatsUrlError(ValueError):
    """NATS_URL names no server, or a server in a form the client cannot reach."""


def seed_urls(url: str) -> list[str]:
    """The servers a comma-separated NATS_URL names, in order; NatsUrlError names a bad one."""
    seeds = [part.strip() for part in url.split(",")]
    if not any(seeds):
        raise NatsUrlError("NATS_URL names no server (expected nats://host:port[,...])")
    for position, seed in enumerate(seeds, start=1):
        if not seed:
            raise NatsUrlError(f"NATS_URL: server {position} of {len(seeds)} is empty "
                               "(two commas in a row, or a trailing comma)")
        if not seed.startswith(_SCHEMES):
            raise NatsUrlError(f"NATS_URL: server {position} ({seed!r}) must start with "
                               f"one of {', '.join(_SCHEMES)}")
        try:
            parsed = urlsplit(seed)
            parsed.port  # noqa: B018 (parsing the port is the check)
        except ValueError:
            parsed = None
        if parsed is None or not parsed.hostname:
            raise NatsUrlError(f"NATS_URL: server {position} ({seed!r}) is not "
                               "scheme://host[:port]")
    return seeds


async def connect(url: str, **options: Any) -> Client:
    """A client of the server, or of the cluster, NATS_URL names (`nats.connect` options)."""
    return await nats.connect(servers=seed_urls(url), **options)


async def log_error(error: Exception) -> None:
    """nats-py's default error callback prints a traceback per failed connect; one line does."""
    log.warning("nats: %s", error or type(error).__name__)


async def ensure_replicated(js: JetStreamContext, config: StreamConfig) -> None:
    """Creates the stream, or gives the existing one the configured replica count."""
    name = str(config.name)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        with contextlib.suppress(BadRequestError):  # another process won
            await js.add_stream(config)
        return
    have, want = info.config.num_replicas or 1, config.num_replicas or 1
    if have != want:
        log.warning("stream %s has %d replicas, the configuration asks %d: changing it",
                    name, have, want)
        await js.update_stream(replace(info.config, num_replicas=want))


class Nats:
    """A NATS connection that keeps trying in the background while the server is away."""

    def __init__(self, url: str) -> None:
        seed_urls(url)  # a malformed NATS_URL fails here, not in a background retry loop
        self.url = url
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connects now if the server is there, otherwise keeps trying in the background."""
        if not await self._try_connect():
            self._task = asyncio.create_task(self._connect_until_up())

    async def _try_connect(self) -> bool:
        try:
            self.client = await connect(
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


def tenant_subjects(prefix: str, tenant: str) -> str:
    """The subjects of one tenant's events (`relay.subject_for`'s)."""
    return f"{prefix}.{tenant}.>"


def purge_tenant_events(url: str, stream: str, prefix: str, tenant: str) -> None:
    """Removes a deleted tenant's events from the events stream, so that no consumer made
    later (a rebuild's, a new worker's) replays them into the read models."""

    async def purge() -> None:
        client = await connect(url)
        try:
            with contextlib.suppress(NotFoundError):  # no stream: nothing was published
                await client.jetstream().purge_stream(stream,
                                                      subject=tenant_subjects(prefix, tenant))
        finally:
            await client.close()

    asyncio.run(purge())
