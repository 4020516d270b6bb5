"""The `commonshelf` command: serve, demo, init, tenants, clients, projections, relay, catalog."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any

from psycopg.rows import tuple_row

from api import placement_cli
from api.dependencies import (
    Services,
    build_processes,
    build_relay,
    build_scan_worker,
    build_services,
    build_workers,
    create_read_models,
    projection_status,
)
from api.scan_process import scan_worker_process
from api.staff_cli import cmd_staff, demo_staff_lines, seed_demo_staff, staff_parser
from domain.catalog.errors import CatalogError
from domain.catalog.record import Record
from domain.shared.description import identity_of
from domain.staff.errors import StaffError
from infra.embedded import EmbeddedRuntime, EmbeddedRuntimeError
from infra.kek import KeyEncryptionKeyError, load_kek
from infra.logformat import LOG_FORMATS, json_logging
from infra.marc import MarcFormatError
from infra.relay import Relay, RepublishRefusedError
from infra.scan_batch import ScanBatchError, read_batch
from infra.settings import Settings, SettingsError
from infra.signing import rotate_signing_key
from projections.parked import ParkedEventError, create_parked, parked
from projections.parked import retry as retry_parked
from projections.parked import skip as skip_parked
from projections.rebuild import rebuild
from projections.runner import ProjectionWorker
from tenants.consortium import IssuedClient, log_name
from tenants.errors import TenancyError
from tenants.imports import ImportSummary, MarcImport
from tenants.processes.runner import ProcessRunner
from tenants.read_models import READ_MODELS
from tenants.scope import OFFICE, OFFICE_SCHEMA, tenant_schema
from tenants.tenant import Tenant

DEMO_LIBRARIES = [
    ("central-university", "Central University Library", "XX-CUL"),
    ("riverside-public", "Riverside Public Library", "XX-RPL"),
    ("harbour-college", "Harbour College Library", None),
]
LIBRARY_SCOPES = ["library:read", "library:write", "ill", "inventory:upload"]


@contextmanager
def running_services(data_dir: str | None) -> Iterator[Services]:
    """The services, on the configured servers or on the data directory's embedded ones."""
    settings = Settings.from_env(data_dir)
    runtime: EmbeddedRuntime | None = None
    if settings.embedded:
        runtime = EmbeddedRuntime(settings.data_dir)
        endpoints = runtime.start()
        settings = settings.with_servers(endpoints.database_url, endpoints.nats_url)
    try:
        services = build_services(settings)
        try:
            yield services
        finally:
            services.close()
    finally:
        if runtime is not None:
            runtime.stop()


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    """The tenant's public shape, as the REST API gives it."""
    return {"slug": tenant.slug, "name": tenant.name, "isil": tenant.isil,
            "status": tenant.status, "suspension_reason": tenant.suspension_reason}


def client_json(issued: IssuedClient) -> dict[str, Any]:
    """A new client with its secret (shown once)."""
    return {"client_id": issued.client.client_id, "client_secret": issued.secret,
            "scopes": issued.client.scopes, "tenant": issued.tenant}


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False) if args.json else text)


def _http_server(app: Any, host: str, port: int, log_level: str, *,
                 log_config: dict[str, Any] | None = None, drain_s: float = 0) -> Any:
    """uvicorn, shutting down gracefully on SIGINT/SIGTERM and then returning to us.

    uvicorn re-raises the signal after its own shutdown, which would kill this process
    before it stops the embedded servers; here the signal only asks it to exit. SIGTERM
    (an orchestrator's) first drains for `drain_s`: /readyz answers 503, so load balancers
    stop sending, while requests are still served; then uvicorn stops accepting and
    finishes those in flight. A second signal, or SIGINT, stops at once.
    """
    import uvicorn  # noqa: PLC0415 (only serve needs it)
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.drain_then_exit)
            yield

        def drain_then_exit(self, sig: int, frame: Any) -> None:
            draining: threading.Event = app.state.draining
            if sig != signal.SIGTERM or drain_s <= 0 or draining.is_set():
                self.handle_exit(sig, frame)
                return
            draining.set()
            logging.getLogger("commonshelf").info(
                "draining: /readyz answers 503 for %s s, then the server stops", drain_s)
            timer = threading.Timer(drain_s, self.handle_exit, (sig, frame))
            timer.daemon = True
            timer.start()

    return Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                 log_config=log_config or LOGGING_CONFIG,
                                 server_header=False))


def cmd_serve(args: argparse.Namespace, seed: Callable[[Services], str] | None = None) -> int:
    """Runs the HTTP API until SIGINT/SIGTERM, then stops the embedded servers."""
    from api.app import create_app  # noqa: PLC0415

    log_config = json_logging(args.log_level) if args.log_format == "json" else None
    announce = _announcer(log_config is not None)
    background_role = args.role in ("relay", "projections", "scans", "processes")
    # The API's port is taken before anything starts or a URL is printed.
    listening = None if background_role else listening_socket(
        args.host, args.port, reuse_port=args.reuse_port,
        how_to_choose=_how_to_choose_port(args))
    with running_services(args.data_dir) as services:
        relay = build_relay(services.settings) if args.role in ("all", "relay") else None
        only = [n for group in args.projections or [] for n in group.split(",") if n]
        workers = (build_workers(services.settings, only)
                   if args.role in ("all", "projections") else [])
        # in `all`, scans are localized by a child process (api.scan_process), never here
        scan_workers = [build_scan_worker(services)] if args.role == "scans" else []
        processes = [build_processes(services)] if args.role in ("all", "processes") else []
        if listening is None:
            create_read_models(services)  # a role may read a view: none creates tables
            return _background_only(services, [*([relay] if relay else []), *workers,
                                               *scan_workers, *processes], args, announce)
        banner = seed(services) if seed else ""
        app = create_app(services, relay, workers, scan_workers, processes)
        _settle_garbage_collector()
        port = listening.getsockname()[1]  # --port 0: the one the system chose
        url = f"http://{args.host}:{port}"
        if args.metrics_port is not None:
            announce(f"metrics at {_serve_metrics(args.metrics_host, args.metrics_port)}")
        announce(f"{banner}CommonShelf is serving at {url}  (GraphQL: {url}/graphql, "
                 f"API docs: {url}/docs)")
        server = _http_server(app, args.host, port, args.log_level, log_config=log_config,
                              drain_s=services.settings.drain_s)
        with (scan_worker_process(services.settings, args.log_level, args.log_format)
              if args.role == "all" else nullcontext()):
            server.run(sockets=[listening])
    return 0


def _how_to_choose_port(args: argparse.Namespace) -> str:
    another = args.port + 1 if 0 < args.port < 65535 else 8080
    if args.command == "demo":
        return (f"choose another: make demo PORT={another} (or commonshelf demo "
                f"--port {another})")
    return f"choose another: commonshelf serve --port {another}"


def listening_socket(host: str, port: int, *, reuse_port: bool = False,
                     how_to_choose: str = "") -> socket.socket:
    """The API's listening socket, bound before anything starts, so a port in use is said
    at once (and which), not after a URL was printed. With `reuse_port`, other API
    processes on this host may bind it too (SO_REUSEPORT): the kernel spreads connections
    over them, one process per core."""
    if not 0 <= port <= 65535:
        raise SettingsError(f"port {port} is not a TCP port (0-65535); {how_to_choose}")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise SettingsError(f"port {port} on {host} is already in use (another "
                                f"CommonShelf, or another program); {how_to_choose}") from None
        if error.errno == errno.EACCES:
            raise SettingsError(f"port {port} on {host} needs privileges this user lacks; "
                                f"{how_to_choose}") from None
        raise SettingsError(f"cannot listen on {host}:{port} ({error.strerror}): HOST must "
                            "be an address of this machine (127.0.0.1, 0.0.0.0, ::)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _settle_garbage_collector() -> None:
    """Moves what startup built (schema, routes, modules) out of the collector's sight and
    collects young objects less often: each request allocates thousands of short-lived
    objects, and full collections kept walking the long-lived ones (about a tenth of the
    server's CPU under load)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def _announcer(structured: bool) -> Callable[[str], None]:
    """How serve tells its operator what it runs: a log record when logs are JSON lines,
    otherwise a plain line on stdout."""
    if structured:
        return logging.getLogger("commonshelf").info
    return lambda text: print(text, flush=True)


class _ThreadServer:
    """uvicorn in a thread of its own, beside the process's main work: it leaves signals to
    the main thread (which stops the process, and with it this daemon thread)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn  # noqa: PLC0415 (only serve needs it)

        class Server(uvicorn.Server):
            @contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                            server_header=False, lifespan="off"))
        self.host = host

    def start(self) -> str:
        """Starts listening; the base URL (with the port the system chose for port 0)."""
        thread = threading.Thread(target=self.server.run, daemon=True, name="http-side")
        thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise SettingsError(f"could not listen on {self.host}: see the log above")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"


def _serve_metrics(host: str, port: int) -> str:
    """The metrics without a token, on a port of their own (127.0.0.1 unless told)."""
    from api.rest.metrics import metrics_app  # noqa: PLC0415

    return _ThreadServer(metrics_app(), host, port).start() + "/metrics"


def _background_only(services: Services, runners: list[Any], args: argparse.Namespace,
                     announce: Callable[[str], None]) -> int:
    """Runs the relay, projection or scan workers until SIGINT/SIGTERM; HTTP serves
    /healthz and /metrics (with a token of the metrics scope) on --port, and the metrics
    without a token on --metrics-port."""
    from api.app import create_background_app  # noqa: PLC0415

    url = _ThreadServer(create_background_app(services), args.host, args.port).start()
    announce(f"HTTP at {url} (/healthz; /metrics for a token with the metrics scope)")
    if args.metrics_port is not None:
        announce(f"metrics at {_serve_metrics(args.metrics_host, args.metrics_port)}")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        names = ", ".join(_runner_name(r) for r in runners)
        announce(f"CommonShelf running: {names}")
        await asyncio.gather(*(r.run(stop) for r in runners))

    asyncio.run(run())
    return 0


def _runner_name(runner: Any) -> str:
    if isinstance(runner, Relay):
        return "relay (standby until it holds the relay lock)"
    if isinstance(runner, ProjectionWorker):
        return f"projections {runner.name}"
    if isinstance(runner, ProcessRunner):
        return f"process managers {runner.name or '(none yet)'}"
    return "scan worker"


def _seed_demo_catalog(services: Services) -> None:
    """Two libraries catalogue the demo classics; the third shows one the first shares."""
    consortium = services.consortium
    demo_file = resources.files("api") / "demo_catalog.xml"
    for slug in ("central-university", "riverside-public"):
        with demo_file.open("rb") as stream:
            MarcImport(consortium.scope(slug).catalog).run(stream)
    central = consortium.scope("central-university").catalog
    moby = central.get_record(Record.create_id(identity_of({"control_number": "demo0001",
                                                            "control_source": "CSDEMO"})))
    shared = consortium.shared.contribute("central-university", moby.id, moby.description,
                                          moby.original_format, moby.original)
    central.link_to_shared(moby.id, shared.id)
    consortium.scope("harbour-college").catalog.use_shared_record(shared.id)


def seed_demo(services: Services) -> str:
    """Seeds the demo consortium once and returns the text that shows its credentials."""
    path = services.settings.data_dir / "demo-credentials.json"
    if path.exists():
        credentials = json.loads(path.read_text())
    else:
        consortium = services.consortium
        office = client_json(consortium.create_client(None, "demo office", ["consortium:admin"]))
        libraries = []
        for slug, name, isil in DEMO_LIBRARIES:
            if not consortium.office.slug_taken(slug):
                consortium.register_tenant(slug, name, isil)
            issued = consortium.create_client(slug, f"{name} staff", LIBRARY_SCOPES)
            libraries.append({"slug": slug, "name": name, **client_json(issued)})
        credentials = {"office": office, "libraries": libraries}
        _seed_demo_catalog(services)
    if "staff" not in credentials:  # a demo seeded before staff accounts existed
        credentials["staff"] = seed_demo_staff(services.consortium.staff,
                                               [lib["slug"] for lib in credentials["libraries"]])
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)
    lines = ["Demo consortium (credentials also in " + str(path) + "):",
             f"  office      {credentials['office']['client_id']}  "
             f"{credentials['office']['client_secret']}"]
    lines += [f"  {lib['slug']:<18} {lib['client_id']}  {lib['client_secret']}"
              for lib in credentials["libraries"]]
    lines.append("Get a token: curl -u CLIENT_ID:SECRET -d grant_type=client_credentials "
                 "http://HOST:PORT/oauth/token")
    lines += demo_staff_lines(credentials["staff"])
    return "\n".join(lines) + "\n"


def cmd_init(args: argparse.Namespace) -> int:
    """Creates a consortium office admin client and prints its secret once."""
    with running_services(args.data_dir) as services:
        issued = services.consortium.create_client(None, "consortium office admin",
                                                   ["consortium:admin"])
    out = {"client_id": issued.client.client_id, "client_secret": issued.secret}
    _emit(args, out, f"client_id:     {out['client_id']}\nclient_secret: "
          f"{out['client_secret']}\n(the secret is shown this once; keep it safe)")
    return 0


def cmd_tenants(args: argparse.Namespace) -> int:
    """Administers member libraries."""
    with running_services(args.data_dir) as services:
        office = services.consortium.office
        if args.action == "list":
            tenants = office.list_tenants()
            placed = services.consortium.placement.table.servers()
            _emit(args, [{**tenant_json(t), "server": placed.get(t.slug, "default")}
                         for t in tenants],
                  "\n".join(f"{t.slug:<24} {t.status:<10} {placed.get(t.slug, 'default'):<10} "
                            f"{t.name}" for t in tenants) or "no tenants yet")
            return 0
        if args.action in placement_cli.ACTIONS:
            placement_cli.emit(args, *placement_cli.run(args, services))
            return 0
        tenant = {
            "create": lambda: services.consortium.register_tenant(args.slug, args.name, args.isil,
                                                                  server=args.server),
            "show": lambda: office.get_tenant(args.slug),
            "suspend": lambda: services.consortium.suspend_tenant(args.slug, args.reason),
            "reactivate": lambda: services.consortium.reactivate_tenant(args.slug),
            "archive": lambda: services.consortium.archive_tenant(args.slug),
        }[args.action]()
        server = services.consortium.server_of(tenant.slug)
        _emit(args, {**tenant_json(tenant), "server": server},
              f"{tenant.slug}: {tenant.name} ({tenant.status}) on server {server}")
    return 0


def _progress_bar(done: int, total: int, unit: str = "events") -> None:
    """A progress bar on stderr when it is a terminal; a line per 10% otherwise."""
    width = 40
    filled = width * done // max(total, 1)
    line = f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {unit}"
    if sys.stderr.isatty():
        sys.stderr.write(line)
        sys.stderr.flush()
    elif done == total or done * 10 // max(total, 1) != (done - 1) * 10 // max(total, 1):
        sys.stderr.write(line.strip() + "\n")


def _parked_events(args: argparse.Namespace) -> int:
    """Lists parked events, or retries or skips one."""
    with running_services(args.data_dir) as services, services.database.connection() as conn, \
            conn.cursor(row_factory=tuple_row) as cur:
        create_parked(cur)
        conn.commit()
        if args.action == "parked":
            rows = parked(cur)
            _emit(args, rows, "\n".join(
                f"{r['name']:<16} {r['tenant']:<24} position {r['position']:>8}  "
                f"{r['status']:<7} {r['topic']}\n    {r['error']}" for r in rows)
                or "no parked events")
            return 0
        if args.name not in READ_MODELS:
            raise SettingsError(f"no projection named {args.name!r}; there are: "
                                f"{', '.join(sorted(READ_MODELS))}")
        projection = READ_MODELS[args.name]
        if args.action == "retry":
            schema = OFFICE_SCHEMA if args.tenant == OFFICE else tenant_schema(args.tenant)
            # the event is read from the server that holds the tenant, not the default one
            with services.consortium.database_of(schema).connection() as log_conn, \
                    log_conn.cursor(row_factory=tuple_row) as log:
                was = retry_parked(cur, projection, args.tenant, schema, args.position,
                                   log=log)
            done = "re-applied"
        else:
            was = skip_parked(cur, projection, args.tenant, args.position)
            done = "skipped for good"
    _emit(args, {"name": args.name, "tenant": args.tenant, "position": args.position,
                 "was": was, "result": "applied" if args.action == "retry" else "skipped"},
          f"{args.name}: tenant {args.tenant}'s event at position {args.position} {done}"
          + (" (the tenant's later events follow now)" if was == "held" else ""))
    return 0


def cmd_projections(args: argparse.Namespace) -> int:
    """Shows each projection's position and lag per tenant, rebuilds one, or lists and
    resolves parked events."""
    if args.action in ("parked", "retry", "skip"):
        return _parked_events(args)
    if args.action == "rebuild":
        if args.name not in READ_MODELS:
            raise SettingsError(f"no projection named {args.name!r}; there are: "
                                f"{', '.join(sorted(READ_MODELS))}")
        with running_services(args.data_dir) as services:
            url = str(services.settings.database_url)
            generation, events = rebuild(READ_MODELS[args.name], url, log_name, _progress_bar,
                                         [u for _, u in services.settings.tenant_servers])
        sys.stderr.write("\n")
        _emit(args, {"name": args.name, "generation": generation, "events": events},
              f"{args.name}: rebuilt from {events:,} events as generation {generation}, "
              "now serving")
        return 0
    with running_services(args.data_dir) as services:
        rows = projection_status(services)
    _emit(args, rows, "\n".join(
        f"{r['name']:<16} {r['tenant']:<24} position {r['position']:>8}  lag {r['lag']:>6}"
        for r in rows) or "no event logs yet")
    return 0


def cmd_relay(args: argparse.Namespace) -> int:
    """Publishes every tenant's log again into the events stream (after it was lost)."""
    with running_services(args.data_dir) as services:
        relay = build_relay(services.settings)

        def progress(tenant: str, published: int) -> None:
            sys.stderr.write(f"{tenant}: {published:,} events\n")

        stats = asyncio.run(relay.republish(replace=args.replace, progress=progress))
    out = {"stream": relay.stream, "logs": len(stats.by_tenant), "events": stats.published}
    _emit(args, out, f"{relay.stream}: {out['events']:,} events of {out['logs']} logs "
          "published again, each log in order; the relays go on from there")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    """Imports a MARC 21 or MARCXML file into a library's catalog."""
    path = Path(args.file)
    if not path.is_file():
        raise SettingsError(f"{path}: no such file")
    total = path.stat().st_size

    def progress(done: int, summary: ImportSummary) -> None:
        _progress_bar(done, total, f"bytes, {summary.read:,} records")

    with running_services(args.data_dir) as services:
        services.consortium.office.get_tenant(args.tenant)
        catalog = services.consortium.scope(args.tenant).catalog
        with path.open("rb") as stream:
            summary = MarcImport(catalog, progress).run(stream, args.format)
    sys.stderr.write("\n")
    out = summary.as_json()
    text = (f"{args.tenant}: read {summary.read:,} records: {summary.created:,} created, "
            f"{summary.updated:,} updated, {summary.unchanged:,} unchanged, "
            f"{summary.skipped:,} skipped; {summary.items_added:,} items added, "
            f"{len(summary.warnings):,} warnings")
    text += "".join(f"\n  record {e['record']} (byte {e['offset']}): {e['reason']}"
                    for e in summary.errors)
    text += "".join(f"\n  warning: record {w['record']} (byte {w['offset']}), field "
                    f"{w['field']} #{w['occurrence']}: {w['reason']}"
                    for w in summary.warnings)
    _emit(args, out, text)
    return 0


def cmd_inventory(args: argparse.Namespace) -> int:
    """Simulates a robot's shelf scan, or localizes the tags of one offline."""
    from localization_ext import Geometry, engines, localize_batch  # noqa: PLC0415 (numpy, on demand)
    from localization_ext.simulate import Impairments, Setup, simulate, truth, write_batch  # noqa: PLC0415

    if args.action == "simulate":
        impaired = Impairments(reflection=args.reflection, drift=args.drift,
                               antenna_phase=args.antenna_phase,
                               orientation=args.orientation, coupling=args.coupling,
                               multipath=args.multipath)
        if args.realistic:
            impaired = Impairments.realistic()
        scan = simulate(Setup(books=args.books, spacing_m=args.spacing_cm / 100,
                              seed=args.seed, impairments=impaired))
        if args.out:
            with Path(args.out).open("w") as out:
                write_batch(scan, out, batch_id=f"sim-{args.seed}")
        else:
            write_batch(scan, sys.stdout, batch_id=f"sim-{args.seed}")
        if args.truth:
            Path(args.truth).write_text(json.dumps(truth(scan), indent=2))
        return 0
    if args.engine not in engines():
        raise SettingsError(f"engine {args.engine!r} is not built here; use one of {engines()}")
    with Path(args.file).open() as stream:
        batch = read_batch(stream)
    started = time.perf_counter()
    c = batch.columns
    order = c["t"].argsort(kind="stable")  # the calibration follows the reader in time
    found = localize_batch(batch.tag[order], len(batch.epcs), c["t"][order], c["phase"][order],
                           c["freq"][order], c["ax"][order], c["ay"][order], c["rssi"][order],
                           engine=args.engine, geometry=Geometry.from_header(batch.header))
    seconds = time.perf_counter() - started
    tags = [{"epc": batch.epcs[e.index], "x": round(e.x, 4), "y": round(e.y, 4),
             "x_interval": [round(v, 4) for v in e.x_interval] if e.localized else None,
             "reads": e.reads, "confidence": e.confidence, "localized": e.localized}
            for e in found]
    _emit(args, {"tags": tags, "seconds": round(seconds, 3)},
          "\n".join(f"{t['epc']}  x {t['x']:+.3f} m  y {t['y']:+.3f} m  {t['reads']:>4} reads  "
                    f"{'ok' if t['localized'] else 'UNLOCALIZED'}" for t in tags)
          + f"\n{len(tags)} tags in {seconds:.2f} s ({args.engine})")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Prints the GraphQL schema as SDL (what docs/schema.graphql holds)."""
    from api.graphql.schema import sdl  # noqa: PLC0415 (strawberry, on demand)

    if not args.graphql:
        raise SettingsError("say which schema: commonshelf schema --graphql")
    sys.stdout.write(sdl())
    return 0


def cmd_clients(args: argparse.Namespace) -> int:
    """Issues and revokes API clients."""
    with running_services(args.data_dir) as services:
        if args.action == "create":
            scopes = [s for group in args.scope for s in group.split()]
            issued = services.consortium.create_client(args.tenant, args.name, scopes)
            out = client_json(issued)
            _emit(args, out, f"client_id:     {out['client_id']}\nclient_secret: "
                  f"{out['client_secret']}\nscopes:        {' '.join(out['scopes'])}")
        else:
            tenant, _ = services.consortium.registry_for(args.client_id)
            client = services.consortium.revoke_client(tenant, args.client_id)
            _emit(args, {"client_id": client.client_id, "revoked": True},
                  f"{client.client_id} revoked")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Rotates the token signing key (the previous one verifies until its tokens expire)."""
    with running_services(args.data_dir) as services:
        settings = services.settings
        if settings.signing_key_file is not None:
            raise SettingsError("COMMONSHELF_SIGNING_KEY_FILE is set: that file's key signs; "
                                "rotate it as docs/security.md says")
        kek = load_kek(settings.kek_path, create=False)
        kid = rotate_signing_key(services.database, kek, keep_s=settings.token_ttl_s)
    _emit(args, {"kid": kid}, f"new signing key {kid}; restart the API processes to sign "
          "with it (they verify with it at once)")
    return 0


def _keys_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`commonshelf keys rotate`."""
    keys = sub.add_parser("keys", help="the keys that sign access tokens")
    ksub = keys.add_subparsers(dest="action", required=True)
    ksub.add_parser("rotate", parents=[common], help="add a new signing key; drop those "
                    "replaced longer ago than a token lives")


def _access_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Who may act: `commonshelf keys` and `commonshelf staff`."""
    _keys_parser(sub, common)
    staff_parser(sub, common)


def _inventory_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`commonshelf inventory simulate|localize`."""
    inventory = sub.add_parser("inventory", help="shelf scans by inventory robots")
    isub = inventory.add_subparsers(dest="action", required=True)
    sim = isub.add_parser("simulate", help="write a realistic scan batch (NDJSON)")
    sim.add_argument("--books", type=int, default=40)
    sim.add_argument("--spacing-cm", type=float, default=3.0)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--out", help="the batch file (default: standard output)")
    sim.add_argument("--truth", help="also write the true positions to this JSON file")
    sim.add_argument("--realistic", action="store_true",
                     help="every impairment a real shelf shows, at its realistic default")
    for flag in ("reflection", "drift", "antenna-phase", "orientation", "coupling",
                 "multipath"):
        sim.add_argument(f"--{flag}", type=float, default=0.0,
                         help=f"strength of the {flag.replace('-', ' ')} impairment (0 = off)")
    loc = isub.add_parser("localize", parents=[common], help="place the tags of a batch")
    loc.add_argument("file")
    loc.add_argument("--engine", choices=["cython", "numpy"], default="cython")


def _parked_parsers(psub: Any, common: argparse.ArgumentParser) -> None:
    psub.add_parser("parked", parents=[common], help="events projections could not apply")
    for action, text in (("retry", "re-apply a parked event (success removes it)"),
                         ("skip", "drop a parked event for good (kept for the record)")):
        resolve = psub.add_parser(action, parents=[common], help=text)
        resolve.add_argument("name")
        resolve.add_argument("--tenant", required=True, help="the log's name: a slug, or office")
        resolve.add_argument("--position", required=True, type=int)


def _relay_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    relay = sub.add_parser("relay", help="the relay of event logs into JetStream")
    rsub = relay.add_subparsers(dest="action", required=True)
    republish = rsub.add_parser("republish", parents=[common],
                                help="publish every tenant's log again into a lost stream")
    republish.add_argument("--replace", action="store_true",
                           help="delete a stream that holds messages (perhaps a partial log) "
                                "and publish every log into a new one")


def _http_options() -> argparse.ArgumentParser:
    """The options of every command that serves HTTP."""
    http = argparse.ArgumentParser(add_help=False)
    http.add_argument("--host", default="127.0.0.1")
    http.add_argument("--port", type=int, default=8000)
    http.add_argument("--log-level", default="info")
    http.add_argument("--metrics-port", type=int, default=None,
                      help="also serve /metrics without a token on this port (0: any free)")
    http.add_argument("--metrics-host", default="127.0.0.1",
                      help="the address of --metrics-port (default 127.0.0.1: this host only)")
    http.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                      help="text, or json: one JSON object per line on stderr")
    return http


def parser() -> argparse.ArgumentParser:
    """The command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=os.environ.get("COMMONSHELF_DATA_DIR"),
                        help="embedded runtime data (default: ~/.local/share/commonshelf)")
    common.add_argument("--json", action="store_true", help="print JSON")
    http = _http_options()

    top = argparse.ArgumentParser(prog="commonshelf", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[common, http], help="run the service")
    serve.add_argument("--role", choices=["all", "api", "relay", "projections", "scans",
                                          "processes"],
                       default="all", help="process role: api, relay, projections, scans "
                                           "(scan workers), processes (process managers), "
                                           "or all in one (default)")
    serve.add_argument("--reuse-port", action="store_true",
                       help="share the port with other API processes on this host "
                            "(SO_REUSEPORT; run one per core)")
    serve.add_argument("--projections", action="append", metavar="NAME[,NAME]",
                       help="run only these projections' workers (default: all of them)")
    demo = sub.add_parser("demo", parents=[common, http], help="serve a seeded demo consortium")
    demo.set_defaults(role="all", projections=None, reuse_port=False)
    sub.add_parser("init", parents=[common], help="create the office's first admin client")

    tenants = sub.add_parser("tenants", help="administer member libraries")
    tsub = tenants.add_subparsers(dest="action", required=True)
    create = tsub.add_parser("create", parents=[common])
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--isil")
    create.add_argument("--server", help="the database server to place it on (default: the "
                        "one holding the fewest tenants)")
    tsub.add_parser("list", parents=[common])
    for action in ("show", "reactivate", "archive"):
        tsub.add_parser(action, parents=[common]).add_argument("slug")
    placement_cli.add_parsers(tsub, common)
    suspend = tsub.add_parser("suspend", parents=[common])
    suspend.add_argument("slug")
    suspend.add_argument("--reason", required=True)

    projections = sub.add_parser("projections", help="read models fed by the event pipeline")
    psub = projections.add_subparsers(dest="action", required=True)
    psub.add_parser("status", parents=[common])
    psub.add_parser("rebuild", parents=[common]).add_argument("name")
    _parked_parsers(psub, common)

    _relay_parser(sub, common)
    catalog = sub.add_parser("catalog", help="a library's catalog")
    catsub = catalog.add_subparsers(dest="action", required=True)
    imp = catsub.add_parser("import", parents=[common],
                            help="import MARC 21 (ISO 2709) or MARCXML records")
    imp.add_argument("--tenant", required=True, help="the library's slug")
    imp.add_argument("--format", choices=["auto", "marc21", "marcxml"], default="auto")
    imp.add_argument("file")

    _inventory_parser(sub, common)

    schema = sub.add_parser("schema", help="print an API schema")
    schema.add_argument("--graphql", action="store_true",
                        help="the GraphQL schema as SDL (also at GET /graphql/schema.graphql)")

    clients = sub.add_parser("clients", help="issue and revoke API clients")
    csub = clients.add_subparsers(dest="action", required=True)
    ccreate = csub.add_parser("create", parents=[common])
    ccreate.add_argument("--tenant", help="the library's slug; omit for an office client")
    ccreate.add_argument("--name", required=True)
    ccreate.add_argument("--scope", action="append", required=True,
                         help="a scope (repeat, or give several separated by spaces)")
    csub.add_parser("revoke", parents=[common]).add_argument("client_id")
    _access_parsers(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": cmd_serve,
        "demo": lambda a: cmd_serve(a, seed=seed_demo),
        "init": cmd_init,
        "tenants": cmd_tenants,
        "clients": cmd_clients,
        "projections": cmd_projections,
        "relay": cmd_relay,
        "catalog": cmd_catalog,
        "inventory": cmd_inventory,
        "keys": cmd_keys,
        "schema": cmd_schema,
        "staff": lambda a: cmd_staff(a, running_services),
    }
    try:
        return handlers[args.command](args)
    except (TenancyError, CatalogError, MarcFormatError, ScanBatchError, SettingsError,
            EmbeddedRuntimeError, KeyEncryptionKeyError, RepublishRefusedError,
            TimeoutError, ParkedEventError, StaffError) as error:
        if getattr(args, "json", False):
            print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
