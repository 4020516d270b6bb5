"""Faults the pipeline survives, with real processes: a worker SIGKILLed mid-flow, NATS
restarted while events flow. Afterwards the read model equals the event stores' truth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from infra.database import Database
from infra.embedded import free_port
from projections.activity.postgres import Activity
from tenants.consortium import Consortium
from tests.integration.test_projections import _from_event_store, _read_model
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]  # the per-test database fixture of the relay tests
NATS_BIN = Path(sys.prefix) / "bin" / "nats-server"


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
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--role", role,
                             "--data-dir", str(data_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _lag(db: str) -> int:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'events'").fetchall()
        total = 0
        for (schema,) in rows:
            tenant = schema.removeprefix("t_").replace("_", "-")
            row = conn.execute(
                "SELECT position FROM projections.tracking WHERE projection = 'activity' "
                "AND generation = 1 AND tenant = %s", (tenant,)).fetchone()
            position = row[0] if row else 0
            total += conn.execute(
                f'SELECT count(*) FROM "{schema}".events WHERE notification_id > %s',  # noqa: S608
                (position,)).fetchone()[0]
    return int(total)


def test_worker_killed_and_nats_restarted_lose_and_duplicate_nothing(
    database_url: str, tmp_path: Path
) -> None:
    nats_server = OwnNats(tmp_path / "nats")
    nats_server.start()
    nats_url = f"nats://127.0.0.1:{nats_server.port}"
    database = Database(database_url, 2, name="faults-writer")
    consortium = Consortium(database)
    for t in range(3):
        consortium.register_tenant(f"fault-{t}", f"Fault {t}", None)

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
