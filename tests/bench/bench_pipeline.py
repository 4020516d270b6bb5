"""The event pipeline's speed: relay, projection apply, and end-to-end lag under load.

Run: .venv/bin/python tests/bench/bench_pipeline.py [N]   (DATABASE_URL/NATS_URL or embedded)
Baselines in the same run: raw JetStream publish_async with acks from nats-py, and a raw
psycopg batched insert of the same rows. Targets (2 cores): relay >= 5,000 events/s,
apply >= 5,000 events/s, lag p99 < 1 s at 500 events/s.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import threading
import time

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.database import Database
from infra.eventstore import application_env, create_events_table
from infra.nats import connect
from infra.relay import Relay
from projections.activity.projection import Activity
from projections.runner import ProjectionWorker

TENANTS = 4


class Visit(Aggregate):
    """A small event, like most of a library's."""

    def __init__(self, desk: str) -> None:
        self.desk = desk


def tenant_of(schema: str) -> str:
    return schema.removeprefix("t_").replace("_", "-")


def seed(database: Database, n: int) -> list[Application]:
    apps = []
    for t in range(TENANTS):
        schema = f"t_bench_{t}"
        database.create_schema(schema)
        create_events_table(database, schema)
        apps.append(Application(env=application_env(database, schema)))
    for i in range(0, n, 100):  # batches of 100 aggregates, spread over the tenants
        apps[(i // 100) % TENANTS].save(*[Visit(f"desk {j}") for j in range(100)])
    return apps


async def until(condition, limit_s: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + limit_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the pipeline did not catch up")
        await asyncio.sleep(0.005)


async def baselines(url: str, nats_url: str, n: int, prefix: str) -> tuple[float, float]:
    nc = await connect(nats_url)
    js = nc.jetstream()
    stream = f"BENCH_RAW_{prefix.upper()}"
    await js.add_stream(name=stream, subjects=[f"{prefix}raw.>"])
    payload = b'{"desk": "desk 1", "timestamp": "2026-11-23T10:00:00+00:00"}' * 3
    started = time.perf_counter()
    for i in range(0, n, 1000):
        acks = [await js.publish_async(f"{prefix}raw.t.Visit.Created", payload,
                                       headers={"Nats-Msg-Id": f"raw:{i + j}"})
                for j in range(min(1000, n - i))]
        await asyncio.gather(*acks)
    jetstream_rate = n / (time.perf_counter() - started)
    await js.delete_stream(stream)
    await nc.close()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw_bench (tenant text, position bigint, payload bytea)")
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO raw_bench VALUES (%s, %s, %s)",
                            [("t", i, payload) for i in range(n)])
        conn.commit()
        insert_rate = n / (time.perf_counter() - started)
    return jetstream_rate, insert_rate


async def measure(url: str, nats_url: str, n: int) -> None:
    prefix = f"bench{secrets.token_hex(3)}"
    stream = prefix.upper()
    database = Database(url, 4, name="cs-bench-pipeline")
    print(f"seeding {n} events in {TENANTS} tenants ...", flush=True)
    apps = await asyncio.to_thread(seed, database, n)

    relay = Relay(url, nats_url, tenant_of, stream=stream, subject_prefix=prefix)
    stop = asyncio.Event()
    started = time.perf_counter()
    relaying = asyncio.create_task(relay.run(stop))
    await until(lambda: relay.stats.published >= n)
    relay_rate = n / (time.perf_counter() - started)
    print(f"relay: {relay_rate:,.0f} events/s", flush=True)

    worker = ProjectionWorker(Activity(), url, nats_url, stream=stream, subject_prefix=prefix,
                              batch=512)
    started = time.perf_counter()
    applying = asyncio.create_task(worker.run(stop))
    await until(lambda: worker.stats.applied >= n)
    apply_rate = n / (time.perf_counter() - started)
    print(f"projection apply: {apply_rate:,.0f} events/s", flush=True)

    lags = await steady_load(database, apps[0], worker, rate=500, seconds=10)
    stop.set()
    await asyncio.gather(relaying, applying)
    jetstream_rate, insert_rate = await baselines(url, nats_url, n, prefix)
    nc = await connect(nats_url)
    await nc.jetstream().delete_stream(stream)
    await nc.close()
    database.close()

    lags.sort()
    p50 = statistics.median(lags)
    p99 = lags[int(len(lags) * 0.99) - 1]
    print()
    print(f"{'what':<46}{'figure':>16}{'baseline (same run)':>34}")
    print(f"{'relay, event store -> JetStream':<46}{relay_rate:>12,.0f} ev/s"
          f"{'raw publish_async+acks ' + format(jetstream_rate, ',.0f'):>34}")
    print(f"{'projection apply (batched, tracked)':<46}{apply_rate:>12,.0f} ev/s"
          f"{'raw psycopg executemany ' + format(insert_rate, ',.0f'):>34}")
    print(f"{'end-to-end lag at 500 events/s, p50 / p99':<46}"
          f"{p50 * 1000:>7.0f} / {p99 * 1000:.0f} ms")
    print(f"relay at {relay_rate / jetstream_rate:.0%} of raw JetStream; apply at "
          f"{apply_rate / insert_rate:.0%} of a raw batched insert")


async def steady_load(database: Database, app: Application, worker: ProjectionWorker,
                      rate: int, seconds: float) -> list[float]:
    """Writes `rate` events/s one per transaction; returns each event's write-to-view lag."""
    written: list[tuple[int, float]] = []  # (position, when), appended by the writer only
    done = threading.Event()

    def write() -> None:
        interval = 1 / rate
        next_at = time.perf_counter()
        end = next_at + seconds
        while next_at < end:
            recordings = app.save(Visit("steady"))
            written.append((recordings[-1].notification.id, time.perf_counter()))
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        done.set()

    print(f"steady load: {rate} events/s for {seconds:.0f} s ...", flush=True)
    writer = threading.Thread(target=write)
    writer.start()
    lags: list[float] = []
    with psycopg.connect(database.url, autocommit=True) as conn:
        # Positions grow in write order: only the events written since the last look are
        # checked, so measuring costs the relay and the worker (same process) no more CPU
        # as the run goes on.
        while not (done.is_set() and len(lags) >= len(written)):
            row = conn.execute(
                "SELECT position FROM projections.tracking WHERE projection = 'activity' "
                "AND tenant = 'bench-0'").fetchone()
            now = time.perf_counter()
            position = int(row[0]) if row else 0
            while len(lags) < len(written) and written[len(lags)][0] <= position:
                lags.append(now - written[len(lags)][1])
            await asyncio.sleep(0.002)
    writer.join()
    return lags


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with bench_servers() as (url, nats_url):
        asyncio.run(measure(url, nats_url, n))


if __name__ == "__main__":
    main()
