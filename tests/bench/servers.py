"""What every benchmark needs: the machine's PostgreSQL and NATS (DATABASE_URL / NATS_URL) or
embedded ones, and a database of the run's own, dropped afterwards."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from infra.embedded import EmbeddedRuntime


@contextmanager
def bench_servers() -> Iterator[tuple[str, str]]:
    """(database URL of a fresh database, NATS URL)."""
    url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    runtime = None
    if not url or not nats_url:
        runtime = EmbeddedRuntime(Path(tempfile.mkdtemp()))
        endpoints = runtime.start()
        url, nats_url = endpoints.database_url, endpoints.nats_url
    dbname = f"cs_bench_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {dbname}")
    try:
        yield psycopg.conninfo.make_conninfo(url, dbname=dbname), nats_url
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        if runtime is not None:
            runtime.stop()
