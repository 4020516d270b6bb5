"""The relay: every tenant's notification log, in order, into NATS JetStream.

Each schema with an `events` table is one log. The relay reads past its recorded position,
publishes each event to `cs.<tenant>.<aggregate>.<event>` with the message id
`<tenant>:<notification id>` (JetStream drops a republished one), and records the new
position only after JetStream has acknowledged. eventsourcing's insert takes an exclusive
table lock, so notification ids commit in order and reading past the position skips
nothing. One relay is active at a time (a PostgreSQL advisory lock held on its own
connection); a standby polls for the lock and takes over when the active one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import nats
import psycopg
from nats.js.api import PubAck, StreamConfig
from nats.js.errors import NotFoundError
from psycopg import sql

from infra.eventstore import EVENTS_CHANNEL
from infra.metrics import EVENTS_RELAYED
from infra.nats import connect, ensure_replicated, log_error

log = logging.getLogger(__name__)

STREAM = "CS_EVENTS"
SUBJECTS = "cs.>"
RELAY_LOCK_KEY = 0x43530001  # an arbitrary, fixed advisory lock id: "CS" relay
POSITIONS_SCHEMA = "relay"
Conn = psycopg.AsyncConnection[tuple[object, ...]]
Log = tuple[int, str]  # a server's index (0: the default) and a schema on it


@dataclass
class RelayStats:
    """What the relay has done since it started."""

    published: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)


async def ensure_events_stream(js: nats.js.JetStreamContext, stream: str, prefix: str,
                               duplicate_window_s: float = 3600, replicas: int = 1) -> None:
    """The events stream, created by whichever of relay and workers comes first, with the
    configured number of replicas (a stream found with another number is changed to it)."""
    await ensure_replicated(js, StreamConfig(name=stream, subjects=[f"{prefix}.>"],
                                             duplicate_window=duplicate_window_s,
                                             num_replicas=replicas))


class Sources:
    """The connections the relay reads logs through: the default server's (index 0, which
    also holds the lock and positions) and one per other server, made again when lost."""

    def __init__(self, default: Conn, others: Sequence[str]) -> None:
        self.urls = list(others)
        self._conns: list[Conn | None] = [default, *[None] * len(self.urls)]

    async def connect(self) -> int:
        """Connects to the other servers not connected; how many are."""
        for index, url in enumerate(self.urls, start=1):
            if self._conns[index] is None:
                try:
                    self._conns[index] = await psycopg.AsyncConnection.connect(
                        url, autocommit=True, connect_timeout=2)
                except (OSError, psycopg.OperationalError) as error:
                    log.warning("tenant server %d unreachable (%s); its logs wait", index,
                                str(error).splitlines()[0] if str(error) else error)
        return sum(1 for conn in self._conns[1:] if conn is not None)

    def connected(self) -> list[tuple[int, Conn]]:
        """The servers connected now, by index."""
        return [(i, conn) for i, conn in enumerate(self._conns) if conn is not None]

    def of(self, index: int) -> Conn:
        """The connection of a server (one lost since its logs were listed: an error)."""
        conn = self._conns[index]
        if conn is None:
            raise psycopg.OperationalError(f"tenant server {index} is not connected")
        return conn

    async def lost(self, index: int, error: BaseException) -> None:
        """Forgets a server's connection after an error; the next sweep connects again."""
        log.warning("tenant server %d lost (%s); its logs wait", index, error)
        conn, self._conns[index] = self._conns[index], None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        """Closes the other servers' connections (the default's belongs to the caller)."""
        for index in range(1, len(self._conns)):
            conn, self._conns[index] = self._conns[index], None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()


class RepublishRefusedError(RuntimeError):
    """The events stream holds messages, and republishing into it was not asked to replace it."""


def subject_for(tenant: str, topic: str, prefix: str = "cs") -> str:
    """`cs.<tenant>.<aggregate>.<event>` from an eventsourcing topic `module:Aggregate.Event`."""
    qualname = topic.rpartition(":")[2]
    aggregate, _, event = qualname.rpartition(".")
    return f"{prefix}.{tenant}.{aggregate or 'Unknown'}.{event}"


class Relay:
    """Publishes the event stores' notification logs to JetStream, leader-elected."""

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        tenant_of: Callable[[str], str],
        *,
        stream: str = STREAM,
        subject_prefix: str = "cs",
        batch: int = 1000,
        idle_s: float = 0.5,
        sweep_s: float = 1.0,
        duplicate_window_s: float = 3600,
        replicas: int = 1,
        ack_timeout_s: float = 10,
        servers: Sequence[str] = (),
    ) -> None:
        self.database_url = database_url
        self.servers = list(servers)  # the other servers' URLs, whose tenants' logs it relays
        self.nats_url = nats_url
        self.tenant_of = tenant_of
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.batch = batch
        self.idle_s = idle_s
        self.sweep_s = sweep_s
        self.duplicate_window_s = duplicate_window_s
        self.replicas = replicas
        self.ack_timeout_s = ack_timeout_s
        self.stats = RelayStats()
        self.leading = asyncio.Event()
        self._wake = asyncio.Event()
        self._nats_lost = asyncio.Event()  # the connection dropped: pending acks never come
        self._dirty: set[Log] = set()  # logs (server, schema) notified since the last pass
        self._sweep_asked = False  # a notification without a schema: read every log

    async def run(self, stop: asyncio.Event) -> None:
        """Waits to lead, then relays until `stop` is set; reconnects through outages."""
        while not stop.is_set():
            try:
                await self._lead_and_relay(stop)
            except (OSError, psycopg.OperationalError, nats.errors.Error) as error:
                self.leading.clear()
                log.warning("relay interrupted (%s); retrying in 1 s",
                            str(error) or type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)

    async def _lead_and_relay(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as conn:
            while not stop.is_set():
                row = await (await conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS locked", (RELAY_LOCK_KEY,)
                )).fetchone()
                if row and row[0]:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)
            if stop.is_set():
                return
            await self._prepare(conn)
            self._nats_lost.clear()
            sources = Sources(conn, self.servers)
            try:
                await self._relay_while_leading(conn, sources, stop)
            finally:
                await sources.close()

    async def _relay_while_leading(self, conn: Conn, sources: Sources,
                                   stop: asyncio.Event) -> None:
        nc = await connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=0,
                           allow_reconnect=False, error_cb=log_error,
                           disconnected_cb=self._on_nats_lost, closed_cb=self._on_nats_lost)
        listening = [asyncio.create_task(self._listen(url, index))
                     for index, url in enumerate([self.database_url, *self.servers])]
        try:
            js = nc.jetstream()
            await self._ensure_stream(js)
            self.leading.set()
            sweep, swept_at = True, 0.0  # every log at first, when idle, and each second
            while not stop.is_set():
                self._wake.clear()  # a commit from now on wakes the next idle wait
                # A commit notifies with its schema: a pass reads only the logs that
                # changed, however many tenants there are. A sweep reads them all, so a
                # notification lost (the listener reconnecting) delays a log by a second
                # at most, however busy the others keep the relay.
                sweep = sweep or time.monotonic() - swept_at >= self.sweep_s
                if sweep:
                    swept_at = time.monotonic()
                logs = await self._logs(sources) if sweep else sorted(self._dirty)
                self._dirty.clear()
                for index, schema in logs:
                    try:
                        moved = await self._relay_schema(conn, js, schema, sources.of(index))
                    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                        continue  # dropped since it notified or was listed: nothing to relay
                    except (OSError, psycopg.OperationalError) as error:
                        if index == 0:
                            raise  # the default server: the relay's lock went with it
                        await sources.lost(index, error)  # the others' logs go on
                        continue
                    if moved == self.batch:
                        self._dirty.add((index, schema))  # more than a batch waits there
                sweep = False
                if not self._dirty:
                    sweep = not await self._idle(stop)
        finally:
            self.leading.clear()
            for task in listening:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await nc.close()

    async def republish(self, *, replace: bool = False, wait_s: float = 30,
                        progress: Callable[[str, int], None] | None = None) -> RelayStats:
        """Publishes every log again from its start, in order, into the events stream: after
        the stream was lost, JetStream's copy is rebuilt from the event stores.

        It leads while it works: it takes the relay lock, ending the session of an active
        relay that holds it (the relays wait, then resume from the positions it records), so
        no other publisher interleaves a tenant's events. A stream that holds messages may
        be a partial log (a relay refills a lost stream with new events at once): `replace`
        deletes it first; otherwise RepublishRefusedError. `progress(tenant, published)`
        follows each log."""
        nc = await connect(self.nats_url, connect_timeout=2, allow_reconnect=False,
                           error_cb=log_error)
        try:
            js = nc.jetstream()
            await self._refuse_partial_stream(js, replace)
            async with await psycopg.AsyncConnection.connect(
                self.database_url, autocommit=True
            ) as conn:
                await self._take_lead(conn, wait_s)
                await self._refuse_partial_stream(js, replace)  # a relay may have just filled it
                await self._prepare(conn)
                if replace:  # only now: the relay that held the lock would refill it
                    with contextlib.suppress(NotFoundError):
                        await js.delete_stream(self.stream)
                await self._ensure_stream(js)
                await conn.execute("DELETE FROM relay.positions")
                sources = Sources(conn, self.servers)
                try:
                    if await sources.connect() < len(self.servers):
                        raise RepublishRefusedError(
                            "a tenant server is unreachable: every log must be republished; "
                            "try again when it answers")
                    for index, schema in await self._logs(sources):
                        before = self.stats.published
                        with contextlib.suppress(psycopg.errors.UndefinedTable):  # dropped since
                            while await self._relay_schema(conn, js, schema,
                                                           sources.of(index)) == self.batch:
                                pass
                        if progress is not None:
                            progress(self.tenant_of(schema), self.stats.published - before)
                finally:
                    await sources.close()
        finally:
            await nc.close()
        return self.stats

    async def _take_lead(self, conn: psycopg.AsyncConnection[tuple[object, ...]],
                         wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            row = await (await conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_KEY,))).fetchone()
            if row and row[0]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the relay lock was not free within {wait_s} s")
            # The active relay's lock session ends; its retry waits a second, the standbys
            # poll each second: this try comes first.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = 0 AND objid = %s AND granted AND pid <> pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (RELAY_LOCK_KEY,))
            await asyncio.sleep(0.05)

    async def _refuse_partial_stream(self, js: nats.js.JetStreamContext, replace: bool) -> None:
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            return
        if info.state.messages and not replace:
            raise RepublishRefusedError(
                f"stream {self.stream} holds {info.state.messages} messages, perhaps a partial "
                "log; republish --replace deletes it and publishes every log again")

    async def _on_nats_lost(self) -> None:
        self._nats_lost.set()

    async def _acked(self, acks: list[asyncio.Future[PubAck]]) -> None:
        """Waits for every ack. Those of a connection that dropped (its server died), or sent
        to a cluster node that died as the stream's leader, never come: the wait ends when
        the connection drops or after `ack_timeout_s` (the batch is retried; JetStream drops
        what it already has by message id)."""
        all_acked: asyncio.Future[Any] = asyncio.gather(*acks)
        lost: asyncio.Future[Any] = asyncio.ensure_future(self._nats_lost.wait())
        try:
            await asyncio.wait([all_acked, lost], timeout=self.ack_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not all_acked.done():
            all_acked.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await all_acked
            if self._nats_lost.is_set():
                raise ConnectionError("NATS connection lost before the batch was acknowledged")
            raise TimeoutError(f"no acknowledgement within {self.ack_timeout_s} s")
        all_acked.result()

    async def _listen(self, url: str, index: int) -> None:
        """Wakes the relay as soon as any event store of the server `index` commits (polling
        stays the fallback)."""
        with contextlib.suppress(OSError, psycopg.Error):
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
                async for note in conn.notifies():
                    if note.payload:
                        self._dirty.add((index, note.payload))
                    else:
                        self._sweep_asked = True
                    self._wake.set()

    async def _idle(self, stop: asyncio.Event) -> bool:
        """Waits for a commit to be notified, for `idle_s`, or for the stop; True when a
        notification naming its schema woke it."""
        stopping = asyncio.create_task(stop.wait())
        waking = asyncio.create_task(self._wake.wait())
        await asyncio.wait({stopping, waking}, timeout=self.idle_s,
                           return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, waking):
            task.cancel()
        woken = self._wake.is_set() and not self._sweep_asked
        self._sweep_asked = False
        return woken

    async def _prepare(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            sql.Identifier(POSITIONS_SCHEMA)))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS relay.positions "
            "(log text PRIMARY KEY, position bigint NOT NULL)"
        )

    async def _ensure_stream(self, js: nats.js.JetStreamContext) -> None:
        await ensure_events_stream(js, self.stream, self.subject_prefix,
                                   self.duplicate_window_s, self.replicas)

    async def _logs(self, sources: Sources) -> list[Log]:
        """Every log of every server that answers (one that does not is tried again at each
        sweep). A tenant moving has a copy on two servers: both are read, under the one
        position its log has (the copy holds the same events)."""
        await sources.connect()
        logs: list[Log] = []
        for index, source in sources.connected():
            try:
                rows = await (await source.execute(
                    "SELECT schemaname FROM pg_tables WHERE tablename = 'events' "
                    "ORDER BY schemaname")).fetchall()
            except (OSError, psycopg.OperationalError) as error:
                if index == 0:
                    raise
                await sources.lost(index, error)
                continue
            logs += [(index, str(r[0])) for r in rows]
        return logs

    async def _relay_schema(self, conn: Conn, js: nats.js.JetStreamContext, schema: str,
                            source: Conn) -> int:
        """Relays the next batch of the schema's log, read from `source`, its position kept
        on `conn` (the default server)."""
        row = await (await conn.execute(
            "SELECT position FROM relay.positions WHERE log = %s", (schema,)
        )).fetchone()
        position = int(row[0]) if row else 0  # type: ignore[call-overload]
        rows = await (await source.execute(
            sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(sql.Identifier(schema, "events")),
            (position, self.batch),
        )).fetchall()
        if not rows:
            return 0
        tenant = self.tenant_of(schema)
        acks = []
        previous = position
        for notification_id, originator_id, version, topic, state in rows:
            headers = {
                # The position before this one in the same log: consumers apply an event only
                # right after its predecessor, so no redelivery or reordering can skip one
                # (notification ids have gaps, so "position + 1" would not do).
                "Cs-Previous": str(previous),
                "Nats-Msg-Id": f"{tenant}:{notification_id}",
                "Cs-Tenant": tenant,
                "Cs-Position": str(notification_id),
                "Cs-Originator-Id": str(originator_id),
                "Cs-Originator-Version": str(version),
                "Cs-Topic": str(topic),
            }
            subject = subject_for(tenant, str(topic), self.subject_prefix)
            previous = cast(int, notification_id)
            acks.append(await js.publish_async(subject, cast(bytes, state), stream=self.stream,
                                               headers=headers))
        await self._acked(acks)
        last = int(rows[-1][0])  # type: ignore[call-overload]
        await conn.execute(
            "INSERT INTO relay.positions (log, position) VALUES (%s, %s) "
            "ON CONFLICT (log) DO UPDATE SET position = EXCLUDED.position",
            (schema, last),
        )
        EVENTS_RELAYED.labels(tenant).inc(len(rows))
        self.stats.published += len(rows)
        self.stats.by_tenant[tenant] = self.stats.by_tenant.get(tenant, 0) + len(rows)
        return len(rows)
