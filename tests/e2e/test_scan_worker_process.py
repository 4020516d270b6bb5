"""`commonshelf serve` (all roles in one command) localizes scans in a child process, never in
the process that serves the API (issue 12, finding 8), starts it again when it dies, and stops
it when it stops."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from api.dependencies import build_services
from infra.settings import Settings
from localization_ext.simulate import Setup, simulate, write_batch
from tenants.scope import tenant_schema
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]


def _workers_of(db: str, slug: str) -> list[int]:
    """The worker pids named by the tenant's LocalizationStarted events, in their order."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(psycopg.sql.SQL(
            "SELECT state FROM {} WHERE topic LIKE %s ORDER BY notification_id").format(
                psycopg.sql.Identifier(tenant_schema(slug), "events")),
            ("%InventoryScan.LocalizationStarted",)).fetchall()
    assert rows
    return [int(json.loads(bytes(row[0]))["worker"].rsplit(":", 1)[1]) for row in rows]


def _parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def _scan_done(base: str, auth: dict[str, str], batch_id: str) -> None:
    """Uploads a small simulated batch and waits until it is localized."""
    batch = io.StringIO()
    write_batch(simulate(Setup(books=6, spacing_m=0.03, seed=3)), batch, batch_id=batch_id)
    accepted = httpx.post(f"{base}/robots/scans", content=gzip.compress(
        batch.getvalue().encode()), headers={**auth, "Content-Encoding": "gzip",
                                             "Content-Type": "application/x-ndjson"})
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 90
    while (status := httpx.get(f"{base}/robots/scans/{accepted.json()['scan_id']}",
                               headers=auth).json()["status"]) != "done":
        assert status != "failed"
        assert time.monotonic() < deadline, f"scan {batch_id} was not localized in 90 s"
        time.sleep(0.2)


def test_serve_localizes_scans_in_a_child_process_it_restarts(
        database_url: str, servers: tuple[str, str], tmp_path: Path) -> None:
    prefix = f"scanproc{secrets.token_hex(3)}"
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": servers[1],
           "COMMONSHELF_NATS_PREFIX": prefix}
    settings = Settings(data_dir=tmp_path, database_url=database_url, nats_url=servers[1],
                        nats_prefix=prefix, kek_file=Path(os.environ["COMMONSHELF_KEK_FILE"]))
    services = build_services(settings)
    services.consortium.register_tenant("scanproc", "Scans", None)
    issued = services.consortium.create_client("scanproc", "robot", ["inventory:upload"])
    services.close()
    serve = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", "0",
                              "--data-dir", str(tmp_path)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        assert serve.stdout is not None
        base = next(found.group(1) for line in serve.stdout
                    if (found := re.search(r"serving at (http://\S+)", line)))
        token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(issued.client.client_id, issued.secret)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        _scan_done(base, auth, "p-1")
        [worker_pid] = _workers_of(database_url, "scanproc")
        assert worker_pid != serve.pid  # not the API's process ...
        assert _parent_of(worker_pid) == serve.pid  # ... but its child
        os.kill(worker_pid, signal.SIGKILL)  # killed (for memory, say): serve starts another
        _scan_done(base, auth, "p-2")
        first, worker_pid = _workers_of(database_url, "scanproc")
        assert worker_pid != first
        assert _parent_of(worker_pid) == serve.pid
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{worker_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{worker_pid}").exists()  # stopped with serve
