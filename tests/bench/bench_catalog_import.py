"""MARC import speed, end to end, beside what the storage can do.

Run: .venv/bin/python tests/bench/bench_catalog_import.py [N]   (DATABASE_URL/NATS_URL or
embedded). N realistic records (the 20 of pymarc's marc.dat repeated with new control
numbers, each with a Koha 952 item) go through the real path: ISO 2709 parsing, the
catalog's batched import into the tenant's event store, the relay, and the local catalog
projection, timed until the read model has caught up. Baselines in the same run, same
database: the event store's own batched append of the very same events (the eventsourcing
recorder writing them directly) and a raw psycopg COPY of the same records as JSON rows.
Targets (2 cores): >= 2,000 records/s end to end, >= half the event store's append rate.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pymarc
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.database import Database
from infra.eventstore import SchemaDatastore, TenantEventsRecorder, create_events_table
from infra.nats import connect
from tenants.consortium import Consortium, tenant_schema
from tenants.imports import BATCH, MarcImport

SAMPLE = Path(__file__).parents[1] / "data" / "marc" / "shared" / "pymarc" / "marc.dat"


def make_file(n: int) -> bytes:
    """N records as one ISO 2709 file (UTF-8), each with its own 001 and one 952 item."""
    samples = list(pymarc.MARCReader(SAMPLE.read_bytes(), to_unicode=True, force_utf8=True))
    out = io.BytesIO()
    for i in range(n):
        record = samples[i % len(samples)]
        record.remove_fields("001", "003", "952")
        record.add_ordered_field(pymarc.Field(tag="001", data=f"bench{i:08d}"))
        record.add_ordered_field(pymarc.Field(tag="003", data="BENCH"))
        record.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "),
                                      subfields=[pymarc.Subfield("a", "MAIN"),
                                                 pymarc.Subfield("o", f"QA76 .B{i}"),
                                                 pymarc.Subfield("p", f"B{i:08d}"),
                                                 pymarc.Subfield("y", "BK")]))
        record.leader = pymarc.Leader(str(record.leader)[:9] + "a" + str(record.leader)[10:])
        out.write(record.as_marc())
    return out.getvalue()


def start_pipeline(url: str, nats_url: str, prefix: str, projections: str = "local_catalog",
                   *, relay: bool = True) -> list[subprocess.Popen[bytes]]:
    """The relay (unless another runs already) and the projection workers as their own
    processes, as in production."""
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": prefix}
    roles = [["--role", "relay"]] if relay else []
    roles.append(["--role", "projections", "--projections", projections])
    return [subprocess.Popen([sys.executable, "-m", "api.cli", "serve", *role, "--port", "0"],
                             env=env, stdout=subprocess.DEVNULL) for role in roles]


def caught_up(url: str, tenant: str, schema: str) -> bool:
    with psycopg.connect(url) as conn:
        target = conn.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(
            sql.Identifier(schema, "events"))).fetchone()
        exists = conn.execute("SELECT to_regclass('projections.tracking')").fetchone()
        if not exists or exists[0] is None:
            return False
        row = conn.execute("SELECT position FROM projections.tracking WHERE projection = "
                           "'local_catalog' AND tenant = %s", (tenant,)).fetchone()
    return bool(target and row and row[0] >= target[0])


def recorder_baseline(database: Database, schema: str, events: list[StoredEvent],
                      per_batch: int) -> float:
    """The same events appended by the eventsourcing recorder, batch by batch: events/s."""
    copy_schema = f"{schema}_copy"
    database.create_schema(copy_schema)
    create_events_table(database, copy_schema)
    recorder = TenantEventsRecorder(SchemaDatastore(database, copy_schema, 5))
    started = time.perf_counter()
    for i in range(0, len(events), per_batch):
        recorder.insert_events(events[i:i + per_batch])
    return len(events) / (time.perf_counter() - started)


def copy_baseline(url: str, schema: str) -> tuple[float, int]:
    """The same records (description and original) COPYed as JSON rows: records/s."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql.SQL(
            "SELECT originator_id, convert_from(state, 'UTF8') FROM {} WHERE topic LIKE "
            "'%%Record.Catalogued'").format(sql.Identifier(schema, "events"))).fetchall()
        conn.execute("CREATE TABLE bench_raw_records (id uuid, doc jsonb)")
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_raw_records (id, doc) FROM STDIN") as cp:
            for originator_id, state in rows:
                cp.write_row((originator_id, json.dumps(json.loads(state))))
        conn.commit()
        return len(rows) / (time.perf_counter() - started), len(rows)


def measure(url: str, nats_url: str, n: int) -> None:
    print(f"generating {n:,} MARC records ...", flush=True)
    data = make_file(n)
    database = Database(url, 4, name="cs-bench-catalog")
    consortium = Consortium(database)
    tenant = "bench-import"
    consortium.register_tenant(tenant, "Bench", None)
    consortium.create_client(tenant, "bench", ["library:read"])  # the log is not empty
    schema = tenant_schema(tenant)
    prefix = f"benchcat{secrets.token_hex(3)}"
    pipeline = start_pipeline(url, nats_url, prefix)
    while not caught_up(url, tenant, schema):  # the workers are up and have the tenant
        time.sleep(0.1)

    def progress(done: int, summary: object) -> None:
        sys.stderr.write(f"\r  importing: {done * 100 // len(data)}%")

    print(f"importing {len(data) / 1e6:.1f} MB ...", flush=True)
    started = time.perf_counter()
    summary = MarcImport(consortium.scope(tenant).catalog, progress).run(io.BytesIO(data))
    stored = time.perf_counter() - started
    while not caught_up(url, tenant, schema):
        time.sleep(0.01)
    end_to_end = time.perf_counter() - started
    sys.stderr.write("\n")
    assert summary.created == n, summary.as_json()
    for process in pipeline:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    with psycopg.connect(url) as conn:
        events = [StoredEvent(originator_id=r[0], originator_version=r[1], topic=r[2],
                              state=bytes(r[3])) for r in conn.execute(sql.SQL(
                                  "SELECT originator_id, originator_version, topic, state "
                                  "FROM {} WHERE topic LIKE 'domain.catalog%%' ORDER BY "
                                  "notification_id").format(
                                      sql.Identifier(schema, "events"))).fetchall()]
    per_record = len(events) / n
    recorder_rate = recorder_baseline(database, schema, events, int(BATCH * per_record))
    copy_rate, _ = copy_baseline(url, schema)
    database.close()
    asyncio.run(_delete_stream(nats_url, prefix.upper() + "_EVENTS"))

    rate = n / end_to_end
    recorder_records = recorder_rate / per_record
    print()
    print(f"{'what':<58}{'records/s':>12}")
    print(f"{'import, end to end (parse, store, relay, local catalog)':<58}{rate:>12,.0f}")
    print(f"{'  of which events stored (parse + store only)':<58}{n / stored:>12,.0f}")
    print(f"{'event store batched append of the same events (baseline)':<58}"
          f"{recorder_records:>12,.0f}   ({recorder_rate:,.0f} events/s, "
          f"{per_record:.1f} events per record)")
    print(f"{'raw psycopg COPY of the same records as JSON (ceiling)':<58}{copy_rate:>12,.0f}")
    print(f"end to end at {rate / recorder_records:.0%} of the event store's append, "
          f"{rate / copy_rate:.0%} of COPY (targets: >= 2,000 records/s, >= 50%)")


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await connect(nats_url)
    await nc.jetstream().delete_stream(name)
    await nc.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with bench_servers() as (url, nats_url):
        measure(url, nats_url, n)


if __name__ == "__main__":
    main()
