"""The process-manager runner: process managers fed by infra's JetStream follower.

A process manager declares the domain event classes it reacts to and reacts to each with
`react(event, source)`, `source` naming the event (tenant, position). Its reactions issue
commands through `Commands.run`, under an idempotency key made from the source event
(`pm:<manager>:<tenant>:<position>`): the command's receipt is written with its events, so a
redelivered event (the process died after the command, before its position was tracked)
never issues the command twice. Positions are tracked per manager and tenant after the
reaction, in PostgreSQL; any number of runner processes may run at once (the follower locks
a tenant's position while it reacts).
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor

from infra.command_metadata import command_metadata
from infra.follower import Follower, FollowerStats, Member, Relayed, Tracking
from projections.decoding import Decoder
from projections.framework import Delivery, DomainEvent, Source
from projections.runner import SHARED_LOGS
from tenants.commands import Command, CommandPipeline
from tenants.consortium import Consortium

TRACKING = Tracking("processes", "tracking", member_column="manager")
Timer = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs until the event is set


class Commands:
    """How a reaction issues a command to a tenant: through the command pipeline, once per
    idempotency key (its receipt written with its events), in the reacting thread."""

    def __init__(self, consortium: Consortium, pipeline: CommandPipeline) -> None:
        self.consortium = consortium
        self.pipeline = pipeline

    def run(self, tenant: str, key: str, command: Command[Any]) -> bool:
        """Runs the command in the tenant's scope under `key`; False (and nothing recorded)
        when the key was answered already."""
        manager = key.split(":")[1] if key.startswith("pm:") else "process"
        with command_metadata(cause=key):  # the source event, beside the command's events
            _, recorded = self.pipeline.execute_here(
                self.consortium.scope(tenant), key, replace(command, actor=f"process:{manager}"))
        return recorded


class ProcessManager(ABC):
    """Reacts to domain events of one tenant (or the office) by issuing commands."""

    name: ClassVar[str]
    events: ClassVar[tuple[type[DomainEvent], ...]]
    # A reaction skipped is a command never issued: a manager waits behind an event it
    # parked (in processes.parked) unless it declares otherwise; office events are passed.
    skip_poison: ClassVar[bool] = False

    def accepts(self, delivery: Delivery) -> bool:
        """True if the manager reacts to this event (a manager may narrow it by log)."""
        return isinstance(delivery.event, self.events)

    def key(self, source: Source) -> str:
        """The idempotency key of the command a reaction to this event issues."""
        return f"pm:{self.name}:{source.tenant}:{source.position}"

    @abstractmethod
    def react(self, event: DomainEvent, source: Source) -> None:
        """Reacts to one event; commands go through `Commands.run` with `self.key(source)`."""


class _Reacting:
    """A process manager as a follower's member."""

    generation = 1

    def __init__(self, manager: ProcessManager) -> None:
        self.manager = manager

    @property
    def name(self) -> str:
        return self.manager.name

    @property
    def skip_poison(self) -> bool:
        return self.manager.skip_poison

    def apply(self, _: Cursor[Any], events: list[Delivery]) -> None:
        for delivery in events:
            if self.manager.accepts(delivery):
                self.manager.react(delivery.event, delivery.source)


class ProcessRunner:
    """Runs process managers on the events stream: one durable consumer for all of them,
    each event decoded once; each manager tracks its own positions."""

    def __init__(self, managers: list[ProcessManager], database_url: str, nats_url: str, *,
                 stream: str = "CS_EVENTS", subject_prefix: str = "cs", batch: int = 64,
                 ack_wait_s: float = 30, failure_delay_s: float = 5,
                 replicas: int = 1, timers: Sequence[Timer] = ()) -> None:
        self.managers = sorted(managers, key=lambda m: m.name)
        self.timers = list(timers)  # reactions to time, not events: the hold-shelf sweep
        self.decoder = Decoder()
        self.follower: Follower[Delivery] = Follower(
            self, TRACKING, database_url, nats_url, stream=stream,
            subject_prefix=subject_prefix, batch=batch, ack_wait_s=ack_wait_s,
            failure_delay_s=failure_delay_s, replicas=replicas, shared_logs=SHARED_LOGS)

    @property
    def stats(self) -> FollowerStats:
        """What the runner did since it started."""
        return self.follower.stats

    @property
    def name(self) -> str:
        """The managers run, by name."""
        return ", ".join(m.name for m in self.managers)

    @property
    def members(self) -> Sequence[Member[Delivery]]:
        """The managers as the follower's members."""
        return [_Reacting(m) for m in self.managers]

    @property
    def durable(self) -> str:
        """The JetStream consumer of these managers."""
        spec = ",".join(m.name for m in self.managers)
        return "processes_" + hashlib.sha256(spec.encode()).hexdigest()[:16]

    def decode(self, event: Relayed) -> Delivery:
        """The typed domain event, decoded once for every manager."""
        return self.decoder.delivery(event.tenant, event.position, event.previous, StoredEvent(
            originator_id=event.originator_id, originator_version=event.originator_version,
            topic=event.topic, state=event.state))

    def prepare(self, cur: Cursor[Any]) -> None:
        """Nothing of their own: managers keep no tables."""

    def refresh(self, cur: Cursor[Any]) -> bool:  # noqa: ARG002 (the follower's protocol)
        """Managers do not change while running."""
        return False

    def applied(self, cur: Cursor[Any]) -> None:
        """Nobody waits on a manager's positions."""

    async def run(self, stop: asyncio.Event) -> None:
        """Reacts to events and to time until `stop` is set."""
        timers = [asyncio.create_task(timer(stop)) for timer in self.timers]
        if self.managers:
            await self.follower.run(stop)
        else:
            await stop.wait()
        await asyncio.gather(*timers)
