"""Blob storage in PostgreSQL: uploads kept by the SHA-256 of their content, compressed, in
the tenant's schema (so a tenant's export or deletion takes its blobs along). A large blob is
kept as one gzip stream cut into parts of PART_BYTES, so neither storing nor reading it
holds it in memory."""

from __future__ import annotations

import gzip
import itertools
import zlib
from pathlib import Path

from psycopg import sql

from infra.database import Database, TenantTable

PART_BYTES = 1024 * 1024


class Blobs:
    """Content-addressed blobs, per tenant."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._blobs = TenantTable(database, "blobs",
                                  "sha256 text PRIMARY KEY, size bigint NOT NULL, "
                                  "data bytea NOT NULL, "
                                  "stored_at timestamptz NOT NULL DEFAULT now()")
        # parts of a blob whose `data` is empty: its gzip stream in order
        self._parts = TenantTable(database, "blob_parts",
                                  "sha256 text NOT NULL, part integer NOT NULL, "
                                  "data bytea NOT NULL, PRIMARY KEY (sha256, part)")

    def put_gzip(self, schema: str, address: str, size: int, gzipped: Path) -> str:
        """Stores a blob given as a gzip file (its content's SHA-256 and size known), part by
        part, once; its address."""
        table, parts = self._blobs.of(schema), self._parts.of(schema)
        with self.database.connection() as conn, conn.transaction(), gzipped.open("rb") as src:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (address,))
            if conn.execute(sql.SQL("SELECT 1 FROM {} WHERE sha256 = %s").format(table),
                            (address,)).fetchone():
                return address
            for part, data in enumerate(iter(lambda: src.read(PART_BYTES), b"")):
                conn.execute(sql.SQL("INSERT INTO {} (sha256, part, data) VALUES (%s, %s, %s)"
                                     ).format(parts), (address, part, data))
            conn.execute(sql.SQL("INSERT INTO {} (sha256, size, data) VALUES (%s, %s, '')"
                                 ).format(table), (address, size))
        return address

    def get_to_file(self, schema: str, address: str, path: Path) -> bool:
        """Writes the blob to a file; False if there is none."""
        table, parts = self._blobs.of(schema), self._parts.of(schema)
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL("SELECT data FROM {} WHERE sha256 = %s").format(
                table), (address,)).fetchone()
            if row is None:
                return False
            if row["data"]:  # stored whole
                path.write_bytes(gzip.decompress(bytes(row["data"])))
                return True
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            with path.open("wb") as out:
                for part in itertools.count():
                    found = conn.execute(sql.SQL(
                        "SELECT data FROM {} WHERE sha256 = %s AND part = %s").format(parts),
                        (address, part)).fetchone()
                    if found is None:
                        break
                    out.write(inflate.decompress(bytes(found["data"])))
                out.write(inflate.flush())
        return True
