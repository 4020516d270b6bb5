"""Moving a live tenant to another database server, and deleting an archived one.

A move copies the tenant's log while it is written to, then pauses its writes (its old copy
refuses them; writers wait and follow the tenant), copies the rest and the tables beside the
log (receipts, patron keys, blobs, import jobs), checks the copy event for event, switches
the placement and removes the old copy. Read models stay where they are: they live on the
default server and are keyed by the tenant, whose positions the copy keeps. Each step is
recorded in the placement, so running the move again resumes one that was interrupted;
`abort` gives up one that has not switched yet (back to its source, the partial copy removed).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg

from infra import tenant_copy
from infra.eventstore import EVENTS_TABLE, create_events_table
from infra.servers import ServerNotFoundError
from projections.postgres import active_generation, positions
from tenants.consortium import Consortium
from tenants.directory.union_catalog import forget_member
from tenants.errors import TenantMoveError, TenantServerUnknownError, TenantStatusError
from tenants.placement import LOCATION_TTL_S
from tenants.read_models import READ_MODELS
from tenants.scope import tenant_schema
from tenants.tenant import ARCHIVED

Report = Callable[[str], None]
BATCH = 5000
PAUSE_WHEN_LEFT = 2 * BATCH  # events still to copy when writes pause for the last of them
READ_MODEL_SCHEMAS = ("projections", "processes")
DRAIN_S = 60.0  # how long a delete waits for the read models to apply the tenant's last events
DRAIN_POLL_S = 0.2
MOVE_LOCK_BASE = 0x43540000  # advisory locks "CT" + a slug's hash: one move of a tenant


@dataclass
class MoveResult:
    """What a move did."""

    slug: str
    source: str
    target: str
    events: int = 0
    verified: int = 0  # the position up to which the copy was checked event for event
    checked: int = 0  # events checked
    rows: dict[str, int] = field(default_factory=dict)
    pause_s: float = 0.0
    seconds: float = 0.0


@dataclass
class AbortResult:
    """What giving up a move did."""

    slug: str
    server: str  # where the tenant lives, as before the move
    target: str  # where the partial copy was removed from
    phase: str  # how far the move had got: copying or paused


@dataclass
class DeleteResult:
    """What a delete removed."""

    slug: str
    server: str
    # rows by table: the tenant's schema's, and its messages in office.ill_outbox
    tables: dict[str, int] = field(default_factory=dict)
    read_model_rows: dict[str, int] = field(default_factory=dict)
    relay_positions: int = 0
    events_purged: bool = False  # its events removed from the events stream


class TenantMoves:
    """Moves and deletes tenants of a consortium."""

    def __init__(self, consortium: Consortium, report: Report | None = None,
                 purge_events: Callable[[str], None] | None = None) -> None:
        self.consortium = consortium
        self.placement = consortium.placement
        self.report = report or (lambda _: None)
        # a deleted tenant's events removed from the events stream (infra.nats): without it
        # a consumer made later replays them into the read models
        self.purge_events = purge_events

    @contextmanager
    def _connect(self, *names: str) -> Iterator[list[psycopg.Connection[Any]]]:
        with ExitStack() as stack:
            yield [stack.enter_context(psycopg.connect(
                self.consortium.servers.url(name), autocommit=True)) for name in names]

    @contextmanager
    def _alone(self, slug: str) -> Iterator[None]:
        """One move or delete of a tenant at a time, across processes."""
        key = MOVE_LOCK_BASE + zlib.crc32(slug.encode()) % 0x10000
        with self.consortium.database.exclusive(key) as got:
            if not got:
                raise TenantMoveError(f"{slug} is being moved or deleted by another process")
            yield

    def move(self, slug: str, to: str) -> MoveResult:
        """Moves the tenant to the server `to` (or resumes its move there)."""
        with self._alone(slug):
            return self._move(slug, to)

    def _move(self, slug: str, to: str) -> MoveResult:
        self.consortium.office.get_tenant(slug)
        try:
            self.consortium.servers.check(to)
        except ServerNotFoundError as error:
            raise TenantServerUnknownError(f"--to: {error}") from None
        placement = self.placement.placement(slug)
        if placement.moving_to not in (None, to):
            raise TenantMoveError(f"{slug} is being moved to {placement.moving_to}; run the "
                                  f"move again with --to {placement.moving_to} to finish it")
        if placement.moving_to is None and placement.server == to:
            raise TenantMoveError(f"{slug} already lives on {to}")
        started = time.monotonic()
        source = placement.server if placement.phase != "switched" else None
        result = MoveResult(slug, source or "(switched already)", to)
        schema = tenant_schema(slug)
        if source is not None:
            with self._connect(source, to) as (old, new):
                if placement.phase != "paused":
                    self._copy_live(old, new, result)
                paused_at = self._copy_paused(old, new, result)
            self.placement.table.switch(slug, to)
            self.placement.server_of(slug, fresh=True)
            result.pause_s = time.monotonic() - paused_at
            self.report(f"switched: {slug} lives on {to}; its writes resume "
                        f"(paused {result.pause_s:.2f} s)")
            time.sleep(2 * LOCATION_TTL_S)  # every process has looked again by now
        self._remove_old_copies(slug, to, schema)
        self.placement.table.settle(slug)
        result.seconds = time.monotonic() - started
        return result

    def abort(self, slug: str) -> AbortResult:
        """Gives up the tenant's unfinished move: its writes resume on the server it lives
        on and the partial copy on the target is removed. A move that switched already is
        not given up (writes may have gone to its new server): run it again to finish it."""
        with self._alone(slug):
            self.consortium.office.get_tenant(slug)
            placement = self.placement.placement(slug)
            if placement.moving_to is None or placement.phase is None:
                raise TenantMoveError(f"{slug} has no unfinished move to give up")
            if placement.phase == "switched":
                raise TenantMoveError(
                    f"{slug}'s move to {placement.moving_to} switched already: it lives "
                    f"there now; run the move again with --to {placement.moving_to} to finish "
                    "it (it removes the old copy)")
            schema = tenant_schema(slug)
            result = AbortResult(slug, placement.server, placement.moving_to, placement.phase)
            with self._connect(result.server, result.target) as (source, target):
                # The copy first: were this interrupted, the placement still names the move
                # and giving it up again finishes the work.
                if tenant_copy.tables(target, schema):
                    tenant_copy.drop_schema(target, schema)
                    self.report(f"removed the partial copy of {slug} from {result.target}")
                if tenant_copy.tables(source, schema):
                    tenant_copy.allow_writes(source, schema)
            self.placement.table.settle(slug)
            self.placement.server_of(slug, fresh=True)
            self.report(f"{slug}'s writes resume on {result.server}")
            return result

    def _copy_live(self, old: psycopg.Connection[Any], new: psycopg.Connection[Any],
                   result: MoveResult) -> None:
        """Copies the log while it is written to, until little is left."""
        slug, to, schema = result.slug, result.target, tenant_schema(result.slug)
        target = self.consortium.servers.get(to)
        target.create_schema(schema)
        create_events_table(target, schema)
        tenant_copy.create_tables_like(old, new, schema)
        while True:
            copied = tenant_copy.last_position(new, schema)
            self.placement.table.moving(slug, to, "copying", copied)
            last = tenant_copy.last_position(old, schema)
            moved = tenant_copy.copy_events(old, new, schema, copied, BATCH)
            result.events += moved
            self.report(f"copying {slug}: {result.events:,} events copied, "
                        f"about {max(last - copied - moved, 0):,} to go (writes go on)")
            if last - copied - moved < PAUSE_WHEN_LEFT:
                break
        # Events are never changed once appended: what is copied now is checked now, and
        # only what comes after it while the writes pause.
        result.verified = tenant_copy.last_position(new, schema)
        result.checked = tenant_copy.compare_events(
            old, new, schema, upto=result.verified,
            progress=lambda n: self.report(f"verified {n:,} events (writes go on)"))

    def _copy_paused(self, old: psycopg.Connection[Any], new: psycopg.Connection[Any],
                     result: MoveResult) -> float:
        """With the tenant's writes paused: the rest of the log, the other tables, a check
        event for event; when the pause began."""
        slug, to, schema = result.slug, result.target, tenant_schema(result.slug)
        self.placement.table.moving(slug, to, "paused", tenant_copy.last_position(new, schema))
        paused_at = time.monotonic()
        tenant_copy.refuse_writes(old, schema, f"tenant {slug} is moving to {to}")
        self.report(f"paused {slug}'s writes")
        tenant_copy.create_tables_like(old, new, schema)  # tables made since the copy began
        while moved := tenant_copy.copy_events(old, new, schema,
                                               tenant_copy.last_position(new, schema), BATCH):
            result.events += moved
        tenant_copy.continue_sequence(old, new, schema)
        for table in tenant_copy.tables(old, schema):
            if table != EVENTS_TABLE:
                result.rows[table] = tenant_copy.copy_table(old, new, schema, table)
        self.report(f"copied {', '.join(f'{n} {t}' for t, n in result.rows.items()) or 'no'} "
                    "rows beside the log")
        checked = result.checked + tenant_copy.compare_events(
            old, new, schema, after=result.verified,
            progress=lambda n: self.report(f"verified {result.checked + n:,} events"))
        counts = tenant_copy.row_counts(old, schema)
        copied = tenant_copy.row_counts(new, schema)
        differing = sorted(t for t in counts if counts[t] != copied.get(t))
        if differing:
            raise TenantMoveError(f"the copy of {slug} differs in {', '.join(differing)}; "
                                  "its writes stay paused: run the move again, or give it up "
                                  "with --abort")
        self.report(f"verified: {checked:,} events the same, event for event")
        return paused_at

    def _remove_old_copies(self, slug: str, to: str, schema: str) -> None:
        for name in self.consortium.servers.names:
            if name == to:
                continue
            with self._connect(name) as (conn,):
                if tenant_copy.tables(conn, schema):
                    tenant_copy.drop_schema(conn, schema)
                    self.report(f"removed the old copy of {slug} from {name}")

    def delete(self, slug: str) -> DeleteResult:
        """Removes every trace of an archived tenant's data (the office keeps its register
        entry, archived); what it removed."""
        with self._alone(slug):
            return self._delete(slug)

    def _drained(self, slug: str, server: str, schema: str) -> None:
        """Waits until every read model has applied the tenant's whole log (it is archived:
        nothing new comes), so that no event still on its way brings back rows after they
        are deleted; TenantMoveError after DRAIN_S."""
        with self._connect(server) as (conn,):
            if not tenant_copy.tables(conn, schema):
                return
            head = tenant_copy.last_position(conn, schema)
        deadline = time.monotonic() + DRAIN_S
        with self._connect("default") as (conn,), conn.cursor() as cur:
            while True:
                behind = sorted(name for name in READ_MODELS if positions(
                    cur, name, active_generation(cur, name)).get(slug, 0) < head)
                if not behind:
                    return
                if time.monotonic() > deadline:
                    raise TenantMoveError(
                        f"{slug}: the read models {', '.join(behind)} have not applied the "
                        f"end of its log (position {head}) in {DRAIN_S:.0f} s; are the "
                        "relay and the projection workers running? Run the delete again "
                        "once they have caught up")
                time.sleep(DRAIN_POLL_S)

    def _delete(self, slug: str) -> DeleteResult:
        tenant = self.consortium.office.get_tenant(slug)
        if tenant.status != ARCHIVED:
            raise TenantStatusError(f"{slug} is {tenant.status}: only an archived tenant can be "
                                    "deleted (archive it first)")
        placement = self.placement.placement(slug)
        schema = tenant_schema(slug)
        self._drained(slug, placement.server, schema)
        result = DeleteResult(slug, placement.server)
        for name in self.consortium.servers.names:
            with self._connect(name) as (conn,):
                if tenant_copy.tables(conn, schema):
                    counts = tenant_copy.row_counts(conn, schema)
                    for table, rows in counts.items():
                        result.tables[table] = result.tables.get(table, 0) + rows
                    tenant_copy.drop_schema(conn, schema)
        with self._connect("default") as (conn,):
            with conn.transaction():  # before its rows go: its entries are recomputed
                union = forget_member(conn.cursor(), slug)
            result.read_model_rows = tenant_copy.delete_tenant_rows(
                conn, READ_MODEL_SCHEMAS, slug)
            if union:
                result.read_model_rows["projections.union_catalog"] = union
            result.relay_positions = tenant_copy.forget_relay_position(conn, schema)
            outbox = tenant_copy.forget_outbox(conn, slug)
            if outbox:
                result.tables["office.ill_outbox"] = outbox
        if self.purge_events is not None:
            self.purge_events(slug)
            result.events_purged = True
        self.placement.table.forget(slug)
        self.placement.server_of(slug, fresh=True)
        return result
