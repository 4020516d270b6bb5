"""How long `tenants move` takes for a tenant of 100,000 events, and how long its writes
pause, while a writer keeps appending; beside the baseline: reading the same log once.
Usage: python tests/bench/bench_tenant_move.py [EVENTS]

The two servers are two databases of the machine's PostgreSQL (DATABASE_URL) or of an
embedded one. The log is filled with copies of a real event (new aggregate ids), 400 bytes
of state each: a move copies events as they are, whatever they say."""

from __future__ import annotations

import secrets
import sys
import threading
import time

import psycopg
from psycopg import sql

from infra.database import Database
from infra.servers import Servers
from tenants.consortium import Consortium
from tenants.moves import TenantMoves
from tests.bench.servers import bench_servers

SLUG = "moving-library"
WRITE_EVERY_S = 0.05


def _fill(url: str, events: int) -> None:
    """The log grows to `events` events: copies of the tenant's first one."""
    schema = sql.Identifier("t_" + SLUG.replace("-", "_"), "events")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, e.topic, e.state || convert_to(repeat(' ', "
            "greatest(0, 400 - length(e.state))), 'UTF8') FROM (SELECT topic, state FROM {} "
            "ORDER BY notification_id LIMIT 1) e, generate_series(1, %s)").format(
                schema, schema), (events - 1,))


def _read_once(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor(name="read") as cur:
        cur.execute(sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(
            sql.Identifier("t_" + SLUG.replace("-", "_"), "events")))
        while cur.fetchmany(5000):
            pass
    return time.perf_counter() - started


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with bench_servers() as (default_url, _), bench_servers() as (second_url, _):
        database = Database(default_url, 4, name="bench-move")
        servers = Servers(database, {"second": second_url})
        consortium = Consortium(database, servers=servers)
        consortium.register_tenant(SLUG, "Moving Library", None, server="default")
        consortium.create_client(SLUG, "first", ["ill"])
        _fill(default_url, events)
        baseline = _read_once(default_url)
        slowest: list[float] = []
        stop = threading.Event()

        def write() -> None:  # a library working on while it moves
            while not stop.is_set():
                started = time.perf_counter()
                consortium.create_client(SLUG, f"c{secrets.token_hex(2)}", ["ill"])
                slowest.append(time.perf_counter() - started)
                time.sleep(WRITE_EVERY_S)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            moved = TenantMoves(consortium, lambda line: print("  " + line, file=sys.stderr)
                                ).move(SLUG, "second")
        finally:
            stop.set()
            writer.join()
        consortium.close()
        servers.close()
        database.close()
    print(f"tenants move of a tenant of {events:,} events between two databases, writes going on")
    print(f"  baseline: reading its log once: {baseline:.2f} s")
    print(f"  move: {moved.seconds:.2f} s in all ({moved.events:,} events copied and verified "
          f"event for event, the old copy removed; 2 s of it wait for every process to look "
          f"again)")
    print(f"  writes paused {moved.pause_s:.2f} s; the slowest write meanwhile took "
          f"{max(slowest):.2f} s ({len(slowest)} writes during the move)")


if __name__ == "__main__":
    main()
