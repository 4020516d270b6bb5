"""A scan worker SIGKILLed in the middle of a job: the job goes to another worker after the
ack wait and the scan is localized once."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import psycopg
import pytest

from api.dependencies import build_services
from infra.nats import connect
from infra.settings import Settings
from localization_ext.simulate import Setup, simulate, write_batch
from tenants.scans import accept_file, queue
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]


def _worker(env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--role", "scans",
                             "--port", "0", "--data-dir", str(data_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _events(db: str, event: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM t_scanlib.events WHERE topic = %s",
                           (f"domain.inventory.scan:InventoryScan.{event}",)).fetchone()
    return int(row[0]) if row else 0


def test_a_killed_scan_worker_leaves_the_job_to_another(database_url: str,
                                                        servers: tuple[str, str],
                                                        tmp_path: Path) -> None:
    prefix = f"scanfault{secrets.token_hex(3)}"
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": servers[1],
           "COMMONSHELF_NATS_PREFIX": prefix, "COMMONSHELF_SCAN_ACK_WAIT_S": "3"}
    settings = Settings(data_dir=tmp_path, database_url=database_url, nats_url=servers[1],
                        nats_prefix=prefix, scan_ack_wait_s=3,
                        kek_file=Path(os.environ["COMMONSHELF_KEK_FILE"]))
    services = build_services(settings)
    services.consortium.register_tenant("scanlib", "Scans", None)
    batch = tmp_path / "batch.ndjson"
    text = io.StringIO()
    write_batch(simulate(Setup(books=1500, spacing_m=0.03, seed=4)), text, batch_id="big-1")
    batch.write_text(text.getvalue())
    scan, _ = accept_file(services.scope("scanlib"), batch, 2_000_000)
    first = _worker(env, tmp_path)
    second = None
    try:
        async def send() -> None:
            await services.nats.start()
            await queue(services.scan_jobs, services.nats.client, "scanlib", scan.id)
            await services.nats.close()

        asyncio.run(send())
        inventory = services.consortium.scope("scanlib").inventory
        deadline = time.monotonic() + 60
        while inventory.get(scan.id).status != "localizing":
            assert time.monotonic() < deadline, "no worker took the job"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert inventory.get(scan.id).status == "localizing"  # killed mid-job
        second = _worker(env, tmp_path)
        deadline = time.monotonic() + 90
        while inventory.get(scan.id).status != "done":
            assert time.monotonic() < deadline, "the job was not redelivered"
            time.sleep(0.1)
        assert _events(database_url, "Localized") == 1
        assert _events(database_url, "LocalizationStarted") == 2
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        services.close()

        async def clean() -> None:
            nc = await connect(servers[1])
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(settings.scans_stream)
            await nc.close()

        asyncio.run(clean())
