"""Faults the pipeline survives, with real processes: a worker SIGKILLed mid-flow, NATS
restarted while events flow, PostgreSQL stopped while the relay runs, the active relay
SIGKILLed while a standby waits. Afterwards the read model equals the event stores' truth
and the stream holds every tenant's events once each, in order."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from infra.database import Database
from infra.embedded import EmbeddedRuntime, free_port
from infra.nats import connect
from infra.relay import RELAY_LOCK_KEY
from projections.activity.projection import Activity
from tenants.consortium import Consortium
from tests.integration.test_projections import _from_event_store, _read_model
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]  # the per-test database fixture of the relay tests
NATS_BIN = Path(sys.prefix) / "bin" / "nats-server"
LOGS: dict[str, Path] = {}  # the last started process of each role: its output


class OwnNats:
    """A NATS server of this test's own, so it can be restarted."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([str(NATS_BIN), "-a", "127.0.0.1", "-p", str(self.port),
                                         "-js", "-sd", str(self.store)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def _role(role: str, db: str, nats_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": db, "NATS_URL": nats_url}
    path = data_dir / f"{role}-{time.monotonic_ns()}.log"  # read it when a test fails
    log = path.open("wb")
    LOGS[role] = path
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--role", role,
                             "--data-dir", str(data_dir), "--port", "0",
                             "--metrics-port", "0"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def _lag(db: str) -> int:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'events'").fetchall()
        total = 0
        # A worker restarted on a busy machine may not have made its tables yet: all lag.
        tracked = conn.execute("SELECT to_regclass('projections.tracking')").fetchone()[0]
        for (schema,) in rows:
            tenant = schema.removeprefix("t_").replace("_", "-")
            row = tracked and conn.execute(
                "SELECT position FROM projections.tracking WHERE projection = 'activity' "
                "AND generation = 1 AND tenant = %s", (tenant,)).fetchone()
            position = row[0] if row else 0
            total += conn.execute(
                f'SELECT count(*) FROM "{schema}".events WHERE notification_id > %s',  # noqa: S608
                (position,)).fetchone()[0]
    return int(total)


def _own_servers(database_url: str, tmp_path: Path,
                 prefix: str) -> tuple[OwnNats, str, Database, Consortium]:
    """A NATS of the test's own, and three tenants to write to."""
    nats_server = OwnNats(tmp_path / "nats")
    nats_server.start()
    database = Database(database_url, 2, name="faults-writer")
    consortium = Consortium(database)
    for t in range(3):
        consortium.register_tenant(f"{prefix}-{t}", f"{prefix} {t}", None)
    return nats_server, f"nats://127.0.0.1:{nats_server.port}", database, consortium


def test_worker_killed_and_nats_restarted_lose_and_duplicate_nothing(
    database_url: str, tmp_path: Path
) -> None:
    nats_server, nats_url, database, consortium = _own_servers(database_url, tmp_path, "fault")

    def write() -> None:
        for i in range(240):
            consortium.create_client(f"fault-{i % 3}", f"client {i}", ["ill"])
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    relay = _role("relay", database_url, nats_url, tmp_path)
    worker = _role("projections", database_url, nats_url, tmp_path)
    try:
        writer.start()
        time.sleep(1.0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker = _role("projections", database_url, nats_url, tmp_path)
        time.sleep(0.5)
        nats_server.stop()
        time.sleep(1.0)
        nats_server.start()
        writer.join()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _lag(database_url) > 0:
            time.sleep(0.2)
        assert _lag(database_url) == 0
        assert _read_model(database_url, Activity()) == _from_event_store(database_url)
    finally:
        for process in (worker, relay):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        nats_server.stop()
        database.close()


def _store_logs(db: str) -> dict[str, list[int]]:
    """Every tenant's notification ids, in order, straight from the event stores."""
    with psycopg.connect(db) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'events'").fetchall()]
        return {
            schema.removeprefix("t_").replace("_", "-"): [r[0] for r in conn.execute(
                f'SELECT notification_id FROM "{schema}".events '  # noqa: S608
                "ORDER BY notification_id").fetchall()]
            for schema in schemas
        }


def _stream_logs(nats_url: str, stream: str = "CS_EVENTS") -> dict[str, list[int]]:
    """Every tenant's positions in the order the stream holds them; checks each link."""

    async def read() -> dict[str, list[int]]:
        nc = await connect(nats_url)
        js = nc.jetstream()
        info = await js.stream_info(stream)
        logs: dict[str, list[int]] = {}
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            headers = (await js.get_msg(stream, seq)).headers or {}
            log = logs.setdefault(headers["Cs-Tenant"], [])
            assert int(headers["Cs-Previous"]) == (log[-1] if log else 0)
            log.append(int(headers["Cs-Position"]))
        await nc.close()
        return logs

    import asyncio  # noqa: PLC0415

    return asyncio.run(read())


def _settle(db: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _lag(db) > 0:
        time.sleep(0.2)
    assert _lag(db) == 0


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_postgres_stopped_while_relay_runs_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    runtime = EmbeddedRuntime(tmp_path / "runtime")
    endpoints = runtime.start()
    db, nats_url = endpoints.database_url, endpoints.nats_url
    relay = worker = None
    try:
        database = Database(db, 2, name="faults-writer")
        consortium = Consortium(database)
        for t in range(3):
            consortium.register_tenant(f"pg-{t}", f"PG {t}", None)
        relay = _role("relay", db, nats_url, tmp_path)
        worker = _role("projections", db, nats_url, tmp_path)
        _wait_for(lambda: _relay_lock_held(db) and _tracking_exists(db))
        for i in range(150):  # the relay and the worker are busy with these when PG stops
            consortium.create_client(f"pg-{i % 3}", f"client {i}", ["ill"])
        database.close()
        runtime.stop_postgres()
        time.sleep(2.0)
        runtime.start_postgres()
        database = Database(db, 2, name="faults-writer")
        consortium = Consortium(database)
        for i in range(60):
            consortium.create_client(f"pg-{i % 3}", f"after {i}", ["ill"])
        database.close()
        _settle(db)
        assert _read_model(db, Activity()) == _from_event_store(db)
        assert _stream_logs(nats_url) == _store_logs(db)
        metrics_url = re.search(r"metrics at (\S+)", LOGS["relay"].read_text())
        assert metrics_url is not None
        with urllib.request.urlopen(metrics_url.group(1)) as response:  # noqa: S310
            text = response.read().decode()
        assert 'commonshelf_events_relayed_total{tenant="pg-1"} 70.0' in text
        assert relay.poll() is None  # both rode it out
        assert worker.poll() is None
    finally:
        _stop(*(p for p in (worker, relay) if p is not None))
        runtime.stop()


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the processes did not come up"
        time.sleep(0.1)


def _tracking_exists(db: str) -> bool:
    with psycopg.connect(db) as conn:
        return conn.execute("SELECT to_regclass('projections.tracking')").fetchone()[0] is not None


def _relay_lock_held(db: str) -> bool:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND granted", (RELAY_LOCK_KEY,)).fetchone()[0] == 1


def test_active_relay_killed_standby_takes_over_in_order(
    database_url: str, tmp_path: Path
) -> None:
    nats_server, nats_url, database, consortium = _own_servers(database_url, tmp_path, "relay")
    active = _role("relay", database_url, nats_url, tmp_path)
    _wait_for(lambda: _relay_lock_held(database_url))
    standby = _role("relay", database_url, nats_url, tmp_path)
    worker = _role("projections", database_url, nats_url, tmp_path)

    def write() -> None:
        for i in range(240):
            consortium.create_client(f"relay-{i % 3}", f"client {i}", ["ill"])
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    try:
        writer.start()
        time.sleep(1.0)
        active.send_signal(signal.SIGKILL)
        active.wait(timeout=10)
        writer.join()
        _settle(database_url)
        assert _read_model(database_url, Activity()) == _from_event_store(database_url)
        assert _stream_logs(nats_url) == _store_logs(database_url)
    finally:
        _stop(worker, standby)
        nats_server.stop()
        database.close()
