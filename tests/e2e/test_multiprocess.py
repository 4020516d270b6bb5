"""Every role as its own OS process, tenants on two PostgreSQL servers: two API processes,
two projection workers, two process-manager processes, two scan workers and two relays (one
standby). Load goes through both APIs while the active relay and one projection worker are
SIGKILLed and a tenant moves to the other server; afterwards every read model equals a
rebuild from scratch, and every record the libraries were told was created is in its log.

Run alone: `pytest -m multiprocess`."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from api.dependencies import build_services
from infra.embedded import free_port
from infra.relay import RELAY_LOCK_KEY
from infra.settings import Settings
from localization_ext.simulate import Setup, simulate, write_batch
from projections.postgres import active_generation
from projections.rebuild import rebuild
from tenants.consortium import log_name
from tenants.read_models import READ_MODELS
from tests.integration.tenants.test_placement import _database

pytestmark = [pytest.mark.multiprocess, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
TENANTS = {"mp-a": "default", "mp-b": "second", "mp-c": "default"}  # mp-c moves to second
ROUNDS = 6
SCOPES = ["library:read", "library:write", "inventory:upload"]
CREATE = """mutation($input: RecordInput!) { createRecord(input: $input) { record { id } } }"""
ADD_ITEM = """mutation($input: AddItemInput!) { addItem(input: $input) { item { id } } }"""
REGISTER = """mutation($input: RegisterPatronInput!) { registerPatron(input: $input) {
  patron { id } } }"""
CHECK_OUT = """mutation($item: String!, $patron: String!) { checkOut(input: {itemBarcode: $item,
  patronBarcode: $patron}) { loan { id } } }"""
CHECK_IN = """mutation($item: String!) { checkIn(input: {itemBarcode: $item}) {
  item { status } } }"""
# Columns that differ between any two writes of the same content: the union catalog's
# records carry a random stamp of the write their cached match profile was made from.
NOT_CONTENT = {"union_catalog.records": {"stamp"}}
SHARE = """mutation($id: ID!) { shareRecord(input: {recordId: $id}) { sharedRecord { id } } }"""


class Cluster:
    """The service's processes, by name, with their logs in one directory."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.api_ports: list[int] = []

    def start(self, name: str, role: str) -> int:
        port = free_port()
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--role", role, "--port", str(port),
                 "--data-dir", str(self.logs / "data")],  # PGAPPNAME: its sessions, by name
                env={**self.env, "PGAPPNAME": name}, stdout=log, stderr=subprocess.STDOUT)
        self.ports[name] = port
        if role == "api":
            self.api_ports.append(port)
        return port

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(port: int, path: str = "/readyz") -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _relay_leader(url: str) -> str | None:
    """The name of the relay process that holds the relay lock (None: none does)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (RELAY_LOCK_KEY,)).fetchone()
    return str(row[0]) if row else None


@pytest.fixture
def two_servers(servers: tuple[str, str]) -> Iterator[tuple[str, str, str]]:
    """Two databases of this test's own: the default server and `second`; NATS."""
    with _database(servers[0], "cs_mp") as default, _database(servers[0], "cs_mpsecond") as other:
        yield default, other, servers[1]


class Library:
    """One library's load through both API processes, alternating."""

    def __init__(self, slug: str, token: str, ports: list[int]) -> None:
        self.slug = slug
        self.token = token
        self.ports = itertools.cycle(ports)
        self.records: list[str] = []
        self.done = 0

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        for attempt in range(60):  # an API process busy or briefly without a relay: again
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{next(self.ports)}/graphql", timeout=30,
                    headers={"Authorization": f"Bearer {self.token}"},
                    json={"query": query, "variables": variables}).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            errors = answer.get("errors")
            if errors and errors[0].get("extensions", {}).get("code") == "NOT_YET_VISIBLE":
                return dict(answer.get("data") or {})  # recorded; the read model lags
            assert not errors, (self.slug, attempt, errors)
            self.done += 1
            return dict(answer["data"])
        raise AssertionError(f"{self.slug}: no API process answered")

    def work(self) -> None:
        for n in range(ROUNDS):
            tag = f"{self.slug}-{n}"
            record = self.call(CREATE, input={"title": f"Record {tag}"})
            record_id = record["createRecord"]["record"]["id"]
            self.records.append(record_id)
            self.call(ADD_ITEM, input={"recordId": record_id, "barcode": f"I-{tag}",
                                       "location": {"branch": "MAIN", "shelf": "A-01"}})
            self.call(REGISTER, input={"barcode": f"P-{tag}", "name": f"Reader {n}",
                                       "patronGroup": "staff", "expiresOn": "2031-01-01"})
            self.call(CHECK_OUT, item=f"I-{tag}", patron=f"P-{tag}")
            if n % 2:
                self.call(CHECK_IN, item=f"I-{tag}")
            if n == 1:
                self.call(SHARE, id=record_id)


def _heads(urls: list[str]) -> dict[str, int]:
    heads: dict[str, int] = {}
    for url in urls:
        with psycopg.connect(url) as conn:
            for (schema,) in conn.execute("SELECT schemaname FROM pg_tables "
                                          "WHERE tablename = 'events'").fetchall():
                row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}")
                                   .format(sql.Identifier(schema, "events"))).fetchone()
                heads[log_name(schema)] = max(heads.get(log_name(schema), 0),
                                              int(row[0]) if row else 0)
    return heads


def _behind(default: str, heads: dict[str, int]) -> list[str]:
    """The (member, log) pairs of projections and process managers not yet at the head."""
    lagging = []
    with psycopg.connect(default) as conn:
        for table, member in (("projections.tracking", "projection"),
                              ("processes.tracking", "manager")):
            rows = conn.execute(f"SELECT {member}, tenant, max(position) FROM {table} "  # noqa: S608
                                "GROUP BY 1, 2").fetchall()
            applied = {(r[0], r[1]): int(r[2]) for r in rows}
            for name in {r[0] for r in rows}:
                lagging += [f"{name}:{log}" for log, head in heads.items()
                            if applied.get((name, log), 0) < head]
    return lagging


def _settled(default: str, urls: list[str]) -> None:
    """Waits until every projection and process manager has applied every log's head, and
    no head moved meanwhile (process managers write events of their own)."""
    deadline = time.monotonic() + 60
    previous: dict[str, int] = {}
    while time.monotonic() < deadline:
        heads = _heads(urls)
        if heads == previous and not _behind(default, heads):
            return
        previous = heads
        time.sleep(1)
    raise AssertionError(f"not settled: {_behind(default, _heads(urls))}")


def _snapshot(url: str) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every row of every read model's serving tables, as a multiset (but the columns that
    are no content: NOT_CONTENT)."""
    found: dict[str, Counter[tuple[Any, ...]]] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for name, projection_class in READ_MODELS.items():
            projection = projection_class(generation=active_generation(cur, name))
            for table in projection.tables:
                rows = cur.execute(sql.SQL("SELECT * FROM {}").format(
                    sql.Identifier("projections", projection.table(table)))).fetchall()
                skipped = NOT_CONTENT.get(f"{name}.{table}", set())
                kept = [i for i, column in enumerate(cur.description or [])
                        if column.name not in skipped]
                found[f"{name}.{table}"] = Counter(
                    tuple(_hashable(row[i]) for i in kept) for row in rows)
    return found


def _hashable(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _seed(default: str, second: str, nats_url: str, env: dict[str, str],
          data_dir: Path) -> dict[str, tuple[str, str]]:
    """The libraries, each on its server, and a client of each."""
    settings = Settings(data_dir=data_dir, database_url=default, nats_url=nats_url,
                        db_pool_size=2, kek_file=Path(env["COMMONSHELF_KEK_FILE"]),
                        nats_prefix=env["COMMONSHELF_NATS_PREFIX"],
                        tenant_servers=(("second", second),))
    services = build_services(settings)
    try:
        clients = {}
        for slug, server in TENANTS.items():
            services.consortium.register_tenant(slug, f"Library {slug}", None, server=server)
            issued = services.consortium.create_client(slug, "load", SCOPES)
            clients[slug] = (issued.client.client_id, issued.secret)
        return clients
    finally:
        services.close()


def _token(port: int, client: tuple[str, str]) -> str:
    answer = httpx.post(f"http://127.0.0.1:{port}/oauth/token", auth=client, timeout=30,
                        data={"grant_type": "client_credentials"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _scan(port: int, token: str, slug: str) -> str:
    batch = io.StringIO()
    write_batch(simulate(Setup(books=6, spacing_m=0.03, seed=5)), batch, shelf="A-01",
                batch_id=f"{slug}-pass-1")
    answer = httpx.post(f"http://127.0.0.1:{port}/robots/scans", timeout=30,
                        content=gzip.compress(batch.getvalue().encode()),
                        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip",
                                 "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["scan_id"])


def _scan_done(port: int, token: str, scan_id: str) -> bool:
    answer = httpx.get(f"http://127.0.0.1:{port}/robots/scans/{scan_id}", timeout=10,
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert answer["status"] != "failed", answer
    return bool(answer["status"] == "done")


class _Phases:
    """Prints when each phase of the test ended (pytest shows it when the test fails, or
    with -s): where its time went."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    def __call__(self, name: str) -> None:
        print(f"{time.monotonic() - self.began:6.1f} s  {name}")


def _start_all(cluster: Cluster, default: str) -> tuple[str, str]:
    """Starts every process at once (their start is most of this test's time); returns
    once both APIs are ready, one relay leads and the other stands by: (leader, standby)."""
    for n in (1, 2):
        cluster.start(f"relay-{n}", "relay")
        cluster.start(f"projections-{n}", "projections")
        cluster.start(f"processes-{n}", "processes")
        cluster.start(f"scans-{n}", "scans")
        cluster.start(f"api-{n}", "api")
    for port in cluster.api_ports:
        _until(lambda port=port: _ready(port), 90, f"the API on port {port}")
    _until(lambda: _relay_leader(default) is not None, 90, "a relay to lead")
    leader = str(_relay_leader(default))
    standby = "relay-2" if leader == "relay-1" else "relay-1"
    _until(lambda: _ready(cluster.ports[standby], "/healthz"), 90, "the standby relay")
    return leader, standby


def test_every_role_apart_on_two_servers_survives_kills_and_a_move(
        two_servers: tuple[str, str, str], tmp_path: Path) -> None:
    default, second, nats_url = two_servers
    env = {**os.environ, "DATABASE_URL": default, "NATS_URL": nats_url,
           "COMMONSHELF_TENANT_SERVERS": f"second={second}", "COMMONSHELF_DB_POOL_SIZE": "3",
           "COMMONSHELF_NATS_PREFIX": f"csmp{secrets.token_hex(4)}",
           "COMMONSHELF_SCAN_ACK_WAIT_S": "10"}
    phase = _Phases()
    clients = _seed(default, second, nats_url, env, tmp_path / "seed")
    phase("seeded")
    cluster = Cluster(env, tmp_path)
    try:
        leader, standby = _start_all(cluster, default)
        phase("every process started")
        ports = cluster.api_ports
        libraries = [Library(slug, _token(ports[0], client), ports)
                     for slug, client in clients.items()]
        scan_id = _scan(ports[1], libraries[1].token, "mp-b")
        load = [threading.Thread(target=library.work) for library in libraries]
        for thread in load:
            thread.start()
        _until(lambda: sum(lib.done for lib in libraries) >= 12, 60, "the load to start")
        phase("load under way")
        cluster.kill(leader)  # the active relay, mid-run
        cluster.kill("projections-1")
        mover = subprocess.run([sys.executable, "-m", "api.cli", "tenants", "move", "mp-c",
                                "--to", "second"], env=env, capture_output=True, text=True,
                               timeout=90, check=False)
        for thread in load:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in load)
        phase("moved, load done")
        assert mover.returncode == 0, mover.stderr
        assert "verified:" in mover.stderr
        assert all(lib.done >= 4 * ROUNDS for lib in libraries)
        _until(lambda: _scan_done(ports[0], libraries[1].token, scan_id), 60, "the scan")
        _settled(default, [default, second])
        phase("settled")
        assert _relay_leader(default) == standby  # the standby took over and leads
    finally:
        cluster.stop()

    for library in libraries:  # no record a library was told of is lost
        where = default if library.slug == "mp-a" else second
        with psycopg.connect(where) as conn:
            created = {str(r[0]) for r in conn.execute(sql.SQL(
                "SELECT originator_id FROM {} WHERE originator_version = 1").format(
                    sql.Identifier("t_" + library.slug.replace("-", "_"), "events")))}
        assert set(library.records) <= created, library.slug
    with psycopg.connect(default) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 't_mp_c'"
                            ).fetchone() == (0,)  # its old copy is gone

    phase("stopped, records checked")
    live = _snapshot(default)
    for projection_class in READ_MODELS.values():
        rebuild(projection_class, default, log_name, servers=[second])
    rebuilt = _snapshot(default)
    phase("rebuilt")
    assert live.keys() == rebuilt.keys()
    for table, rows in live.items():
        assert rows == rebuilt[table], f"{table}: live and rebuilt differ"
    assert sum(len(rows) for rows in live.values()) > 0
