"""Projection workers: projections fed by infra's JetStream follower, exactly once in effect.

The follower (infra/follower.py) does the consuming, the contiguity by `Cs-Previous`, the
tracked positions and the failure isolation; here each event is decoded once into its
typed domain event for every projection of the worker, and the worker follows the serving
generations (a rebuild gives the new generation a consumer of its own, which replays).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor

from infra.follower import Follower, FollowerStats, Member, Relayed, Tracking
from projections.decoding import Decoder
from projections.framework import Delivery, Projection
from projections.postgres import SCHEMA, active_generations, create_generations, notify_applied

TRACKING = Tracking(SCHEMA, "tracking", member_column="projection",
                    cli="commonshelf projections")
# Logs shared by every member: a projection moves on past an event it parked there, whether it
# declares skip_poison or not, so one member's bad input never holds back everyone's reads.
SHARED_LOGS = frozenset({"office"})


class _Fed:
    """A projection as a follower's member: it takes the events it accepts."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def generation(self) -> int:
        return self.projection.generation

    @property
    def skip_poison(self) -> bool:
        return self.projection.skip_poison

    def apply(self, cur: Cursor[Any], events: list[Delivery]) -> None:
        self.projection.apply_batch(cur, [e for e in events if self.projection.accepts(e)])


class ProjectionWorker:
    """Feeds projections from the events stream: one, or several sharing one consumer (each
    message fetched, decoded and acked once for all of them; each projection still tracks
    its own positions, in the same transaction as its writes)."""

    def __init__(
        self, projections: Projection | list[Projection], database_url: str, nats_url: str,
        *, stream: str = "CS_EVENTS", subject_prefix: str = "cs", batch: int = 256,
        ack_wait_s: float = 10, failure_delay_s: float = 5, replicas: int = 1,
        poison_attempts: int = 3,
    ) -> None:
        chosen = projections if isinstance(projections, list) else [projections]
        self.projections = sorted(chosen, key=lambda p: p.name)
        self.decoder = Decoder()
        self.follower: Follower[Delivery] = Follower(
            self, TRACKING, database_url, nats_url, stream=stream,
            subject_prefix=subject_prefix, batch=batch, ack_wait_s=ack_wait_s,
            failure_delay_s=failure_delay_s, replicas=replicas,
            poison_attempts=poison_attempts, shared_logs=SHARED_LOGS)

    @property
    def stats(self) -> FollowerStats:
        """What the worker did since it started."""
        return self.follower.stats

    @property
    def projection(self) -> Projection:
        """The first (for a single projection: the) projection this worker feeds."""
        return self.projections[0]

    @property
    def name(self) -> str:
        """The projections fed, by name."""
        return ", ".join(p.name for p in self.projections)

    @property
    def members(self) -> Sequence[Member[Delivery]]:
        """The projections as the follower's members."""
        return [_Fed(p) for p in self.projections]

    @property
    def durable(self) -> str:
        """The JetStream consumer of these projections' current generations: a rebuild
        gives the new generation a consumer of its own, which replays the stream."""
        if len(self.projections) == 1:
            return f"projection_{self.projection.name}_g{self.projection.generation}"
        spec = ",".join(f"{p.name}:{p.generation}" for p in self.projections)
        return "projections_" + hashlib.sha256(spec.encode()).hexdigest()[:16]

    def decode(self, event: Relayed) -> Delivery:
        """The typed domain event, decoded once for every projection of the worker."""
        return self.decoder.delivery(event.tenant, event.position, event.previous, StoredEvent(
            originator_id=event.originator_id, originator_version=event.originator_version,
            topic=event.topic, state=event.state))

    def prepare(self, cur: Cursor[Any]) -> None:
        """Creates the serving generations' tables."""
        create_generations(cur)
        self.refresh(cur)
        for projection in self.projections:
            projection.create_tables(cur)

    def refresh(self, cur: Cursor[Any]) -> bool:
        """Switches to the generations that serve; True if any changed."""
        serving = active_generations(cur, [p.name for p in self.projections])
        generations = [serving[p.name] for p in self.projections]
        if generations == [p.generation for p in self.projections]:
            return False
        self.projections = [type(p)(generation=g) for p, g in
                            zip(self.projections, generations, strict=True)]
        return True

    def applied(self, cur: Cursor[Any]) -> None:
        """Wakes read-your-writes waiters (delivered at commit)."""
        notify_applied(cur)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set, reconnecting through outages."""
        await self.follower.run(stop)
