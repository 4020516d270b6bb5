"""Wiring: the process's services, built once from settings, and the request dependencies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from psycopg import Cursor
from psycopg.rows import tuple_row
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, TokenService
from infra.blobs import Blobs
from infra.client_usage import ClientUsage
from infra.database import DDL_LOCK_KEY, Database
from infra.idempotency import IdempotencyStore
from infra.import_jobs import ImportJobs
from infra.marc import to_marcxml
from infra.nats import Nats
from infra.relay import Relay
from infra.settings import Settings, SettingsError
from infra.signing import load_signing_key
from infra.vault import PatronVault
from projections.catalogue import PROJECTIONS
from projections.circulation.postgres import CirculationView
from projections.framework import Projection
from projections.local_catalog.postgres import LocalCatalog
from projections.postgres import (
    active_generation,
    create_tracking,
    event_logs,
    events_after,
    positions,
)
from projections.runner import ProjectionWorker
from projections.tenant_directory.postgres import TenantDirectory
from projections.watch import AppliedWatch
from tenants.consortium import OFFICE_SCHEMA, Consortium, log_name, tenant_schema

P = TypeVar("P", bound=Projection)
T = TypeVar("T")


@dataclass
class Services:
    """What every request may use: settings, PostgreSQL, NATS, the consortium, tokens."""

    settings: Settings
    database: Database
    nats: Nats
    consortium: Consortium
    tokens: TokenService
    import_jobs: ImportJobs
    blobs: Blobs
    vault: PatronVault
    idempotency: IdempotencyStore
    watch: AppliedWatch
    client_usage: ClientUsage
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="import"))
    _views_ready: set[tuple[str, int]] = field(default_factory=set)
    _commands: asyncio.Semaphore | None = None

    async def run_command(self, command: Callable[[], T]) -> T:
        """Runs a command in a thread, at most as many at once as the pool has connections:
        more would queue on the pool while their threads fight over the GIL, and a thread
        holding a tenant's table lock would wait its turn behind them (a convoy)."""
        if self._commands is None:
            self._commands = asyncio.Semaphore(self.settings.db_pool_size)
        async with self._commands:
            return await run_in_threadpool(command)

    def close(self) -> None:
        """Stops background jobs and closes the database pool (NATS: the app's lifespan)."""
        self.background.shutdown(wait=True, cancel_futures=True)
        self.watch.close()
        self.consortium.close()
        self.database.close()

    def wait_for_office_views(self) -> bool:
        """Read-your-writes for office commands: the tenant directory has them."""
        return self.wait_for_view(TenantDirectory.name, "office",
                                  self.consortium.office.recorder.max_notification_id() or 0)

    def wait_for_catalog(self, tenant: str | None, *, shared: bool = False) -> bool:
        """Read-your-writes for catalog commands: the local catalog has the tenant's events
        (and, with `shared`, the consortium's shared records) recorded so far."""
        caught_up = True
        if tenant is not None:
            recorder = self.consortium.scope(tenant).catalog.recorder
            caught_up = self.wait_for_view(LocalCatalog.name, tenant,
                                           recorder.max_notification_id() or 0)
        if shared:
            office = self.consortium.shared.recorder.max_notification_id() or 0
            caught_up = self.wait_for_view(LocalCatalog.name, "office", office) and caught_up
        return caught_up

    async def command_seen(self, projection: str, tenant: str, recorder: Any,
                           command: Callable[[], T]) -> T:
        """Runs a command (as `run_command`), then waits, without holding a thread, until the
        projection shows what it recorded (read-your-writes): the position of the command's
        own append, or of the whole log when it appended nothing (a replayed answer)."""
        outcome: tuple[T, int] = await self.run_command(
            lambda: recorder.position_after(command))
        await self.watch.wait_async(projection, tenant, outcome[1],
                                    self.settings.read_your_writes_s)
        return outcome[0]

    def wait_for_circulation(self, tenant: str) -> bool:
        """Read-your-writes for circulation commands: the circulation view has them."""
        recorder = self.consortium.scope(tenant).circulation.recorder
        return self.wait_for_view(CirculationView.name, tenant,
                                  recorder.max_notification_id() or 0)

    def wait_for_view(self, projection: str, tenant: str, target: int) -> bool:
        """Waits until the projection has applied the tenant's log up to `target` (so every
        event the caller recorded before asking), up to the configured time; False on
        timeout. Works however the projection is run: the tracked position is in PostgreSQL,
        watched by one thread per process that the workers' NOTIFY wakes."""
        return self.watch.wait(projection, tenant, target, self.settings.read_your_writes_s)

    @contextmanager
    def view(self, projection: type[P]) -> Iterator[tuple[P, Cursor[tuple[Any, ...]]]]:
        """The serving generation of a read model and a cursor to query it with."""
        with self.database.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            if not self._views_ready:
                with conn.transaction():
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
                    create_tracking(cur)  # no worker may have run yet
            generation = active_generation(cur, projection.name)
            view = projection(generation=generation)
            if (projection.name, generation) not in self._views_ready:
                with conn.transaction():
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
                    view.create_tables(cur)
                self._views_ready.add((projection.name, generation))
            yield view, cur

    def tenant_directory(self) -> list[dict[str, object]]:
        """The directory read model, as the serving generation has it."""
        with self.view(TenantDirectory) as (view, cur):
            return view.tenants(cur)

    def record_marcxml(self, tenant: str, record_id: str) -> str | None:
        """A record's original as MARCXML, from the event store (read models keep no
        originals); a record showing a shared record gives the shared one's."""
        record = self.consortium.scope(tenant).catalog.get_record(uuid.UUID(record_id))
        if record.shared_record_id is not None:
            return self.shared_marcxml(str(record.shared_record_id))
        return _marcxml(record.original_format, record.original)

    def shared_marcxml(self, shared_id: str) -> str | None:
        """A shared record's original as MARCXML (through merges, the survivor's)."""
        shared = self.consortium.shared.resolve(uuid.UUID(shared_id))
        return _marcxml(shared.original_format, shared.original)


def _marcxml(original_format: str | None, original: str | None) -> str | None:
    if original_format is None or original is None:
        return None  # catalogued by hand: there is no original
    return to_marcxml(original_format, original)


def build_services(settings: Settings) -> Services:
    """Connects to the configured servers and readies the consortium."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_services needs resolved server URLs (start the runtime first)")
    database = Database(settings.database_url, settings.db_pool_size)
    database.open()
    consortium = Consortium(database, settings.db_lock_timeout_s)
    key = load_signing_key(database, settings.signing_key_file)
    tokens = TokenService(consortium, key, settings.issuer, settings.token_ttl_s)
    usage = ClientUsage(database)
    tokens.on_issued = lambda tenant, client_id: usage.token_issued(
        OFFICE_SCHEMA if tenant is None else tenant_schema(tenant), client_id)
    return Services(settings, database, Nats(settings.nats_url), consortium, tokens,
                    ImportJobs(database), Blobs(database), PatronVault(database),
                    IdempotencyStore(database),
                    AppliedWatch(settings.database_url), usage)


def build_relay(settings: Settings) -> Relay:
    """The relay of every tenant's event log into JetStream."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_relay needs resolved server URLs (start the runtime first)")
    return Relay(settings.database_url, settings.nats_url, log_name,
                 stream=settings.events_stream, subject_prefix=settings.nats_prefix)


def build_workers(settings: Settings, only: list[str] | None = None) -> list[ProjectionWorker]:
    """The worker of the projections the service runs (or of those named)."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_workers needs resolved server URLs (start the runtime first)")
    unknown = sorted(set(only or []) - set(PROJECTIONS))
    if unknown:
        raise SettingsError(f"no projection named {', '.join(unknown)}; there are: "
                            f"{', '.join(sorted(PROJECTIONS))}")
    chosen = [projection() for name, projection in PROJECTIONS.items()
              if not only or name in only]
    # One consumer for all of them: each event fetched, parsed and acked once per process.
    return [ProjectionWorker(chosen, settings.database_url, settings.nats_url,
                             stream=settings.events_stream, subject_prefix=settings.nats_prefix)]


def projection_status(services: Services) -> list[dict[str, object]]:
    """Each projection's applied position and lag, per tenant (office included)."""
    out: list[dict[str, object]] = []
    with services.database.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        create_tracking(cur)
        logs = event_logs(cur)
        for name in PROJECTIONS:
            applied = positions(cur, name, active_generation(cur, name))
            for schema in logs:
                tenant = log_name(schema)
                position = applied.get(tenant, 0)
                out.append({"name": name, "tenant": tenant, "position": position,
                            "lag": events_after(cur, schema, position)})
    return out


def services(request: Request) -> Services:
    """The services of the running app."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def principal(
    svc: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The verified caller of this request (401/403 otherwise)."""
    return svc.tokens.authenticate(authorization)


PrincipalDep = Annotated[Principal, Depends(principal)]


def admin(caller: PrincipalDep) -> Principal:
    """The caller, who must be the consortium office with consortium:admin."""
    caller.require_admin()
    return caller


AdminDep = Annotated[Principal, Depends(admin)]
