"""`commonshelf relay republish` after the events stream was lost, with a relay running: it
refuses to publish into the refilled (partial) stream unless told to replace it, then
rebuilds it from the event stores, taking the relay lock from the running relay, which goes
on from there. The stream then holds every tenant's log once, in order."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from infra.database import Database
from infra.nats import connect
from tenants.consortium import Consortium
from tests.e2e.test_pipeline_faults import _role, _stop, _store_logs, _stream_logs, _wait_for
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]  # the per-test database fixture of the relay tests


def _stream_count(nats_url: str, stream: str) -> int:
    async def count() -> int:
        nc = await connect(nats_url)
        try:
            return int((await nc.jetstream().stream_info(stream)).state.messages)
        except Exception:  # noqa: BLE001 (not there yet)
            return -1
        finally:
            await nc.close()

    return asyncio.run(count())


def _delete_stream(nats_url: str, stream: str) -> None:
    async def delete() -> None:
        nc = await connect(nats_url)
        try:
            await nc.jetstream().delete_stream(stream)
        finally:
            await nc.close()

    asyncio.run(delete())


def _events(db: str) -> int:
    return sum(len(log) for log in _store_logs(db).values())


def _republish(*flags: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "relay", "republish",
                           "--data-dir", str(data_dir), *flags],
                          capture_output=True, text=True, timeout=120, check=False)


def test_republish_rebuilds_a_lost_stream_in_order_while_the_relay_runs(
    database_url: str, servers: tuple[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"csrp{secrets.token_hex(4)}"
    stream, nats_url = f"{prefix.upper()}_EVENTS", servers[1]
    monkeypatch.setenv("COMMONSHELF_NATS_PREFIX", prefix)  # the relay's and the CLI's
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NATS_URL", nats_url)
    database = Database(database_url, 2, name="republish-writer")
    consortium = Consortium(database)
    for t in range(3):
        consortium.register_tenant(f"rp-{t}", f"Republish {t}", None)
        for c in range(4):
            consortium.create_client(f"rp-{t}", f"client {c}", ["ill"])
    relay = _role("relay", database_url, nats_url, tmp_path)
    try:
        _wait_for(lambda: _stream_count(nats_url, stream) == _events(database_url), 60)
        _delete_stream(nats_url, stream)  # lost
        for t in range(2):  # the relay refills a new stream with these only
            consortium.create_client(f"rp-{t}", "after the loss", ["ill"])
        _wait_for(lambda: _stream_count(nats_url, stream) == 2, 30)

        refused = _republish(data_dir=tmp_path)
        assert refused.returncode == 1
        assert f"stream {stream} holds 2 messages" in refused.stderr
        assert "--replace" in refused.stderr

        done = _republish("--replace", "--json", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        logs = _store_logs(database_url)
        assert summary == {"stream": stream, "logs": len(logs), "events": _events(database_url)}
        assert f"rp-1: {len(logs['rp-1'])} events" in done.stderr

        consortium.create_client("rp-2", "after the republish", ["ill"])  # the relay resumes
        _wait_for(lambda: _stream_count(nats_url, stream) == _events(database_url), 30)
        assert _stream_logs(nats_url, stream) == _store_logs(database_url)
        assert relay.poll() is None  # it lost the lock to the republish and took it back
    finally:
        _stop(relay)
        database.close()
        if _stream_count(nats_url, stream) >= 0:  # the stream is this test's alone
            _delete_stream(nats_url, stream)
