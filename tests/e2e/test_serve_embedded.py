"""`commonshelf serve` on the embedded default, as a user runs it: over HTTP, as a process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.embedded import free_port

pytestmark = [pytest.mark.e2e]
CLI = [sys.executable, "-m", "api.cli"]


def _embedded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL"}}


def _serve(data_dir: Path, port: int, command: str = "serve") -> subprocess.Popen[bytes]:
    process = subprocess.Popen([*CLI, command, "--data-dir", str(data_dir), "--port", str(port),
                                "--log-level", "warning"], env=_embedded_env(),
                               stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited while starting"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail("serve did not become ready within 90 s")


def _cli(data_dir: Path, *args: str) -> dict[str, object]:
    done = subprocess.run([*CLI, *args, "--data-dir", str(data_dir), "--json"],
                          env=_embedded_env(), capture_output=True, text=True, check=True,
                          timeout=120)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _cli_list(data_dir: Path, *args: str) -> list[dict[str, object]]:
    done = subprocess.run([*CLI, *args, "--data-dir", str(data_dir), "--json"],
                          env=_embedded_env(), capture_output=True, text=True, check=True,
                          timeout=120)
    result: list[dict[str, object]] = json.loads(done.stdout)
    return result


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def served(data_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = _serve(data_dir, port)
    yield process, port
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_serve_embedded_over_http_and_restart_keeps_data(
    served: tuple[subprocess.Popen[bytes], int], data_dir: Path
) -> None:
    process, port = served
    base = f"http://127.0.0.1:{port}"
    admin = _cli(data_dir, "init")
    token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(str(admin["client_id"]), str(admin["client_secret"]))).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    created = httpx.post(f"{base}/admin/tenants", json={"slug": "harbour", "name": "Harbour"},
                         headers=headers)
    assert created.status_code == 201
    client = httpx.post(f"{base}/admin/tenants/harbour/clients",
                        json={"name": "desk", "scopes": ["library:read"]}, headers=headers)
    assert client.status_code == 201
    status: list[dict[str, object]] = []
    for _ in range(100):  # the pipeline is eventually consistent: wait for it to catch up
        status = _cli_list(data_dir, "projections", "status")
        if {"harbour", "office"} <= {r["tenant"] for r in status} and all(
                r["lag"] == 0 for r in status):
            break
        time.sleep(0.2)
    harbour = next(r for r in status if r["tenant"] == "harbour")
    assert harbour["name"] == "activity"
    assert harbour["lag"] == 0
    assert int(str(harbour["position"])) > 0
    runtime = json.loads((data_dir / "runtime.json").read_text())
    pg_port = int(runtime["database_url"].rsplit(":", 1)[1].split("/")[0])

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not _listening(pg_port)

    port = free_port()
    again = _serve(data_dir, port)
    try:
        listed = httpx.get(f"http://127.0.0.1:{port}/admin/tenants", headers=headers)
        assert [t["slug"] for t in listed.json()] == ["harbour"]
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)


def test_servers_stop_when_serve_is_killed(served: tuple[subprocess.Popen[bytes], int],
                                           data_dir: Path) -> None:
    process, _ = served
    runtime = json.loads((data_dir / "runtime.json").read_text())
    pg_port = int(runtime["database_url"].rsplit(":", 1)[1].split("/")[0])
    nats_port = int(runtime["nats_url"].rsplit(":", 1)[1])
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (_listening(pg_port) or _listening(nats_port)):
        time.sleep(0.2)
    assert not _listening(pg_port)
    assert not _listening(nats_port)


def test_cli_without_serve_runs_its_own_servers(data_dir: Path) -> None:
    created = _cli(data_dir, "tenants", "create", "lake-view", "--name", "Lake View")
    assert created["status"] == "active"
    assert _cli(data_dir, "tenants", "show", "lake-view")["name"] == "Lake View"
    assert not (data_dir / "runtime.json").exists()


def test_cli_bad_input_exits_1_with_the_reason(data_dir: Path) -> None:
    done = subprocess.run([*CLI, "tenants", "create", "Not A Slug", "--name", "X",
                           "--data-dir", str(data_dir)], env=_embedded_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "slug 'Not A Slug' is invalid" in done.stderr
    missing = subprocess.run([*CLI, "tenants", "show", "nobody", "--data-dir", str(data_dir)],
                             env=_embedded_env(), capture_output=True, text=True, timeout=120,
                             check=False)
    assert missing.returncode == 1
    assert "no tenant with slug 'nobody'" in missing.stderr


def test_demo_seeds_libraries_with_a_searchable_shared_catalog(data_dir: Path) -> None:
    port = free_port()
    process = _serve(data_dir, port, "demo")
    try:
        base = f"http://127.0.0.1:{port}"
        credentials = json.loads((data_dir / "demo-credentials.json").read_text())
        tokens = {}
        for library in credentials["libraries"]:
            answer = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(library["client_id"], library["client_secret"])).json()
            tokens[library["slug"]] = answer["access_token"]
        query = "{ records(first: 50) { edges { node { title sharedRecordId } } } }"

        def titles(slug: str) -> list[dict[str, object]]:
            body = httpx.post(f"{base}/graphql", json={"query": query},
                              headers={"Authorization": f"Bearer {tokens[slug]}"}).json()
            return [e["node"] for e in body["data"]["records"]["edges"]]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(titles("central-university")) < 12
                                               or not titles("harbour-college")):
            time.sleep(0.2)
        assert len(titles("central-university")) == 12
        assert len(titles("riverside-public")) == 12
        [shown] = titles("harbour-college")
        assert shown["title"] == "Moby-Dick, or, The whale"
        assert shown["sharedRecordId"] is not None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_api_processes_share_one_port(servers: tuple[str, str], tmp_path: Path) -> None:
    database_url, nats_url = servers
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": f"reuse{os.getpid()}"}
    port = free_port()
    processes = [subprocess.Popen(
        [*CLI, "serve", "--role", "api", "--reuse-port", "--port", str(port),
         "--data-dir", str(tmp_path), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), "an API process exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        time.sleep(2)  # the second has bound the port too (it would have exited otherwise)
        assert all(p.poll() is None for p in processes)
        processes[0].send_signal(signal.SIGTERM)
        assert processes[0].wait(timeout=60) == 0
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
