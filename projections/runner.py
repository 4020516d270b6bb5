"""Projection workers: durable JetStream pull consumers that apply events exactly once.

A worker fetches a batch, and in one PostgreSQL transaction applies every event whose
predecessor (`Cs-Previous`) is the tenant's tracked position, records the new positions,
then commits and acks. An event already applied (position <= tracked) is acked and skipped;
one whose predecessor has not been applied yet (another worker holds it, or it is being
redelivered) is nak'ed with a short delay and comes back. So a crash at any point, a
redelivery, or several workers at once never apply an event twice or skip one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass

import nats
import psycopg
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import FetchTimeoutError

from infra.database import DDL_LOCK_KEY
from infra.metrics import EVENTS_APPLIED, EVENTS_DEFERRED, EVENTS_FAILED
from infra.nats import connect, log_error
from infra.relay import ensure_events_stream
from projections.framework import EventRecord, Projection
from projections.postgres import (
    active_generations,
    create_tracking,
    lock_all_positions,
    notify_applied,
    track_all,
)

log = logging.getLogger(__name__)


def record_of(msg: Msg) -> EventRecord:
    """The event a relayed message carries."""
    headers = msg.headers or {}
    return EventRecord(
        tenant=headers["Cs-Tenant"],
        position=int(headers["Cs-Position"]),
        previous=int(headers["Cs-Previous"]),
        originator_id=headers["Cs-Originator-Id"],
        originator_version=int(headers["Cs-Originator-Version"]),
        topic=headers["Cs-Topic"],
        state=msg.data,
    )


@dataclass
class WorkerStats:
    """What a worker did since it started."""

    applied: int = 0
    skipped_duplicates: int = 0
    deferred: int = 0
    failed: int = 0


class ProjectionWorker:
    """Feeds projections from the events stream: one, or several sharing one consumer
    (each message fetched, parsed and acked once for all of them; each projection still
    tracks its own positions, in the same transaction as its writes)."""

    def __init__(
        self, projections: Projection | list[Projection], database_url: str, nats_url: str,
        *, stream: str = "CS_EVENTS", subject_prefix: str = "cs", batch: int = 256,
        ack_wait_s: float = 10, failure_delay_s: float = 5, replicas: int = 1,
    ) -> None:
        members = projections if isinstance(projections, list) else [projections]
        self.members = sorted(members, key=lambda p: p.name)  # one lock order for all
        self.database_url = database_url
        self.nats_url = nats_url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.batch = batch
        # A batch a dead worker held comes back after ack_wait; batches take milliseconds.
        self.ack_wait_s = ack_wait_s
        self.failure_delay_s = failure_delay_s
        self.replicas = replicas  # of the events stream, should this worker create it
        self.stats = WorkerStats()

    @property
    def projection(self) -> Projection:
        """The first (for a single projection: the) projection this worker feeds."""
        return self.members[0]

    @property
    def name(self) -> str:
        """The projections fed, by name."""
        return ", ".join(p.name for p in self.members)

    @property
    def durable(self) -> str:
        """The JetStream consumer of these projections' current generations: a rebuild
        gives the new generation a consumer of its own, which replays the stream."""
        if len(self.members) == 1:
            return f"projection_{self.projection.name}_g{self.projection.generation}"
        spec = ",".join(f"{p.name}:{p.generation}" for p in self.members)
        return "projections_" + hashlib.sha256(spec.encode()).hexdigest()[:16]

    def _follow_generation(self, conn: psycopg.Connection[tuple[object, ...]]) -> bool:
        """Switches to the generations that serve; True if any changed."""
        with conn.cursor() as cur:
            serving = active_generations(cur, [p.name for p in self.members])
        conn.commit()
        generations = [serving[p.name] for p in self.members]
        if generations == [p.generation for p in self.members]:
            return False
        self.members = [type(p)(generation=g) for p, g in zip(self.members, generations,
                                                              strict=True)]
        return True

    def prepare(self) -> None:
        """Creates the tracking table and the projection's tables."""
        with psycopg.connect(self.database_url) as conn, conn.transaction(), conn.cursor() as cur:
            # Several workers start at once; IF NOT EXISTS alone still races in the catalog.
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            create_tracking(cur)
            for projection in self.members:
                projection.create_tables(cur)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set, reconnecting through outages."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.prepare)
                await self._consume(stop)
            except (OSError, psycopg.Error, nats.errors.Error) as error:
                log.warning("projection %s interrupted (%s); retrying", self.name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)

    async def _consume(self, stop: asyncio.Event) -> None:
        with psycopg.connect(self.database_url) as conn:
            await asyncio.to_thread(self._follow_generation, conn)
        nc = await connect(self.nats_url, connect_timeout=2, allow_reconnect=False,
                           error_cb=log_error)
        try:
            js = nc.jetstream()
            await ensure_events_stream(js, self.stream, self.subject_prefix,
                                       replicas=self.replicas)
            sub = await js.pull_subscribe(
                f"{self.subject_prefix}.>", durable=self.durable, stream=self.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s,
                                      max_ack_pending=10_000),
            )
            with psycopg.connect(self.database_url) as conn:
                while not stop.is_set():
                    try:
                        msgs = await sub.fetch(self.batch, timeout=0.5)
                    except (FetchTimeoutError, TimeoutError):
                        if await asyncio.to_thread(self._follow_generation, conn):
                            return  # a rebuild switched generations: consume the new one
                        continue
                    if not await self._handle(conn, msgs):
                        return  # a rebuild switched generations: consume the new one
        finally:
            await nc.close()

    async def _handle(self, conn: psycopg.Connection[tuple[object, ...]],
                      msgs: list[Msg]) -> bool:
        """Applies a fetched batch and acks or hands back each message; False when a rebuild
        switched generations (the batch is handed back for the new generation)."""
        if await asyncio.to_thread(self._follow_generation, conn):
            # The old generation's tables may be gone already: the new one replays these.
            for msg in msgs:
                await msg.nak()
            return False
        try:
            outcomes = await asyncio.to_thread(self._apply_batch, conn, msgs)
        except psycopg.OperationalError:
            for msg in msgs:  # hand the batch back at once rather than after ack_wait
                await msg.nak(delay=0.5)
            raise
        except Exception:  # noqa: BLE001 (a projection's bug or a bad event)
            outcomes = await asyncio.to_thread(self._apply_by_tenant, conn, msgs)
        for msg, outcome in zip(msgs, outcomes, strict=True):
            if outcome == "defer":
                await msg.nak(delay=0.2)
            elif outcome == "failed":
                await msg.nak(delay=self.failure_delay_s)
            else:
                await msg.ack()
        return True

    def _apply_by_tenant(self, conn: psycopg.Connection[tuple[object, ...]],
                         msgs: list[Msg]) -> list[str]:
        """After a batch failed: each tenant's events, and each projection, on their own, so
        a bad event holds back one projection of one tenant (its events stay in order
        behind it; the lag shows it) while everything else moves on."""
        by_tenant: dict[str, list[int]] = {}
        for index, msg in enumerate(msgs):
            by_tenant.setdefault((msg.headers or {}).get("Cs-Tenant", ""), []).append(index)
        outcomes = ["duplicate"] * len(msgs)
        for tenant, indexes in by_tenant.items():
            group = [msgs[i] for i in indexes]
            for projection in self.members:
                try:
                    results = self._apply_batch(conn, group, [projection])
                except psycopg.OperationalError:
                    raise
                except Exception:
                    first = group[0].headers or {}
                    log.exception("projection %s cannot apply tenant %s's events from "
                                  "position %s (%s); retrying in %s s", projection.name,
                                  tenant, first.get("Cs-Position"), first.get("Cs-Topic"),
                                  self.failure_delay_s)
                    EVENTS_FAILED.labels(projection.name, tenant).inc(len(group))
                    self.stats.failed += len(group)
                    results = ["failed"] * len(group)
                for i, result in zip(indexes, results, strict=True):
                    outcomes[i] = _combined(outcomes[i], result)
        return outcomes

    def _apply_batch(self, conn: psycopg.Connection[tuple[object, ...]], msgs: list[Msg],
                     members: list[Projection] | None = None) -> list[str]:
        """Applies what can be applied, in one transaction; says what to do with each
        message (for several projections: the most cautious of their answers)."""
        records = [record_of(msg) for msg in msgs]
        tenants = {r.tenant for r in records}
        outcomes = ["duplicate"] * len(records)
        applied_by: dict[str, int] = {}
        chosen = members or self.members
        with conn.transaction(), conn.cursor() as cur:
            locked = lock_all_positions(cur, [(p.name, p.generation) for p in chosen], tenants)
            moved: list[tuple[str, int, str, int]] = []
            for projection in chosen:
                name, generation = projection.name, projection.generation
                tracked = locked[(name, generation)]
                applicable: list[EventRecord] = []
                for i, record in enumerate(records):
                    current = tracked[record.tenant]
                    if record.position <= current:
                        mine = "duplicate"
                    elif record.previous != current:
                        mine = "defer"
                    else:
                        if projection.handles(record):
                            applicable.append(record)
                        tracked[record.tenant] = record.position
                        mine = "applied"
                        applied_by[name] = applied_by.get(name, 0) + 1
                    outcomes[i] = _combined(outcomes[i], mine)
                projection.apply_batch(cur, applicable)
                moved += [(name, generation, t, p) for t, p in tracked.items()]
            track_all(cur, moved)
            notify_applied(cur)
        for name, count in applied_by.items():
            EVENTS_APPLIED.labels(name).inc(count)
        EVENTS_DEFERRED.labels(self.name).inc(outcomes.count("defer"))
        self.stats.applied += outcomes.count("applied")
        self.stats.skipped_duplicates += outcomes.count("duplicate")
        self.stats.deferred += outcomes.count("defer")
        return outcomes


_CAUTION = {"duplicate": 0, "applied": 1, "defer": 2, "failed": 3}


def _combined(so_far: str, answer: str) -> str:
    """What to do with a message several projections answered for: ack only when none
    still needs it again (a projection that applied it skips it as a duplicate then)."""
    return answer if _CAUTION[answer] > _CAUTION[so_far] else so_far
