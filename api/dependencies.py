"""Wiring: the process's services, built once from settings, and the request dependencies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request
from psycopg.rows import tuple_row

from api.auth import Principal, TokenService, TokenThrottle
from api.graphql.limits import TenantShare
from infra.client_usage import ClientUsage
from infra.database import ROTA_LOCK_KEY, SWEEP_LOCK_KEY, Database
from infra.ill_outbox import IllOutbox
from infra.kek import check_kek, load_kek
from infra.nats import Nats
from infra.relay import Relay
from infra.servers import Servers
from infra.settings import Settings, SettingsError
from infra.signing import load_signing_keys, stored_signing_keys
from infra.work_queue import WorkQueue
from projections import catalogue
from projections.circulation.view import CirculationView
from projections.framework import View
from projections.lending.view import LendingView
from projections.local_catalog.view import LocalCatalogView
from projections.runner import ProjectionWorker
from projections.union_catalog.view import Holding, UnionCatalogView
from projections.watch import AppliedWatch
from tenants.commands import CommandPipeline
from tenants.consortium import Consortium, log_name
from tenants.desk import Desk, sweep_pickups
from tenants.directory.view import ListedTenant, TenantDirectoryView
from tenants.lending import InterlibraryDesk, Rota, sweep_outbox, sweep_rotas
from tenants.processes.catalogue import process_managers
from tenants.processes.runner import Commands, ProcessRunner
from tenants.read_models import READ_MODELS
from tenants.scans import ScanWorker
from tenants.scope import OFFICE_SCHEMA, OfficeScope, TenantScope, tenant_schema

V = TypeVar("V", bound=View)


@dataclass
class Services:
    """What the faces of one process use: settings, the consortium (every tenant's scope),
    the command pipeline, tokens, the read models and the scan work queue."""

    settings: Settings
    database: Database
    nats: Nats
    consortium: Consortium
    tokens: TokenService
    watch: AppliedWatch
    pipeline: CommandPipeline
    scan_jobs: WorkQueue
    share: TenantShare
    client_usage: ClientUsage
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="import"))

    @property
    def reads(self) -> ViewReads:
        """The read models as the use cases read them."""
        return ViewReads(self)

    def desk(self, tenant: str) -> Desk:
        """A library's circulation desk."""
        return Desk(self.consortium.scope(tenant), self.reads)

    def lending_desk(self, tenant: str) -> InterlibraryDesk:
        """A library's interlibrary requests."""
        return InterlibraryDesk(self.consortium.scope(tenant),
                                Rota(self.reads, self.consortium.scope))

    def scope(self, tenant: str) -> TenantScope:
        """A tenant's scope."""
        return self.consortium.scope(tenant)

    @property
    def office(self) -> OfficeScope:
        """The office's own scope (shared records)."""
        return self.consortium.office_scope

    def close(self) -> None:
        """Stops background jobs and closes the database pool (NATS: the app's lifespan)."""
        self.background.shutdown(wait=True, cancel_futures=True)
        self.watch.close()
        self.consortium.close()
        self.consortium.servers.close()
        self.database.close()

    @contextmanager
    def view(self, kind: type[V]) -> Iterator[V]:
        """A read model's view at the generation that serves (its tables were made when the
        process started)."""
        with self.database.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            yield kind.serving(cur)

    def tenant_directory(self) -> list[ListedTenant]:
        """The directory read model, as the serving generation has it."""
        with self.view(TenantDirectoryView) as view:
            return view.tenants()


class ViewReads:
    """The read models' queries that the use cases need (desk, scan reports)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def item_on_loan(self, tenant: str, loan_id: str) -> str | None:
        """The barcode of the item an open loan lends."""
        with self.services.view(CirculationView) as view:
            return view.item_on_loan(tenant, loan_id)

    def lending(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        """An item's lending state."""
        with self.services.view(CirculationView) as view:
            found = view.lending(tenant, item_id)
        return dict(found) if found is not None else None

    def expired_pickups(self, now: datetime) -> list[tuple[str, str]]:
        """Copies whose pickup time has passed, by tenant."""
        with self.services.view(CirculationView) as view:
            return view.expired_pickups(now)

    def hold_records(self, tenant: str, borrower: str) -> list[str]:
        """The records a borrower holds a place for, waiting or on the shelf."""
        with self.services.view(CirculationView) as view:
            return [str(h["record_id"]) for h in view.holds(tenant, borrower)]

    def items_where(self, tenant: str, *, epcs: list[str] | None = None,
                    shelf: str | None = None) -> list[dict[str, Any]]:
        """Items with these EPCs, or on this shelf."""
        with self.services.view(LocalCatalogView) as view:
            return [dict(item) for item in view.items_where(tenant, epcs=epcs, shelf=shelf)]

    def lending_statuses(self, tenant: str, item_ids: list[str]) -> dict[str, str]:
        """ItemLending statuses of these items."""
        with self.services.view(CirculationView) as view:
            return view.statuses(tenant, item_ids)

    def union_entry_of_record(self, tenant: str, record_id: str) -> str | None:
        """The union catalog entry a member's record is in."""
        with self.services.view(UnionCatalogView) as view:
            return view.entry_of_record(tenant, record_id)

    def members_of(self, entry_id: str) -> list[str] | None:
        """A union catalog entry's records (tenant:record id), or None."""
        with self.services.view(UnionCatalogView) as view:
            return view.members_of(entry_id)

    def union_holdings(self, entry_id: str) -> list[Holding]:
        """Per member: copies of a union catalog entry held, and available now."""
        with self.services.view(UnionCatalogView) as view:
            return view.holdings(entry_id)

    def union_title(self, entry_id: str) -> str | None:
        """The title of a union catalog entry (None: no such entry)."""
        with self.services.view(UnionCatalogView) as view:
            entry = view.entry(entry_id)
        return entry["title"] if entry is not None else None

    def union_records(self, entry_id: str) -> list[tuple[str, str]]:
        """(member, record id) of a union catalog entry's member records."""
        with self.services.view(UnionCatalogView) as view:
            return [(r["tenant"], r["record_id"])
                    for r in view.records_of([entry_id]).get(entry_id, [])]

    def lendable_items(self, tenant: str, record_id: str) -> list[dict[str, Any]]:
        """A member's copies of a record on the shelf and not lent."""
        with self.services.view(LocalCatalogView) as view:
            items = [dict(i) for i in view.items_of(tenant, record_id)
                     if i["status"] == "available"]
        with self.services.view(CirculationView) as view:
            lent = view.statuses(tenant, [str(i["id"]) for i in items])
        return [i for i in items if lent.get(str(i["id"]), "available") == "available"]

    def lending_load(self, members: list[str], requester: str,
                     since: datetime) -> dict[str, tuple[int, int]]:
        """Per member: loans shipped since then, and loans shipped to the requester."""
        with self.services.view(LendingView) as view:
            return view.load(members, requester, since)

    def waiting_requests(self, state: str) -> list[tuple[str, UUID, str | None, datetime]]:
        """(tenant, request id, supplier, sent at) of requests in this state."""
        with self.services.view(LendingView) as view:
            return view.waiting(state)

    def overdue_requests(self, state: str, now: datetime) -> list[tuple[str, UUID]]:
        """(tenant, request id) of suppliers' requests in this state past their due date."""
        with self.services.view(LendingView) as view:
            return view.overdue(state, now)


def build_services(settings: Settings) -> Services:
    """Connects to the configured servers and readies the consortium."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_services needs resolved server URLs (start the runtime first)")
    database = Database(settings.database_url, settings.db_pool_size)
    database.open()
    kek = load_kek(settings.kek_path, create=settings.kek_file is None)
    check_kek(database, kek)
    servers = Servers(database, dict(settings.tenant_servers))
    consortium = Consortium(database, settings.db_lock_timeout_s, kek=kek, servers=servers)
    keys = load_signing_keys(database, kek, settings.signing_key_file)
    reload = (None if settings.signing_key_file else
              lambda: stored_signing_keys(database, kek))
    throttle = TokenThrottle(settings.token_failures_per_client,
                             settings.token_failures_per_address, settings.token_failure_window_s)
    tokens = TokenService(consortium, keys, settings.issuer, settings.token_ttl_s,
                          reload=reload, throttle=throttle)
    watch = AppliedWatch(settings.database_url)
    pipeline = CommandPipeline(watch, settings.db_pool_size, settings.read_your_writes_s)
    usage = ClientUsage(database, route=consortium.database_of)
    tokens.on_issued = lambda tenant, client_id: usage.token_issued(
        OFFICE_SCHEMA if tenant is None else tenant_schema(tenant), client_id)
    share = TenantShare(settings.tenant_concurrency, settings.tenant_rate,
                        burst=2 * settings.tenant_rate)
    return Services(settings, database, Nats(settings.nats_url), consortium, tokens, watch,
                    pipeline, scan_queue(settings), share, usage)


def scan_queue(settings: Settings) -> WorkQueue:
    """The work queue of scan jobs."""
    return WorkQueue(str(settings.nats_url), settings.scans_stream, settings.scans_subject,
                     "scan_workers", settings.scan_ack_wait_s, replicas=settings.nats_replicas)


def build_scan_worker(services: Services) -> ScanWorker:
    """A scan worker of this process."""
    return ScanWorker(services.consortium.scope, services.scan_jobs)


def build_relay(settings: Settings) -> Relay:
    """The relay of every tenant's event log into JetStream."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_relay needs resolved server URLs (start the runtime first)")
    return Relay(settings.database_url, settings.nats_url, log_name,
                 stream=settings.events_stream, subject_prefix=settings.nats_prefix,
                 replicas=settings.nats_replicas,
                 servers=[url for _, url in settings.tenant_servers])


def build_workers(settings: Settings, only: list[str] | None = None) -> list[ProjectionWorker]:
    """The worker of the projections the service runs (or of those named)."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_workers needs resolved server URLs (start the runtime first)")
    unknown = sorted(set(only or []) - set(READ_MODELS))
    if unknown:
        raise SettingsError(f"no projection named {', '.join(unknown)}; there are: "
                            f"{', '.join(sorted(READ_MODELS))}")
    chosen = [projection() for name, projection in READ_MODELS.items()
              if not only or name in only]
    # One consumer for all of them: each event fetched, parsed and acked once per process.
    return [ProjectionWorker(chosen, settings.database_url, settings.nats_url,
                             stream=settings.events_stream, subject_prefix=settings.nats_prefix,
                             replicas=settings.nats_replicas)]


def build_processes(services: Services) -> ProcessRunner:
    """The runner of the service's process managers."""
    settings = services.settings
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_processes needs resolved server URLs (start the runtime first)")
    outbox = IllOutbox(services.database)
    outbox.create()
    managers = process_managers(Commands(services.consortium, services.pipeline),
                                services.lending_desk, outbox)

    async def sweep(stop: asyncio.Event) -> None:
        await sweep_pickups(services.desk, services.reads,
                            lambda: services.database.exclusive(SWEEP_LOCK_KEY), stop)

    async def rota_clock(stop: asyncio.Event) -> None:
        await sweep_rotas(services.consortium.scope, services.reads,
                          lambda: services.database.exclusive(ROTA_LOCK_KEY), stop)

    async def send_to_peers(stop: asyncio.Event) -> None:
        await sweep_outbox(outbox, stop)

    return ProcessRunner(managers, settings.database_url, settings.nats_url,
                         stream=settings.events_stream, subject_prefix=settings.nats_prefix,
                         replicas=settings.nats_replicas,
                         timers=[sweep, rota_clock, send_to_peers])


def projection_status(services: Services) -> list[dict[str, object]]:
    """Each projection's applied position and lag, per tenant (office included)."""
    servers = services.consortium.servers
    with ExitStack() as stack:
        cur = stack.enter_context(stack.enter_context(services.database.connection()).cursor(
            row_factory=tuple_row))
        others = [stack.enter_context(stack.enter_context(servers.get(name).connection())
                                      .cursor(row_factory=tuple_row))
                  for name in servers.names[1:]]
        return catalogue.status(cur, READ_MODELS, log_name, others)


def create_read_models(services: Services) -> None:
    """Creates every read model's tables (serving generations) and the tracking tables: done
    once when a process starts, never on a query."""
    with services.database.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        catalogue.create_tables(cur, READ_MODELS.values())


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
