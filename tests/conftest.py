"""Real servers for the tests: the machine's (DATABASE_URL / NATS_URL) or embedded ones."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.embedded import EmbeddedRuntime
from infra.kek import load_kek


@pytest.fixture(scope="session")
def kek_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One key-encryption key for every process of the run (they share one database), also
    handed to the processes the tests start (COMMONSHELF_KEK_FILE)."""
    path = tmp_path_factory.mktemp("kek") / "kek"
    load_kek(path, create=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMMONSHELF_KEK_FILE", str(path))
        yield path


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory,
            kek_file: Path) -> Iterator[tuple[str, str]]:
    """A fresh database of this run's own (dropped afterwards) and a NATS URL."""
    base_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    runtime: EmbeddedRuntime | None = None
    if not base_url or not nats_url:
        runtime = EmbeddedRuntime(tmp_path_factory.mktemp("embedded"))
        endpoints = runtime.start()
        base_url, nats_url = endpoints.database_url, endpoints.nats_url
    name = f"cs_test_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(base_url)
    params["dbname"] = name
    try:
        yield make_conninfo(**params), nats_url
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if runtime is not None:
            runtime.stop()


@pytest.fixture
def unique_slug() -> str:
    """A tenant slug no other test uses."""
    return f"lib-{secrets.token_hex(4)}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory of the test's own."""
    return tmp_path / "data"
