"""Circulation under an open-loop load: check-outs arrive at a fixed rate, whatever the
answers' speed, each followed by its check-in, through GraphQL over HTTP.

Run: .venv/bin/python tests/bench/bench_circulation.py [LAYOUT] [SECONDS] [RATES] [HOLD]
(DATABASE_URL/NATS_URL or embedded). LAYOUT: `roles` (default: the API, the relay and the
projection workers as processes of their own), `roles:N` (N API processes sharing the
port) or `all` (one process, as `make demo`). RATES: comma-separated offered check-out
rates (default 50,100,150,200), each offered for SECONDS (default 10); HOLD: how long a
rate must hold in (b) and (c) (default 30 s; shorter only for a quick try of the bench).

A closed loop of N clients measures only its own queue (p50 = N / throughput); here every
arrival is scheduled in advance and its latency counted from when it was due, so a server
that falls behind shows it (no coordinated omission). Reports:
  (a) check-out and check-in latency p50/p95/p99 at each offered rate;
  (b) the highest check-out rate sustained for 30 s with p99 under 100 ms;
  (c) in the same run and on the same server, the highest rate of a trivial authenticated
      GraphQL query (`{ viewer }`) sustained for 30 s with p99 under 100 ms: the baseline.
Targets (2 cores): p99 < 50 ms at 150 check-outs/s offered; (b) >= 15 % of (c). At the end
the bench checks the final state: every answered check-out and check-in is recorded once in
the event store, none lost or doubled, and every copy shows as available with no loan.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.embedded import free_port

CLI = [sys.executable, "-m", "api.cli"]
CHECK_OUT = """mutation($i: String!, $p: String!, $k: String) { checkOut(input: {itemBarcode: $i,
  patronBarcode: $p, idempotencyKey: $k}) { loan { id dueAt } } }"""
COPIES = 400  # copies (and patrons) on the shelf: enough for 200/s at 2 s per cycle
CHECK_IN = """mutation($i: String!, $k: String) { checkIn(input: {itemBarcode: $i,
  idempotencyKey: $k}) { item { status } } }"""


def start(url: str, nats_url: str, data_dir: Path, layout: str
          ) -> tuple[list[subprocess.Popen[bytes]], str]:
    """The service: one process with every role (`all`, as `make demo` runs it), or the
    production layout (`roles`, or `roles:N` for N API processes sharing the port): the
    API, the relay and the projection workers each in processes of their own."""
    port = free_port()
    # One library makes all the load here: its fair share of each process (4 operations at
    # once by default) is lifted, so the bench measures the service, not the share.
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": f"bench{secrets.token_hex(3)}",
           "COMMONSHELF_TENANT_CONCURRENCY": "1024", "COMMONSHELF_TENANT_RATE": "1000000"}
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
        if not status:
            raise ConnectionResetError("the server closed the connection")
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


class Pool:
    """Kept-alive connections for an open loop: an arrival takes an idle one or opens one."""

    def __init__(self, base: str, bearer: str, limit: int = 512) -> None:
        self.base, self.bearer = base, bearer
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Posts on an idle connection; one the server closed meanwhile (its keep-alive ran
        out) is replaced and the request sent again: safe, every mutation carries its
        idempotency key."""
        async with self.slots:
            http = self.idle.pop() if self.idle else await Connection.open(self.base,
                                                                           self.bearer)
            try:
                answer = await http.post(query, variables)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                http.close()
                http = await Connection.open(self.base, self.bearer)
                answer = await http.post(query, variables)
            self.idle.append(http)
            return answer

    def close(self) -> None:
        for http in self.idle:
            http.close()


@dataclass
class Phase:
    """What one offered rate gave."""

    rate: float
    seconds: float
    out: list[float] = field(default_factory=list)  # check-out latencies, s, from when due
    back: list[float] = field(default_factory=list)  # check-in latencies
    starved: int = 0  # arrivals that found no copy on the shelf (the pool was all lent)

    @property
    def answered(self) -> int:
        return len(self.out)

    def p99(self) -> float:
        ordered = sorted(self.out) or [float("inf")]
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def offer(pool: Pool, rate: float, seconds: float, shelf: list[int],
                counts: dict[str, int], cycle: bool = True) -> Phase:
    """Offers `rate` arrivals a second for `seconds`: each a check-out then its check-in of a
    copy from the shelf (or, not cycling, one `{ viewer }` query)."""
    phase = Phase(rate, seconds)
    start = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []

    async def arrival(due: float, turn: int) -> None:
        if not cycle:
            await pool.post("{ viewer { clientId } }")
            phase.out.append(time.perf_counter() - due)
            return
        if not shelf:
            phase.starved += 1
            return
        n = shelf.pop()
        body = await pool.post(CHECK_OUT, {"i": f"BI-{n}", "p": f"BP-{n}",
                                           "k": f"o-{rate}-{turn}"})
        phase.out.append(time.perf_counter() - due)
        assert "errors" not in body, body
        counts["out"] += 1
        began = time.perf_counter()
        body = await pool.post(CHECK_IN, {"i": f"BI-{n}", "k": f"i-{rate}-{turn}"})
        phase.back.append(time.perf_counter() - began)
        assert "errors" not in body, body
        counts["in"] += 1
        shelf.append(n)

    for turn in range(int(rate * seconds)):
        due = start + turn / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(arrival(due, turn)))
    await asyncio.gather(*tasks)
    return phase


def row(what: str, phase: Phase, latencies: list[float]) -> str:
    took = f"{phase.answered / phase.seconds:,.0f}/s answered"
    starved = f", {phase.starved} found no copy" if phase.starved else ""
    return f"{what:<34}{phase.rate:>8,.0f}/s   {took:<16}{percentiles(latencies):>22}{starved}"


async def sustained(pool: Pool, start_rate: float, step: float, shelf: list[int],
                    counts: dict[str, int], cycle: bool, seconds: float,
                    limit_s: float = 0.1) -> Phase | None:
    """The highest rate, from `start_rate`, held for `seconds` with p99 under `limit_s`:
    steps up while it holds; halves until it does."""
    best: Phase | None = None
    rate = start_rate
    for _ in range(12):
        phase = await offer(pool, rate, seconds, shelf, counts, cycle)
        held = phase.p99() < limit_s and phase.starved == 0
        print(f"  {'check-out' if cycle else 'viewer'} at {rate:,.0f}/s for {seconds:.0f} s: "
              f"p99 {phase.p99() * 1000:,.0f} ms -> {'held' if held else 'not held'}",
              flush=True)
        if held:
            best = phase
            rate += step
        elif best is not None or rate < 10:
            break
        else:
            rate /= 2  # not held from the start: halve until it holds
    return best


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
            "'domain.circulation.item_lending:ItemLending.%' GROUP BY 1").fetchall())
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
    layout = sys.argv[1] if len(sys.argv) > 1 else "roles"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    rates = [float(r) for r in (sys.argv[3] if len(sys.argv) > 3 else "50,100,150,200")
             .split(",")]
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    data_dir = Path(tempfile.mkdtemp())
    with bench_servers() as (db, nats_url):
        processes, base = start(db, nats_url, data_dir, layout)
        print(f"service: {len(processes)} process(es), layout {layout!r}", flush=True)
        try:
            measure(base, db, nats_url, data_dir, seconds, rates, hold)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)


def measure(base: str, db: str, nats_url: str, data_dir: Path, seconds: float,
            rates: list[float], hold: float) -> None:
    copies = COPIES
    print(f"setting up {copies} patrons and copies ...", flush=True)
    bearer = setup(base, db, nats_url, data_dir, copies)
    shelf = list(range(copies))
    counts = {"out": 0, "in": 0}

    async def run() -> tuple[list[Phase], Phase | None, Phase | None]:
        pool = Pool(base, bearer)
        try:
            await offer(pool, 20, 2, shelf, counts)  # warm the connections and caches
            phases = []
            for rate in rates:
                print(f"offering {rate:,.0f} check-outs/s for {seconds:.0f} s ...", flush=True)
                phases.append(await offer(pool, rate, seconds, shelf, counts))
            held = [p for p in phases if p.p99() < 0.1 and p.starved == 0]
            start_rate = max((p.rate for p in held), default=25)
            print(f"the highest check-out rate held {hold:.0f} s with p99 < 100 ms ...",
                  flush=True)
            best = await sustained(pool, start_rate, 25, shelf, counts, True, hold)
            print(f"baseline: the highest {{ viewer }} rate held {hold:.0f} s, p99 < 100 ms ...",
                  flush=True)
            baseline = await sustained(pool, 400, 200, shelf, counts, False, hold)
            return phases, best, baseline
        finally:
            pool.close()

    phases, best, baseline = asyncio.run(run())
    verify(db, base, bearer, copies, counts["out"], counts["in"])
    print()
    print(f"{'(a) open loop':<34}{'offered':>10}   {'':<16}{'p50 / p95 / p99':>22}")
    for phase in phases:
        print(row("check-out", phase, phase.out))
        print(row("  its check-in", phase, phase.back))
    best_rate = best.rate if best else 0.0
    base_rate = baseline.rate if baseline else 0.0
    print(f"(b) check-outs (each with its check-in) held 30 s, p99 < 100 ms: {best_rate:,.0f}/s"
          + (f"  (p50 / p95 / p99 {percentiles(best.out)})" if best else ""))
    print(f"(c) baseline, {{ viewer }} held 30 s, p99 < 100 ms: {base_rate:,.0f}/s"
          + (f"  (p50 / p95 / p99 {percentiles(baseline.out)})" if baseline else ""))
    if base_rate:
        print(f"    ratio (b)/(c): {best_rate / base_rate:.0%} (target >= 15 %); "
              "target p99 < 50 ms at 150 check-outs/s offered")


if __name__ == "__main__":
    main()
