"""Circulation under load: concurrent check-out/check-in cycles through GraphQL over HTTP.

Run: .venv/bin/python tests/bench/bench_circulation.py [CLIENTS] [SECONDS] [LAYOUT]
(DATABASE_URL/NATS_URL or embedded). Starts the service: LAYOUT `roles` (default: the API,
the relay and the projection workers as processes of their own, as production runs them),
`roles:N` (N API processes sharing the port) or `all` (one process, as `make demo`). It
registers one patron and one copy per client, then each client checks its copy out and in
again, as fast as answers come, over a kept-alive connection. The baseline, in the same run
and on the same server: the same clients asking a trivial authenticated query (`viewer`).
At the end the bench checks the final state: every answered check-out and check-in is
recorded once in the event store, none lost or doubled, and every copy shows as available
with no loan. Targets (2 cores, 32 clients): p99 < 50 ms, >= 300 check-outs/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.embedded import free_port

CLI = [sys.executable, "-m", "api.cli"]
CHECK_OUT = """mutation($i: String!, $p: String!, $k: String) { checkOut(input: {itemBarcode: $i,
  patronBarcode: $p, idempotencyKey: $k}) { loan { id dueAt } } }"""
CHECK_IN = """mutation($i: String!, $k: String) { checkIn(input: {itemBarcode: $i,
  idempotencyKey: $k}) { item { status } } }"""


def start(url: str, nats_url: str, data_dir: Path, layout: str
          ) -> tuple[list[subprocess.Popen[bytes]], str]:
    """The service: one process with every role (`all`, as `make demo` runs it), or the
    production layout (`roles`, or `roles:N` for N API processes sharing the port): the
    API, the relay and the projection workers each in processes of their own."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": f"bench{secrets.token_hex(3)}"}
    apis = int(layout.partition(":")[2] or 1)
    roles = ["all"] if layout == "all" else ["api"] * apis + ["relay", "projections"]
    processes = []
    for role in roles:
        role_port = port if role in ("all", "api") else free_port()
        shared = ["--reuse-port"] if role == "api" and apis > 1 else []
        processes.append(subprocess.Popen(
            [*CLI, "serve", "--role", role, "--port", str(role_port), "--log-level", "warning",
             "--data-dir", str(data_dir), *shared], env=env, stdout=subprocess.DEVNULL))
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return processes, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    for process in processes:
        process.kill()
    raise SystemExit("the service did not become ready")


def token(base: str, client_id: str, secret: str) -> str:
    answer = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(client_id, secret)).json()
    return str(answer["access_token"])


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", json={"query": query,
                                                          "variables": variables}).json()
    if body.get("errors"):
        raise SystemExit(f"setup failed: {body['errors']}")
    return body


def setup(base: str, url: str, nats_url: str, data_dir: Path, clients: int) -> str:
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url}
    admin = json.loads(subprocess.run([*CLI, "init", "--json", "--data-dir", str(data_dir)],
                                      env=env, capture_output=True, check=True,
                                      text=True).stdout)
    headers = {"Authorization": f"Bearer {token(base, admin['client_id'], admin['client_secret'])}"}
    httpx.post(f"{base}/admin/tenants", json={"slug": "bench", "name": "Bench"},
               headers=headers).raise_for_status()
    client = httpx.post(f"{base}/admin/tenants/bench/clients", headers=headers, json={
        "name": "desk", "scopes": ["library:read", "library:write"]}).json()
    bearer = token(base, client["client_id"], client["client_secret"])
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {bearer}"},
                      timeout=30) as http:
        record = gql(http, """mutation { createRecord(input: {title: "Bench book"}) {
            record { id } } }""")["data"]["createRecord"]["record"]["id"]
        for n in range(clients):
            gql(http, """mutation($r: ID!, $b: String!) { addItem(input: {recordId: $r,
                barcode: $b, location: {branch: "MAIN"}}) { item { id } } }""",
                r=record, b=f"BI-{n}")
            gql(http, """mutation($b: String!) { registerPatron(input: {barcode: $b,
                name: "Bench patron", patronGroup: "staff", expiresOn: "2035-01-01"}) {
                patron { id } } }""", b=f"BP-{n}")
    return bearer


class Connection:
    """One kept-alive HTTP/1.1 connection posting GraphQL: a few lines of asyncio instead of
    a full HTTP client, so the clients leave the (shared, 2-core) CPU to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 host: str, bearer: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = (f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
                     f"{bearer}\r\nContent-Type: application/json\r\n").encode()

    @classmethod
    async def open(cls, base: str, bearer: str) -> Connection:
        host = base.removeprefix("http://")
        name, _, port = host.partition(":")
        reader, writer = await asyncio.open_connection(name, int(port))
        return cls(reader, writer, host, bearer)

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        self.writer.write(self.head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        answer: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        if b" 200 " not in status:
            raise SystemExit(f"HTTP {status!r}: {answer}")
        return answer

    def close(self) -> None:
        self.writer.close()


async def run_clients(base: str, bearer: str, clients: int, seconds: float,
                      cycle: bool) -> tuple[list[float], int, int]:
    """Each client loops for `seconds`; latencies of check-outs (or of the baseline query),
    answered check-outs, answered check-ins."""
    latencies: list[float] = []
    done = {"out": 0, "in": 0}
    connections = [await Connection.open(base, bearer) for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    async def client(n: int, http: Connection) -> None:
        turn = 0
        while time.perf_counter() < deadline:
            turn += 1
            started = time.perf_counter()
            if not cycle:
                body = await http.post("{ viewer { clientId } }")
                latencies.append(time.perf_counter() - started)
                assert "errors" not in body, body
                continue
            body = await http.post(CHECK_OUT, {"i": f"BI-{n}", "p": f"BP-{n}",
                                               "k": f"o-{n}-{turn}"})
            latencies.append(time.perf_counter() - started)
            assert "errors" not in body, body
            done["out"] += 1
            body = await http.post(CHECK_IN, {"i": f"BI-{n}", "k": f"i-{n}-{turn}"})
            assert "errors" not in body, body
            done["in"] += 1

    try:
        await asyncio.gather(*(client(n, c) for n, c in enumerate(connections)))
    finally:
        for connection in connections:
            connection.close()
    return latencies, done["out"], done["in"]


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p = {q: ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] * 1000
         for q in (95, 99)}
    return f"{statistics.median(ordered) * 1000:.0f} / {p[95]:.0f} / {p[99]:.0f} ms"


def verify(url: str, base: str, bearer: str, clients: int, checked_out: int,
           checked_in: int) -> None:
    """Every answered check-out and check-in is recorded once, and every copy is back: in
    the event store, in the circulation view and as GraphQL shows it."""
    with psycopg.connect(url) as conn:
        counts = dict(conn.execute(
            "SELECT split_part(topic, '.', 4), count(*) FROM t_bench.events WHERE topic LIKE "
            "'domain.circulation.lending:Lending.%' GROUP BY 1").fetchall())
    outs, ins = counts.get("CheckedOut", 0), counts.get("CheckedIn", 0)
    print(f"verified: {outs:,} check-outs and {ins:,} check-ins recorded; "
          f"{checked_out:,} and {checked_in:,} answered")
    if (outs, ins) != (checked_out, checked_in):
        raise SystemExit("MISMATCH: a loan was lost or recorded twice")

    async def statuses() -> list[str]:
        http = await Connection.open(base, bearer)
        try:
            found = []
            for n in range(clients):
                body = await http.post("query($b: String!) { item(barcode: $b) { status "
                                       "loan { id } } }", {"b": f"BI-{n}"})
                item = body["data"]["item"]
                found.append("AVAILABLE" if item["status"] == "AVAILABLE" and item["loan"] is None
                             else f"BI-{n}: {item}")
            return found
        finally:
            http.close()

    wrong = [s for s in asyncio.run(statuses()) if s != "AVAILABLE"]
    if wrong:
        raise SystemExit(f"MISMATCH: copies not back on the shelf: {wrong[:5]}")
    print(f"verified: all {clients} copies available again, none with a loan")


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    layout = sys.argv[3] if len(sys.argv) > 3 else "roles"
    data_dir = Path(tempfile.mkdtemp())
    with bench_servers() as (db, nats_url):
        processes, base = start(db, nats_url, data_dir, layout)
        print(f"service: {len(processes)} process(es), layout {layout!r}", flush=True)
        try:
            measure(base, db, nats_url, data_dir, clients, seconds)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)


def measure(base: str, db: str, nats_url: str, data_dir: Path, clients: int,
            seconds: float) -> None:
    print(f"setting up {clients} patrons and copies ...", flush=True)
    bearer = setup(base, db, nats_url, data_dir, clients)
    print(f"baseline: {clients} clients asking {{ viewer }} for {seconds:.0f} s ...",
          flush=True)
    base_lat, _, _ = asyncio.run(run_clients(base, bearer, clients, seconds, cycle=False))
    print(f"circulation: {clients} clients checking out and in for {seconds:.0f} s ...",
          flush=True)
    lat, outs, ins = asyncio.run(run_clients(base, bearer, clients, seconds, cycle=True))
    verify(db, base, bearer, clients, outs, ins)
    print()
    print(f"{'what':<44}{'per second':>12}{'p50 / p95 / p99':>22}")
    print(f"{'check-out (each followed by a check-in)':<44}{outs / seconds:>12,.0f}"
          f"{percentiles(lat):>22}")
    print(f"{'baseline: authenticated { viewer } query':<44}"
          f"{len(base_lat) / seconds:>12,.0f}{percentiles(base_lat):>22}")
    print(f"(targets with 32 clients: >= 300 check-outs/s, p99 < 50 ms; "
          f"{outs + ins:,} mutations in all)")


if __name__ == "__main__":
    main()
