"""An API process told to stop by SIGTERM drains first: /readyz answers 503 while requests
are still served, then it exits cleanly; with `--log-format json` every log line is JSON."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from infra.embedded import free_port
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url"]  # the per-test database fixture of the relay tests


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the API process exited while starting"
        try:
            if _get(f"{base}/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail("the API never became ready")


def test_sigterm_drains_with_readyz_503_then_exits_cleanly_logging_json(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": servers[1],
           "COMMONSHELF_DRAIN_S": "3", "COMMONSHELF_NATS_PREFIX": f"csd{secrets.token_hex(4)}"}
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--role", "api", "--port", str(port),
             "--data-dir", str(tmp_path), "--log-format", "json"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _until_ready(base, process)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert body["checks"] == {"process": "draining: shutting down", "postgres": "ok",
                                  "nats": "ok"}
        assert _get(f"{base}/healthz") == (200, {"status": "ok"})  # still serving
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    records = [json.loads(line) for line in stderr.read_text().splitlines() if line.strip()]
    messages = [r["message"] for r in records]
    assert any(m.startswith("CommonShelf is serving at") for m in messages)
    assert any(m.startswith("draining: /readyz answers 503 for 3 s") for m in messages)
    assert any("GET /readyz" in m and "503" in m for m in messages)  # uvicorn's access log
    assert not [r for r in records if r["level"] in {"error", "critical"}]
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
