"""How long the relay stops publishing when a node of a three-node NATS JetStream cluster is
SIGKILLed while events flow (the events stream at R3): the stream's leader, beside the
baseline of a follower. Usage: python tests/bench/bench_nats_failover.py [EVENTS_PER_S]

Each run starts its own cluster (tests/e2e/test_nats_cluster.py) and a database of its own
on the machine's PostgreSQL (DATABASE_URL) or an embedded one; NATS_URL is not used."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql

from infra.database import Database
from infra.relay import Relay
from tenants.consortium import Consortium, log_name
from tests.bench.servers import bench_servers
from tests.e2e.test_nats_cluster import NatsCluster

WRITE_S = 8.0
KILL_AT_S = 2.0


def _write(consortium: Consortium, rate: float, count: int) -> None:
    for i in range(count):
        consortium.create_client("failover", f"client {i}", ["ill"])
        time.sleep(1 / rate)


async def _longest_stall(db: str, victim_role: str, rate: float) -> tuple[float, int, int]:
    """(longest pause in publishing after the kill, events published, events stored)."""
    cluster = NatsCluster(Path(tempfile.mkdtemp()))
    database = Database(db, 2, name="bench-failover")
    try:
        await asyncio.to_thread(cluster.start)
        consortium = Consortium(database)
        relay = Relay(db, cluster.url, log_name, replicas=3)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await asyncio.wait_for(relay.leading.wait(), 60)
        await asyncio.to_thread(consortium.register_tenant, "failover", "Failover", None)
        count = int(rate * WRITE_S)
        writer = threading.Thread(target=_write, args=(consortium, rate, count))
        writer.start()
        started, killed_at = time.monotonic(), 0.0
        last_change, last_seen, stall = started, relay.stats.published, 0.0
        target = 0  # every stored event, once the writer is done
        while not target or relay.stats.published < target:
            now = time.monotonic()
            if not target and not writer.is_alive():
                target = await asyncio.to_thread(_stored, db)
            if not killed_at and now - started > KILL_AT_S:
                leader, _, _ = await asyncio.to_thread(cluster.stream_state)
                victims = [n for n in cluster.nodes if (n.name == leader) == (
                    victim_role == "leader")]
                victims[0].kill()
                killed_at = now
            if relay.stats.published != last_seen:
                if killed_at:
                    stall = max(stall, now - last_change)
                last_change, last_seen = now, relay.stats.published
            if now - started > 120:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task
        return stall, relay.stats.published, _stored(db)
    finally:
        database.close()
        cluster.stop()


def _stored(db: str) -> int:
    """Events in every log of the database: what the relay must have published."""
    with psycopg.connect(db) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'events'").fetchall()]
        return sum(int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(s, "events"))).fetchone()[0]) for s in schemas)  # type: ignore[index]


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50
    for role in ("follower", "leader"):
        with bench_servers() as (db, _):
            stall, published, stored = asyncio.run(_longest_stall(db, role, rate))
        print(f"{role} of the R3 stream killed at {rate:.0f} events/s: publishing paused "
              f"{stall:.1f} s at most; {published} events published of {stored} stored")


if __name__ == "__main__":
    main()
