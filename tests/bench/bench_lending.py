"""Interlibrary lending between members, through GraphQL over HTTP against `serve --role
all`: complete round trips (requestLoan → the supplier's staff see it → WILL_SUPPLY → ship
→ the requester sees Loaned → receive (lent to the patron) → return → the supplier sees the
return → complete → the requester sees LoanCompleted) by WORKERS concurrent desks for
SECONDS; and the time from sending requestLoan until the supplier's staff see the request in
lendingRequests (p50/p99). Beside them, in the same run on the same server: the requester's
own check-out and check-in latency (p50/p99), the circulation baseline.

Beside the wall-clock figures (which a loaded machine bends), the COST of a round trip: CPU
seconds the service spends on one (the server's processes and the run's PostgreSQL
backends; NATS is shared and left out) and the ceiling that cost implies on 2 cores
(120 / cpu_s a minute), PostgreSQL transactions, rows inserted and events appended per round
trip, and the GraphQL calls a desk makes per round trip (mutations and polls). The desks'
check-outs and check-ins run in the same window; their cost, measured alone first, is
taken out of the round trips' figures.

Run: .venv/bin/python tests/bench/bench_lending.py [SECONDS] [WORKERS]
(DATABASE_URL/NATS_URL or embedded). Targets (2 cores): >= 600 round trips a minute;
requestLoan → visible to the supplier p99 < 1 s. Every step of a round trip waits for the
other end by polling every 20 ms, as a desk's screen would (the supplier its list of requests
received, then each end the one request it works on), so the figures include the event's
journey (relay, JetStream, process manager, read model).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import psycopg
from bench_circulation import CHECK_IN, CHECK_OUT, CLI, gql, start, token
from psycopg import sql
from servers import bench_servers  # tests/bench, on the path when run as a script

from projections.union_catalog.view import UnionCatalogView

STATS_DELAY_S = 11
CALIBRATION = 10  # check-out/check-in cycles per desk, alone, to cost them
COPIES = 12  # per supplier: enough for every worker's copy in transit at once
FIELDS = "id state requestingAgencyRequestId"
LIST = f"""query($side: LendingSide, $state: String) {{ lendingRequests(side: $side,
  state: $state, first: 100) {{ edges {{ node {{ {FIELDS} history {{ message }} }} }} }} }}"""
ONE = f"""query($id: ID!) {{ lendingRequest(id: $id) {{ {FIELDS} history {{ message }} }} }}"""
REQUEST = f"""mutation($e: ID!, $p: String!) {{ requestLoan(input: {{unionCatalogEntryId: $e,
  patronBarcode: $p, pickupLocation: "Main"}}) {{ request {{ {FIELDS} partner {{ slug }} }} }} }}"""
ACT = """mutation($id: ID!) {{ {name}(input: {{id: $id}}) {{ request {{ id state }} }} }}"""
RESPOND = """mutation($id: ID!) { respondToLendingRequest(input: {id: $id,
  answer: WILL_SUPPLY}) { request { id state } } }"""


def admin_headers(base: str, db: str, nats_url: str, data_dir: Path) -> dict[str, str]:
    """The office's admin authorization (`commonshelf init`)."""
    env = {**os.environ, "DATABASE_URL": db, "NATS_URL": nats_url}
    admin = json.loads(subprocess.run([*CLI, "init", "--json", "--data-dir", str(data_dir)],
                                      env=env, capture_output=True, check=True,
                                      text=True).stdout)
    return {"Authorization": f"Bearer {token(base, admin['client_id'], admin['client_secret'])}"}


def member(base: str, headers: dict[str, str], slug: str) -> httpx.Client:
    """A member library with an ill desk's client."""
    httpx.post(f"{base}/admin/tenants", json={"slug": slug, "name": slug},
               headers=headers).raise_for_status()
    client = httpx.post(f"{base}/admin/tenants/{slug}/clients", headers=headers, json={
        "name": "desk", "scopes": ["library:read", "library:write", "ill"]}).json()
    bearer = token(base, client["client_id"], client["client_secret"])
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {bearer}"},
                        timeout=30)


def wait(probe: Callable[[], Any], timeout_s: float = 60) -> Any:
    """Polls every 20 ms until the probe answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise SystemExit("a round trip stalled for a minute")


def seen(answer: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]
         ) -> dict[str, Any] | None:
    """The first request of a lendingRequests answer that is wanted."""
    edges = answer["data"]["lendingRequests"]["edges"]
    return next((e["node"] for e in edges if wanted(e["node"])), None)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of the values, in ms."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    data_dir = Path(tempfile.mkdtemp())
    with bench_servers() as (db, nats_url):
        processes, base = start(db, nats_url, data_dir, "all")
        try:
            measure(base, db, nats_url, data_dir, seconds, workers,
                    [p.pid for p in processes])
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)


def setup(base: str, db: str, nats_url: str, data_dir: Path, workers: int
          ) -> tuple[httpx.Client, dict[str, httpx.Client], dict[str, str]]:
    """A requester with a patron and a copy of its own per desk, and two suppliers holding
    COPIES copies each of one title: (requester, suppliers by slug, their records)."""
    headers = admin_headers(base, db, nats_url, data_dir)
    run = secrets.token_hex(3)
    requester = member(base, headers, f"req-{run}")
    suppliers = {f"sup{n}-{run}": member(base, headers, f"sup{n}-{run}") for n in (1, 2)}
    isbn = "9780306406157"
    records = {}
    for slug, http in suppliers.items():
        record = gql(http, """mutation($i: [String!]) { createRecord(input: {
            title: "Bench lending", isbns: $i, authors: ["Bench, Ann"], year: "2020"}) {
            record { id } } }""", i=[isbn])["data"]["createRecord"]["record"]["id"]
        records[slug] = record
        for n in range(COPIES):
            gql(http, """mutation($r: ID!, $b: String!) { addItem(input: {recordId: $r,
                barcode: $b, location: {branch: "MAIN"}}) { item { id } } }""",
                r=record, b=f"{slug}-{n}")
    own = gql(requester, """mutation { createRecord(input: {title: "Own book"}) {
        record { id } } }""")["data"]["createRecord"]["record"]["id"]
    for n in range(workers):
        gql(requester, """mutation($b: String!) { registerPatron(input: {barcode: $b,
            name: "Bench patron", patronGroup: "staff", expiresOn: "2035-01-01"}) {
            patron { id } } }""", b=f"P-{n}")
        gql(requester, """mutation($r: ID!, $b: String!) { addItem(input: {recordId: $r,
            barcode: $b, location: {branch: "MAIN"}}) { item { id } } }""", r=own, b=f"OWN-{n}")
    return requester, suppliers, records


@dataclass(frozen=True)
class Cost:
    """What the service has spent so far: CPU seconds of its processes and of the run's
    PostgreSQL backends, the bench's own CPU, and the database's counters."""

    server_cpu: float
    db_cpu: float
    bench_cpu: float
    transactions: int
    rows_inserted: int
    events: int

    def __sub__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def scaled(self, factor: float) -> Cost:
        return Cost(*(getattr(self, f.name) * factor for f in fields(self)))

    @property
    def service_cpu(self) -> float:
        """CPU seconds of the server and PostgreSQL together."""
        return self.server_cpu + self.db_cpu


def cpu_of(pid: int) -> float:
    """User and system CPU seconds of a process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    values = stat.rpartition(")")[2].split()
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


def descendants(roots: list[int]) -> Iterator[int]:
    """The processes and every process they started."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(entry.joinpath("stat").read_text().rpartition(")")[2].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    pending = list(roots)
    while pending:
        pid = pending.pop()
        yield pid
        pending += children.get(pid, [])


class CostProbe:
    """Reads what the service has spent: the server's process tree, the run's PostgreSQL
    backends (each backend's CPU as last seen, so one gone meanwhile still counts), and the
    database's counters (transactions and rows inserted as PostgreSQL publishes them, the
    events counted in the logs themselves)."""

    def __init__(self, db: str, server: list[int]) -> None:
        self.db = db
        self.server = server
        self.backends: dict[int, float] = {}

    def settle(self) -> None:
        """Waits until the service has appended nothing for a second (the setup's events
        all handled), so a measurement starts from quiet."""
        last = -1
        while (now := self.events()) != last:
            last = now
            time.sleep(1)

    def events(self) -> int:
        """The events in every log of the run's database, counted."""
        with psycopg.connect(self.db, autocommit=True) as conn:
            logs = [r[0] for r in conn.execute(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'events'")]
            return sum(int((conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(log, "events"))).fetchone() or (0,))[0]) for log in logs)

    def read(self) -> Cost:
        # A backend publishes its counters at most every second while busy, and within
        # ten seconds of going idle: the last transactions' reach pg_stat_database then.
        time.sleep(STATS_DELAY_S)
        with psycopg.connect(self.db, autocommit=True) as conn:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
            for pid in pids:
                self.backends[pid] = max(self.backends.get(pid, 0.0), cpu_of(pid))
            transactions, inserted = conn.execute(
                "SELECT xact_commit, tup_inserted FROM pg_stat_database "
                "WHERE datname = current_database()").fetchone() or (0, 0)
        return Cost(sum(cpu_of(pid) for pid in descendants(self.server)),
                    sum(self.backends.values()), time.process_time(), int(transactions),
                    int(inserted), self.events())


def measure(base: str, db: str, nats_url: str, data_dir: Path, seconds: float,
            workers: int, server: list[int]) -> None:
    requester, suppliers, records = setup(base, db, nats_url, data_dir, workers)
    entry = wait(lambda: entry_of(db, records), timeout_s=120)
    print(f"union catalog entry {entry}; {workers} desks for {seconds:.0f} s", flush=True)
    probe = CostProbe(db, server)

    visible: list[float] = []
    trips: list[float] = []
    desk_latency: list[float] = []
    calls = {"mutations": 0, "polls": 0}
    lock = threading.Lock()

    def call(http: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
        with lock:
            calls["mutations" if query.lstrip().startswith("mutation") else "polls"] += 1
        return gql(http, query, **variables)

    def one(http: httpx.Client, request_id: str, state: str, message: str = "") -> bool:
        """Whether the request is in this state (with this message in its history): the
        desk's view of the one request it works on."""
        found = call(http, ONE, id=request_id)["data"]["lendingRequest"]
        return bool(found["state"] == state and any(
            message in h["message"] for h in found["history"]))

    def trip(n: int) -> tuple[float, float]:
        """One round trip by desk n: (seconds until the supplier saw it, in all)."""
        started = time.monotonic()
        request = call(requester, REQUEST, e=entry, p=f"P-{n}")["data"]["requestLoan"][
            "request"]
        supplier = suppliers[request["partner"]["slug"]]

        incoming = wait(lambda: seen(call(supplier, LIST, side="SUPPLIER",
                                          state="RequestReceived"), lambda r: r[
            "requestingAgencyRequestId"] == request["id"]))
        arrived = time.monotonic() - started
        call(supplier, RESPOND, id=incoming["id"])
        call(supplier, ACT.format(name="shipLendingRequest"), id=incoming["id"])
        wait(lambda: one(requester, request["id"], "Loaned"))
        call(requester, ACT.format(name="receiveLendingRequest"), id=request["id"])
        call(requester, ACT.format(name="returnLendingRequest"), id=request["id"])
        wait(lambda: one(supplier, incoming["id"], "Loaned", "ShippedReturn"))
        call(supplier, ACT.format(name="completeLendingRequest"), id=incoming["id"])
        wait(lambda: one(requester, request["id"], "LoanCompleted"))
        return arrived, time.monotonic() - started

    def circulate(n: int, latency: list[float]) -> None:
        circulate_own(requester, n, latency, lock)

    cycle, alone = calibrate(probe, workers, circulate)
    before = probe.read()
    stop = time.monotonic() + seconds

    def desk(n: int) -> None:
        while time.monotonic() < stop:
            arrived, total = trip(n)
            with lock:
                visible.append(arrived)
                trips.append(total)
            circulate(n, desk_latency)

    began = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(desk, range(workers)))
    elapsed = time.monotonic() - began
    spent = probe.read() - before
    report(trips, visible, desk_latency, elapsed)
    report_cost((spent - cycle.scaled(len(desk_latency) / 2)).scaled(1 / len(trips)), cycle,
                {name: count / len(trips) for name, count in calls.items()}, alone)


def circulate_own(requester: httpx.Client, n: int, latency: list[float],
                  lock: threading.Lock) -> None:
    """Desk n's own check-out and check-in of its own copy, timed."""
    for query, variables in ((CHECK_OUT, {"i": f"OWN-{n}", "p": f"P-{n}"}),
                             (CHECK_IN, {"i": f"OWN-{n}"})):
        began = time.monotonic()
        gql(requester, query, **variables)
        with lock:
            latency.append(time.monotonic() - began)


def calibrate(probe: CostProbe, workers: int,
              circulate: Callable[[int, list[float]], None]) -> tuple[Cost, list[float]]:
    """The cost of one of the desks' own check-out and check-in cycles, alone (taken out of
    the round trips' cost), and their latencies."""
    alone: list[float] = []
    probe.settle()
    before = probe.read()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda n: [circulate(n, alone) for _ in range(CALIBRATION)],
                      range(workers)))
    return (probe.read() - before).scaled(2 / len(alone)), alone


def report_cost(per_trip: Cost, cycle: Cost, calls: dict[str, float],
                alone: list[float]) -> None:
    """The cost figures: a round trip's, and a check-out and check-in's alone."""
    print(f"cost of a round trip: {per_trip.service_cpu * 1000:.0f} ms CPU (server "
          f"{per_trip.server_cpu * 1000:.0f}, PostgreSQL {per_trip.db_cpu * 1000:.0f}; bench "
          f"client {per_trip.bench_cpu * 1000:.0f}) -> ceiling on 2 cores "
          f"{120 / per_trip.service_cpu:.0f} a minute; {per_trip.transactions:.1f} "
          f"transactions, {per_trip.rows_inserted:.1f} rows inserted, {per_trip.events:.1f} "
          f"events appended; {calls['mutations']:.1f} GraphQL mutations and "
          f"{calls['polls']:.1f} polls by the desks")
    print(f"baseline cost of a check-out + check-in alone: {cycle.service_cpu * 1000:.0f} ms "
          f"CPU, {cycle.transactions:.1f} transactions, {cycle.events:.1f} events appended "
          f"(alone: p50 {percentile(alone, 50):.0f} ms)")


def report(trips: list[float], visible: list[float], desk_latency: list[float],
           elapsed: float) -> None:
    """The wall-clock figures."""
    print(f"round trips: {len(trips)} in {elapsed:.1f} s = {60 * len(trips) / elapsed:.0f} "
          f"a minute (target >= 600); one takes p50 {percentile(trips, 50):.0f} ms")
    print(f"requestLoan -> visible to the supplier: p50 {percentile(visible, 50):.0f} ms, "
          f"p99 {percentile(visible, 99):.0f} ms (target p99 < 1000 ms; n={len(visible)})")
    print(f"baseline, check-out/check-in in the same run: p50 "
          f"{percentile(desk_latency, 50):.0f} ms, p99 {percentile(desk_latency, 99):.0f} ms, "
          f"mean {1000 * statistics.fmean(desk_latency):.0f} ms (n={len(desk_latency)})")


def entry_of(db: str, records: dict[str, str]) -> str | None:
    """The union catalog entry of the suppliers' title, once every copy shows available."""
    with psycopg.connect(db) as conn, conn.cursor() as cur:
        view = UnionCatalogView.serving(cur)
        entries = {view.entry_of_record(slug, record) for slug, record in records.items()}
        if len(entries) != 1 or None in entries:
            return None
        (entry,) = entries
        available = sum(h["available"] for h in view.holdings(str(entry)))
    return str(entry) if available >= len(records) * COPIES else None


if __name__ == "__main__":
    main()
