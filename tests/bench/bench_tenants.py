"""How many PostgreSQL connections one process holds with N tenants, and what it costs.

Run: .venv/bin/python tests/bench/bench_tenants.py [N]   (DATABASE_URL or embedded)
Baseline, measured in the same run: eventsourcing's default wiring, a pool per Application
(POSTGRES_POOL_SIZE 5 + overflow), on 5 tenants, extrapolated.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from infra.database import Database
from infra.embedded import EmbeddedRuntime
from tenants.consortium import Consortium


class Note(Aggregate):
    """A tiny aggregate for the baseline."""

    def __init__(self, text: str) -> None:
        self.text = text


def count(url: str, name: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           (name,)).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    runtime = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        runtime = EmbeddedRuntime(Path(tempfile.mkdtemp()))
        url = runtime.start().database_url
    dbname = f"cs_bench_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {dbname}")
    bench_url = psycopg.conninfo.make_conninfo(url, dbname=dbname)
    try:
        name = "cs-bench-tenants"
        database = Database(bench_url, pool_size=8, name=name)
        consortium = Consortium(database, max_scopes=256)
        started = time.perf_counter()
        for i in range(n):
            slug = f"bench-{i}"
            consortium.register_tenant(slug, f"Library {i}", None)
            consortium.create_client(slug, "desk", ["library:read"])
            if (i + 1) % 50 == 0:
                print(f"  registered {i + 1}/{n} tenants", flush=True)
        elapsed = time.perf_counter() - started
        ours = count(bench_url, name)
        print(f"CommonShelf: {n} tenants registered with a client each in {elapsed:.1f} s "
              f"({n / elapsed:.0f} tenants/s); connections held by the process: {ours} "
              f"(pool size {database.pool_size})")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            checks = list(pool.map(lambda i: consortium.office.get_tenant(f"bench-{i}").status,
                                   list(range(n)) * 10))
        elapsed = time.perf_counter() - started
        print(f"under load (32 threads, {len(checks)} tenant look-ups across all {n} tenants, "
              f"{len(checks) / elapsed:.0f}/s): connections held: {count(bench_url, name)}")

        params = psycopg.conninfo.conninfo_to_dict(bench_url)
        base_env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
                    "POSTGRES_DBNAME": str(params["dbname"]),
                    "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
                    "POSTGRES_PORT": str(params.get("port", "5432")),
                    "POSTGRES_USER": str(params.get("user", "postgres")),
                    "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": "public"}
        os.environ["PGAPPNAME"] = "cs-bench-baseline"
        apps = []
        sample = min(5, n)  # more would exhaust a default server's max_connections
        for i in range(sample):
            app = Application(env={**base_env, "POSTGRES_SCHEMA": f"t_bench_{i}"})
            app.save(Note("x"))
            apps.append(app)
        baseline = count(bench_url, "cs-bench-baseline")
        per_app = baseline / sample
        print(f"baseline (eventsourcing default, pool per Application): {baseline} connections "
              f"for {sample} tenants = {per_app:.1f} per tenant, so ~{per_app * n:.0f} for {n}")
        for app in apps:
            app.close()
        database.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        if runtime is not None:
            runtime.stop()


if __name__ == "__main__":
    main()
