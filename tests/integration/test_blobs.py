"""Blobs are stored as a gzip stream in parts and read back whole; a blob stored whole by an
earlier version still reads; the same content twice is stored once."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from psycopg import sql

import infra.blobs
from api.dependencies import Services
from tenants.scope import tenant_schema

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture
def slug(http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> str:
    http.post("/admin/tenants", json={"slug": unique_slug, "name": "Blobs"},
              headers=admin_headers)
    return unique_slug


def test_a_blob_in_parts_reads_back_whole_and_is_stored_once(
        services: Services, slug: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra.blobs, "PART_BYTES", 1000)
    content = os.urandom(5000) + b"\n" * 3000
    gzipped = tmp_path / "blob.gz"
    gzipped.write_bytes(gzip.compress(content))
    address = hashlib.sha256(content).hexdigest()
    blobs = services.scope(slug).blobs
    assert blobs.put_gzip(address, len(content), gzipped) == address
    assert blobs.put_gzip(address, len(content), gzipped) == address  # again: nothing new
    with services.database.connection() as conn:
        parts = conn.execute(sql.SQL("SELECT count(*) AS n FROM {} WHERE sha256 = %s").format(
            sql.Identifier(tenant_schema(slug), "blob_parts")), (address,)).fetchone()
    assert parts is not None
    assert parts["n"] == -(-gzipped.stat().st_size // 1000)
    assert blobs.get_to_file(address, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == content
    assert not blobs.get_to_file("0" * 64, tmp_path / "none")


def test_a_blob_stored_whole_by_an_earlier_version_still_reads(
        services: Services, slug: str, tmp_path: Path) -> None:
    content = b'{"type": "header"}\n' * 100
    address = hashlib.sha256(content).hexdigest()
    blobs = services.scope(slug).blobs
    assert not blobs.get_to_file(address, tmp_path / "none")  # (makes the tables)
    with services.database.connection() as conn:
        conn.execute(sql.SQL("INSERT INTO {} (sha256, size, data) VALUES (%s, %s, %s)").format(
            sql.Identifier(tenant_schema(slug), "blobs")),
            (address, len(content), gzip.compress(content)))
    assert blobs.get_to_file(address, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == content
