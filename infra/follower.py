"""The follower: a durable JetStream pull consumer of the events stream that feeds members
(projections, process managers) each event exactly once in effect.

It fetches a batch and, in one PostgreSQL transaction, gives each member the events whose
predecessor (`Cs-Previous`) is the member's tracked position for that tenant, records the
new positions, then commits and acks. An event already applied (position <= tracked) is
acked and skipped; one whose predecessor has not been applied yet (another process holds
it, or it is being redelivered) is nak'ed with a short delay and comes back. So a crash at
any point, a redelivery, or several processes at once never apply an event twice in effect
or skip one. A member that cannot apply a tenant's events holds back that tenant for that
member only; everything else moves on.

Poison events: the follower finds the one event a member cannot apply and retries it a few
times at once. A transient error (a lost connection, a timeout) is never poison: it is
retried after a delay for as long as it lasts. An event that still fails is parked in the
tracking schema's `parked` table (error type and message, never the event's body), counted
(`commonshelf_projection_events_parked_total`) and logged once at ERROR. The member then
moves on past it if it declares that safe (`skip_poison`) or if the event's log is shared
(`shared_logs`: the office's, which no one member's input may hold back); otherwise the
tenant stays held behind it, retried after a delay, and the parked row says why. An operator
resolves a parked event by retrying or skipping it (projections/parked.py).

Members are generic: what an event decodes to, and what applying means, is theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import eventsourcing.persistence as es
import nats
import psycopg
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import FetchTimeoutError
from psycopg import Cursor, sql

from infra.database import DDL_LOCK_KEY
from infra.metrics import EVENTS_APPLIED, EVENTS_DEFERRED, EVENTS_FAILED, EVENTS_PARKED
from infra.nats import connect, log_error
from infra.relay import ensure_events_stream

log = logging.getLogger(__name__)
T = TypeVar("T")
Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Relayed:
    """One event as the relay published it: whose log, where in it, after what, and what."""

    tenant: str
    position: int
    previous: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


def relayed(msg: Msg) -> Relayed:
    """The event a relayed message carries (its headers say where it sits)."""
    headers = msg.headers or {}
    return Relayed(tenant=headers["Cs-Tenant"], position=int(headers["Cs-Position"]),
                   previous=int(headers["Cs-Previous"]),
                   originator_id=headers["Cs-Originator-Id"],
                   originator_version=int(headers["Cs-Originator-Version"]),
                   topic=headers["Cs-Topic"], state=msg.data)


class Member(Protocol[T]):
    """One follower of the stream: tracks its own positions (per name, generation, tenant)."""

    @property
    def name(self) -> str:
        """The stable name its positions are tracked under."""

    @property
    def generation(self) -> int:
        """Its generation (a rebuilt read model starts a new one); 1 when it has none."""

    @property
    def skip_poison(self) -> bool:
        """True if it may move on past an event it cannot apply (once parked)."""

    def apply(self, cur: Cursor[Any], events: list[T]) -> None:
        """Applies events, in order, in the follower's transaction (raise to refuse them)."""


class Group(Protocol[T]):
    """What a follower feeds: its members, how events decode for them, and their upkeep."""

    @property
    def members(self) -> Sequence[Member[T]]:
        """The members fed, each tracking its own positions."""

    @property
    def durable(self) -> str:
        """The durable consumer's name (a new one replays the stream)."""

    def decode(self, event: Relayed) -> T:
        """The event as the members take it (decoded once for all of them)."""

    def prepare(self, cur: Cursor[Any]) -> None:
        """Creates the members' tables (and follows their changes), under the DDL lock the
        follower holds."""

    def refresh(self, cur: Cursor[Any]) -> bool:
        """Follows changes of the members (a rebuild's new generation); True if they changed:
        the follower then consumes anew with the new durable."""

    def applied(self, cur: Cursor[Any]) -> None:
        """Called in each transaction that applied events, before it commits."""


HELD = "held"  # parked, and the member's tenant waits behind it
PASSED = "passed"  # parked, and the member moved on past it
SKIPPED = "skipped"  # an operator dropped it for good (kept for the record)


def transient(error: BaseException) -> bool:
    """True for errors that pass by themselves (retried without end, never parked)."""
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError, OSError,
                              TimeoutError, nats.errors.Error, es.OperationalError,
                              es.InterfaceError, es.ConnectionUnavailableError))


def error_text(error: BaseException) -> str:
    """What a parked row and the alert say of an error: its type and message, bounded."""
    return f"{type(error).__name__}: {error}"[:500]


@dataclass(frozen=True)
class Tracking:
    """Where positions are kept: a table (member, generation, tenant, position); and the
    events members parked: a table `parked` beside it."""

    schema: str
    table: str = "tracking"
    member_column: str = "member"
    parked_table: str = "parked"
    cli: str | None = None  # the command group that retries and skips parked events

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the schema and the table if they do not exist (under the DDL lock)."""
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ({} text NOT NULL, generation int NOT NULL, "
            "tenant text NOT NULL, position bigint NOT NULL, PRIMARY KEY ({}, generation, "
            "tenant))").format(self._table, self._member, self._member))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ({} text NOT NULL, generation int NOT NULL, "
            "tenant text NOT NULL, position bigint NOT NULL, previous bigint NOT NULL, "
            "topic text NOT NULL, error text NOT NULL, status text NOT NULL, "
            "attempts int NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(), "
            "resolved_at timestamptz, PRIMARY KEY ({}, generation, tenant, position))").format(
                self._parked, self._member, self._member))

    @property
    def _parked(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.parked_table)

    def park(self, cur: Cursor[Any], member: tuple[str, int], event: Relayed, *,
             error: str, status: str, attempts: int) -> bool:
        """Records a parked event (or its latest error); True if it was not parked yet."""
        row = cur.execute(sql.SQL(
            "INSERT INTO {t} AS p ({m}, generation, tenant, position, previous, topic, error, "
            "status, attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT ({m}, generation, tenant, position) DO UPDATE SET "
            "error = EXCLUDED.error, status = EXCLUDED.status, "
            "attempts = p.attempts + 1 RETURNING (xmax = 0)").format(
                t=self._parked, m=self._member),
            (*member, event.tenant, event.position, event.previous, event.topic,
             error, status, attempts)).fetchone()
        return bool(row and row[0])

    def held(self, cur: Cursor[Any]) -> set[tuple[str, int, str, int]]:
        """The events parked with their tenant held behind them."""
        rows = cur.execute(sql.SQL(
            "SELECT {}, generation, tenant, position FROM {} WHERE status = %s").format(
                self._member, self._parked), (HELD,)).fetchall()
        return {(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows}

    def unpark(self, cur: Cursor[Any], member: str, generation: int, tenant: str,
               position: int) -> None:
        """Removes a held event's row once it applied after all."""
        cur.execute(sql.SQL(
            "DELETE FROM {} WHERE {} = %s AND generation = %s AND tenant = %s "
            "AND position = %s AND status = %s").format(self._parked, self._member),
            (member, generation, tenant, position, HELD))

    @property
    def _table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)

    @property
    def _member(self) -> sql.Identifier:
        return sql.Identifier(self.member_column)

    def lock(self, cur: Cursor[Any], members: list[tuple[str, int]],
             tenants: set[str]) -> dict[tuple[str, int], dict[str, int]]:
        """The members' positions for these tenants, locked until the transaction ends: rows
        are created first and locked in one order, so concurrent followers queue behind each
        other instead of deadlocking or both reading "nothing applied yet"."""
        keys = sorted((name, generation, tenant) for name, generation in members
                      for tenant in tenants)
        columns = ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
        cur.execute(sql.SQL(
            "INSERT INTO {} ({}, generation, tenant, position) "
            "SELECT p, g, t, 0 FROM unnest(%s::text[], %s::int[], %s::text[]) AS k(p, g, t) "
            "ON CONFLICT DO NOTHING").format(self._table, self._member), columns)
        rows = cur.execute(sql.SQL(
            "SELECT tr.{m}, tr.generation, tr.tenant, tr.position "
            "FROM {t} tr JOIN unnest(%s::text[], %s::int[], %s::text[]) AS k(p, g, t) "
            "ON tr.{m} = k.p AND tr.generation = k.g AND tr.tenant = k.t "
            "ORDER BY tr.{m}, tr.generation, tr.tenant FOR UPDATE OF tr").format(
                t=self._table, m=self._member), columns).fetchall()
        locked: dict[tuple[str, int], dict[str, int]] = {m: {} for m in members}
        for name, generation, tenant, position in rows:
            locked[(str(name), int(generation))][str(tenant)] = int(position)
        return locked

    def record(self, cur: Cursor[Any], moved: list[tuple[str, int, str, int]]) -> None:
        """Records positions (member, generation, tenant, position) of rows `lock` locked."""
        if moved:
            cur.execute(sql.SQL(
                "UPDATE {t} tr SET position = k.pos FROM unnest(%s::text[], %s::int[], "
                "%s::text[], %s::bigint[]) AS k(p, g, t, pos) WHERE tr.{m} = k.p "
                "AND tr.generation = k.g AND tr.tenant = k.t").format(
                    t=self._table, m=self._member),
                tuple(list(column) for column in zip(*moved, strict=True)))

    def positions(self, cur: Cursor[Any], member: str, generation: int) -> dict[str, int]:
        """Every tenant's position for a member."""
        rows = cur.execute(sql.SQL(
            "SELECT tenant, position FROM {} WHERE {} = %s AND generation = %s").format(
                self._table, self._member), (member, generation)).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


@dataclass
class FollowerStats:
    """What a follower did since it started."""

    applied: int = 0
    skipped_duplicates: int = 0
    deferred: int = 0
    failed: int = 0
    parked: int = 0


_CAUTION = {"duplicate": 0, "applied": 1, "defer": 2, "failed": 3}


def _combined(so_far: str, answer: str) -> str:
    """What to do with a message several members answered for: ack only when none still
    needs it again (a member that applied it skips it as a duplicate then)."""
    return answer if _CAUTION[answer] > _CAUTION[so_far] else so_far


class Follower(Generic[T]):
    """Feeds a group of members from the events stream through one durable pull consumer
    (each message fetched, decoded and acked once for all of them; each member tracks its
    own positions, in the same transaction as its writes)."""

    def __init__(
        self, group: Group[T], tracking: Tracking, database_url: str, nats_url: str, *,
        stream: str = "CS_EVENTS", subject_prefix: str = "cs", batch: int = 256,
        ack_wait_s: float = 10, failure_delay_s: float = 5, replicas: int = 1,
        poison_attempts: int = 3, quick_retry_s: float = 0.05,
        shared_logs: frozenset[str] = frozenset(),
    ) -> None:
        self.group = group
        self.tracking = tracking
        self.database_url = database_url
        self.nats_url = nats_url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.batch = batch
        # A batch a dead process held comes back after ack_wait; batches take milliseconds.
        self.ack_wait_s = ack_wait_s
        self.failure_delay_s = failure_delay_s
        self.replicas = replicas  # of the events stream, should this follower create it
        # An event that fails this many times in a row (quick retries) is parked.
        self.poison_attempts = poison_attempts
        self.quick_retry_s = quick_retry_s
        self.shared_logs = shared_logs  # logs every member moves on in, past a parked event
        self.stats = FollowerStats()
        self._attempts: dict[tuple[str, int, str, int], int] = {}
        self._held: set[tuple[str, int, str, int]] = set()  # held rows to drop once applied

    @property
    def name(self) -> str:
        """The members fed, by name."""
        return ", ".join(m.name for m in self.group.members)

    def _ordered(self, members: Sequence[Member[T]] | None = None) -> list[Member[T]]:
        return sorted(members or self.group.members, key=lambda m: m.name)  # one lock order

    def prepare(self) -> None:
        """Creates the tracking table and the members' tables, under the DDL lock (several
        processes start at once; IF NOT EXISTS alone still races in the catalog)."""
        with psycopg.connect(self.database_url) as conn, conn.transaction(), \
                conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            self.tracking.create(cur)
            self.group.prepare(cur)
            self._held = self.tracking.held(cur)

    def _refresh(self, conn: Connection) -> bool:
        with conn.cursor() as cur:
            changed = self.group.refresh(cur)
        conn.commit()
        return changed

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set, reconnecting through outages."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.prepare)
                await self._consume(stop)
            except (OSError, psycopg.Error, nats.errors.Error) as error:
                log.warning("follower %s interrupted (%s); retrying", self.name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)

    async def _consume(self, stop: asyncio.Event) -> None:
        nc = await connect(self.nats_url, connect_timeout=2, allow_reconnect=False,
                           error_cb=log_error)
        try:
            js = nc.jetstream()
            await ensure_events_stream(js, self.stream, self.subject_prefix,
                                       replicas=self.replicas)
            sub = await js.pull_subscribe(
                f"{self.subject_prefix}.>", durable=self.group.durable, stream=self.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s,
                                      max_ack_pending=10_000),
            )
            with psycopg.connect(self.database_url) as conn:
                while not stop.is_set():
                    try:
                        msgs = await sub.fetch(self.batch, timeout=0.5)
                    except (FetchTimeoutError, TimeoutError):
                        if await asyncio.to_thread(self._refresh, conn):
                            return  # the members changed: consume with their durable
                        continue
                    if not await self._handle(conn, msgs):
                        return
        finally:
            await nc.close()

    async def _handle(self, conn: Connection, msgs: list[Msg]) -> bool:
        """Applies a fetched batch and acks or hands back each message; False when the
        members changed (the batch is handed back for the new ones)."""
        if await asyncio.to_thread(self._refresh, conn):
            for msg in msgs:  # the old members' tables may be gone already
                await msg.nak()
            return False
        events = [relayed(msg) for msg in msgs]
        try:
            outcomes = await asyncio.to_thread(self._apply_batch, conn, events)
        except psycopg.OperationalError:
            for msg in msgs:  # hand the batch back at once rather than after ack_wait
                await msg.nak(delay=0.5)
            raise
        except Exception:  # noqa: BLE001 (a member's bug or a bad event)
            outcomes = await asyncio.to_thread(self._apply_by_tenant, conn, events)
        for msg, outcome in zip(msgs, outcomes, strict=True):
            if outcome == "defer":
                await msg.nak(delay=0.2)
            elif outcome == "failed":
                await msg.nak(delay=self.failure_delay_s)
            else:
                await msg.ack()
        return True

    def _apply_by_tenant(self, conn: Connection, events: list[Relayed]) -> list[str]:
        """After a batch failed: each tenant's events, and each member, on their own, so a
        bad event holds back one member of one tenant at most (and only until it is parked,
        unless the member must wait behind it) while everything else moves on."""
        by_tenant: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            by_tenant.setdefault(event.tenant, []).append(index)
        outcomes = ["duplicate"] * len(events)
        for indexes in by_tenant.values():
            group = [events[i] for i in indexes]
            for member in self._ordered():
                try:
                    results = self._apply_batch(conn, group, [member])
                except psycopg.OperationalError:
                    raise
                except Exception:  # noqa: BLE001 (find the event, below)
                    results = self._one_by_one(conn, member, group)
                for i, result in zip(indexes, results, strict=True):
                    outcomes[i] = _combined(outcomes[i], result)
        return outcomes

    def _one_by_one(self, conn: Connection, member: Member[T],
                    events: list[Relayed]) -> list[str]:
        """A tenant's events for one member, each in its own transaction: those before the
        one it cannot apply commit; those after wait behind it unless it is passed."""
        results: list[str] = []
        for index, event in enumerate(events):
            result = self._apply_one(conn, member, event)
            results.append(result)
            if result == "failed":
                return results + ["failed"] * (len(events) - index - 1)
        return results

    def _apply_one(self, conn: Connection, member: Member[T], event: Relayed) -> str:
        """Applies one event, retrying it a few times at once; parks it if it still fails
        (a transient error is only retried later, never parked)."""
        key = (member.name, member.generation, event.tenant, event.position)
        while True:
            try:
                [result] = self._apply_batch(conn, [event], [member])
            except psycopg.OperationalError:
                raise
            except Exception as error:  # noqa: BLE001 (a member's bug or a bad event)
                if transient(error):
                    log.warning("%s cannot apply tenant %s's event at position %s (%s) for "
                                "now (%s); retrying in %s s", member.name, event.tenant,
                                event.position, event.topic, error_text(error),
                                self.failure_delay_s)
                    return self._failed(member, event)
                attempts = self._attempts[key] = self._attempts.get(key, 0) + 1
                if attempts < self.poison_attempts:
                    time.sleep(self.quick_retry_s * attempts)
                    continue
                return self._park(conn, member, event, error)
            self._attempts.pop(key, None)
            return result

    def _failed(self, member: Member[T], event: Relayed) -> str:
        EVENTS_FAILED.labels(member.name, event.tenant).inc()
        self.stats.failed += 1
        return "failed"

    def _park(self, conn: Connection, member: Member[T], event: Relayed,
              error: Exception) -> str:
        """Parks an event the member cannot apply: it moves on past it if it declares that
        safe or if the log is shared; otherwise its tenant stays held behind it."""
        key = (member.name, member.generation, event.tenant, event.position)
        moves_on = member.skip_poison or event.tenant in self.shared_logs
        with conn.transaction(), conn.cursor() as cur:
            locked = self.tracking.lock(cur, [(member.name, member.generation)], {event.tenant})
            current = locked[(member.name, member.generation)][event.tenant]
            if event.position <= current:
                self._attempts.pop(key, None)
                return "duplicate"  # another process applied or parked it meanwhile
            if event.previous != current:
                return "defer"
            new = self.tracking.park(cur, (member.name, member.generation), event,
                                     error=error_text(error),
                                     status=PASSED if moves_on else HELD,
                                     attempts=self.poison_attempts)
            if moves_on:
                self.tracking.record(cur, [(*key[:3], event.position)])
                self.group.applied(cur)
        if not moves_on:
            self._held.add(key)
        if new:
            EVENTS_PARKED.labels(member.name, event.tenant).inc()
            self.stats.parked += 1
            where = f"{member.name} --tenant {event.tenant} --position {event.position}"
            log.error(
                "PARKED EVENT: %s cannot apply tenant %s's event at position %s (%s) after %d "
                "attempts: %s. %s Fix the cause (the code or the data), then %s (row in %s.%s).",
                member.name, event.tenant, event.position, event.topic, self.poison_attempts,
                error_text(error),
                "It moved on past it: it lacks this one event until resolved."
                if moves_on else "The tenant's later events wait behind it.",
                f"re-apply it with `{self.tracking.cli} retry {where}`, or drop it for good "
                f"with `{self.tracking.cli} skip {where}`" if self.tracking.cli else
                "restart it: a held event is retried (a passed one is not)",
                self.tracking.schema, self.tracking.parked_table)
        if moves_on:
            self._attempts.pop(key, None)
            return "applied"
        return self._failed(member, event)

    def _apply_batch(self, conn: Connection, events: list[Relayed],
                     members: list[Member[T]] | None = None) -> list[str]:
        """Applies what can be applied, in one transaction; says what to do with each
        message (for several members: the most cautious of their answers)."""
        chosen = self._ordered(members)
        decoded = [self.group.decode(event) for event in events]
        outcomes = ["duplicate"] * len(events)
        applied_by: dict[str, int] = {}
        unheld: list[tuple[str, int, str, int]] = []
        with conn.transaction(), conn.cursor() as cur:
            locked = self.tracking.lock(cur, [(m.name, m.generation) for m in chosen],
                                        {e.tenant for e in events})
            moved: list[tuple[str, int, str, int]] = []
            for member in chosen:
                tracked = locked[(member.name, member.generation)]
                applicable: list[T] = []
                for i, event in enumerate(events):
                    current = tracked[event.tenant]
                    if event.position <= current:
                        mine = "duplicate"
                    elif event.previous != current:
                        mine = "defer"
                    else:
                        applicable.append(decoded[i])
                        tracked[event.tenant] = event.position
                        mine = "applied"
                        applied_by[member.name] = applied_by.get(member.name, 0) + 1
                        key = (member.name, member.generation, event.tenant, event.position)
                        if self._held and key in self._held:  # it applies after all
                            unheld.append(key)
                    outcomes[i] = _combined(outcomes[i], mine)
                member.apply(cur, applicable)
                moved += [(member.name, member.generation, t, p) for t, p in tracked.items()]
            self.tracking.record(cur, moved)
            for key in unheld:
                self.tracking.unpark(cur, *key)
            self.group.applied(cur)
        self._held.difference_update(unheld)
        for name, count in applied_by.items():
            EVENTS_APPLIED.labels(name).inc(count)
        EVENTS_DEFERRED.labels(self.name).inc(outcomes.count("defer"))
        self.stats.applied += outcomes.count("applied")
        self.stats.skipped_duplicates += outcomes.count("duplicate")
        self.stats.deferred += outcomes.count("defer")
        return outcomes
