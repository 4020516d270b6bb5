"""Blob storage in PostgreSQL: uploads kept by the SHA-256 of their content, compressed, in
the tenant's schema (so a tenant's export or deletion takes its blobs along)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from psycopg import sql

from infra.database import Database, TenantTable


class Blobs:
    """Content-addressed blobs, per tenant."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._blobs = TenantTable(database, "blobs",
                                  "sha256 text PRIMARY KEY, size bigint NOT NULL, "
                                  "data bytea NOT NULL, "
                                  "stored_at timestamptz NOT NULL DEFAULT now()")

    def put_file(self, schema: str, path: Path) -> str:
        """Stores a file once (by content); its address."""
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        address = digest.hexdigest()
        data = gzip.compress(path.read_bytes(), compresslevel=1)
        table = self._blobs.of(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL("INSERT INTO {} (sha256, size, data) VALUES (%s, %s, %s) "
                                 "ON CONFLICT (sha256) DO NOTHING").format(
                                     table),
                         (address, path.stat().st_size, data))
        return address

    def get_to_file(self, schema: str, address: str, path: Path) -> bool:
        """Writes the blob to a file; False if there is none."""
        table = self._blobs.of(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL("SELECT data FROM {} WHERE sha256 = %s").format(
                table), (address,)).fetchone()
        if row is None:
            return False
        path.write_bytes(gzip.decompress(bytes(row["data"])))
        return True
