"""The patron vault: each patron's key, kept apart from the events in `<schema>.patron_keys`.

Personal data goes into events sealed with the patron's own AES-256-GCM key; the row here
maps the patron's id, their pseudonym (the key's id, which loans and holds carry instead of
the patron) and a hash of their barcode (to find them at the desk) to that key. Deleting
the row is the erasure: the sealed data can no longer be opened, and nothing links the
pseudonym or the barcode to the patron any more.

What stays on disk after the row is deleted (WAL, backups, a page not yet reused) must open
nothing either: the key is stored wrapped by the key-encryption key, which never enters
PostgreSQL, and the table is rewritten after each erasure. The barcode hash is a keyed HMAC
with a secret per tenant, derived from that key: it cannot be brute-forced from the
database alone and does not match the same barcode in another library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from infra.database import Database, TenantTable
from infra.kek import KeyEncryptionKey, KeyEncryptionKeyError

VAULT_MIGRATION_LOCK_KEY = 0x43530006  # one process at a time wraps old keys


class BarcodeTakenError(ValueError):
    """Another patron of the tenant has this barcode."""


@dataclass(frozen=True)
class PatronKey:
    """A patron's row in the vault."""

    patron_id: uuid.UUID
    pseudonym: uuid.UUID
    key: bytes

    def seal(self, data: dict[str, Any]) -> str:
        """The data, encrypted for this patron only."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, json.dumps(data).encode(), None)
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        """Data sealed with this patron's key."""
        raw = base64.b64decode(sealed)
        try:
            opened: dict[str, Any] = json.loads(AESGCM(self.key).decrypt(raw[:12], raw[12:],
                                                                          None))
        except InvalidTag:
            raise ValueError("sealed with another key") from None
        return opened


LEGACY_KEY_BYTES = 32  # a key an earlier version stored unwrapped
_HASH_PREFIX = "h1:"


def legacy_barcode_hash(barcode: str) -> str:
    """How an earlier version found a patron by barcode: an unkeyed SHA-256."""
    return hashlib.sha256(barcode.encode()).hexdigest()


class PatronVault:
    """The patrons' keys of every tenant, each tenant's in its own schema."""

    def __init__(self, database: Database, kek: KeyEncryptionKey | None) -> None:
        self.database = database
        self._kek = kek
        self._keys = TenantTable(database, "patron_keys",
                                 "patron_id uuid PRIMARY KEY, pseudonym uuid UNIQUE NOT NULL, "
                                 "barcode_hash text UNIQUE NOT NULL, key bytea NOT NULL")
        self._migrated: set[str] = set()
        self._secrets: dict[str, bytes] = {}

    @property
    def kek(self) -> KeyEncryptionKey:
        """The key-encryption key; a process built without one keeps no patron keys."""
        if self._kek is None:
            raise KeyEncryptionKeyError("this process was given no key-encryption key, so it "
                                        "cannot keep patron keys (see docs/security.md)")
        return self._kek

    def barcode_hash(self, schema: str, barcode: str) -> str:
        """How the vault finds a patron by barcode without keeping the barcode."""
        secret = self._secrets.get(schema)
        if secret is None:
            secret = self._secrets[schema] = self.kek.derive(f"barcode-hash:{schema}")
        return _HASH_PREFIX + hmac.new(secret, barcode.encode(), hashlib.sha256).hexdigest()

    def _table(self, schema: str) -> sql.Identifier:
        table = self._keys.of(schema)
        if schema not in self._migrated:
            self._wrap_legacy_keys(schema, table)
            self._migrated.add(schema)
        return table

    def _wrap_legacy_keys(self, schema: str, table: sql.Identifier) -> None:
        """Keys an earlier version stored in the clear are wrapped, once, and the table
        rewritten so that the plain ones leave its pages."""
        with self.database.connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (VAULT_MIGRATION_LOCK_KEY,))
                rows = conn.execute(sql.SQL(
                    "SELECT patron_id, key FROM {} WHERE length(key) = %s FOR UPDATE").format(
                        table), (LEGACY_KEY_BYTES,)).fetchall()
                for row in rows:
                    conn.execute(sql.SQL("UPDATE {} SET key = %s WHERE patron_id = %s").format(
                        table), (self._wrap(schema, row["patron_id"], bytes(row["key"])),
                                 row["patron_id"]))
            if rows:
                conn.execute(sql.SQL("VACUUM FULL {}").format(table))

    def _wrap(self, schema: str, patron_id: uuid.UUID, key: bytes) -> bytes:
        return self.kek.wrap(key, f"patron-key:{schema}:{patron_id}")

    def _unwrap(self, schema: str, patron_id: uuid.UUID, stored: bytes) -> bytes:
        if len(stored) == LEGACY_KEY_BYTES:  # written since this process wrapped the table
            return stored                     # by an earlier version still running
        return self.kek.unwrap(stored, f"patron-key:{schema}:{patron_id}")

    def create(self, schema: str, patron_id: uuid.UUID, barcode: str) -> PatronKey:
        """A new key for a new patron; BarcodeTakenError if the barcode is someone's."""
        key = PatronKey(patron_id, uuid.uuid4(), AESGCM.generate_key(bit_length=256))
        taken = BarcodeTakenError(f"another patron has barcode {barcode!r}")
        try:
            table = self._table(schema)  # before the connection: it may need one
            with self.database.connection() as conn:
                if conn.execute(sql.SQL("SELECT 1 FROM {} WHERE barcode_hash = %s").format(
                        table), (legacy_barcode_hash(barcode),)).fetchone():
                    raise taken
                conn.execute(sql.SQL(
                    "INSERT INTO {} (patron_id, pseudonym, barcode_hash, key) "
                    "VALUES (%s, %s, %s, %s)").format(table),
                    (key.patron_id, key.pseudonym, self.barcode_hash(schema, barcode),
                     self._wrap(schema, patron_id, key.key)))
        except psycopg.errors.UniqueViolation:
            raise taken from None
        return key

    def _one(self, schema: str, column: str, value: object) -> PatronKey | None:
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL(
                "SELECT patron_id, pseudonym, key FROM {} WHERE {} = %s").format(
                    table, sql.Identifier(column)), (value,)).fetchone()
        if row is None:
            return None
        return PatronKey(row["patron_id"], row["pseudonym"],
                         self._unwrap(schema, row["patron_id"], bytes(row["key"])))

    def by_barcode(self, schema: str, barcode: str) -> PatronKey | None:
        """The key of the patron with this barcode, if any (erased ones have none). A row
        an earlier version hashed without a key gets the keyed hash when first found."""
        found = self._one(schema, "barcode_hash", self.barcode_hash(schema, barcode))
        if found is not None:
            return found
        found = self._one(schema, "barcode_hash", legacy_barcode_hash(barcode))
        if found is not None:
            with self.database.connection() as conn:
                conn.execute(sql.SQL("UPDATE {} SET barcode_hash = %s WHERE patron_id = %s")
                             .format(self._table(schema)),
                             (self.barcode_hash(schema, barcode), found.patron_id))
        return found

    def by_patron(self, schema: str, patron_id: uuid.UUID) -> PatronKey | None:
        """The key of this patron, if not erased."""
        return self._one(schema, "patron_id", patron_id)

    def by_pseudonym(self, schema: str, pseudonym: uuid.UUID) -> PatronKey | None:
        """The key behind a pseudonym, if its patron was not erased."""
        return self._one(schema, "pseudonym", pseudonym)

    def destroy(self, schema: str, patron_id: uuid.UUID) -> None:
        """Erases the patron: their key, pseudonym link and barcode hash are gone for good.

        The table is then rewritten (VACUUM FULL, a short exclusive lock on this tenant's
        keys alone) so the deleted row leaves its pages and indexes at once, instead of
        waiting in a dead tuple until autovacuum and later writes overwrite it. A rewrite
        keeps a row some older snapshot may still see, so it first waits (briefly) for the
        transactions that began before the deletion."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            with conn.transaction():
                conn.execute(sql.SQL("DELETE FROM {} WHERE patron_id = %s").format(
                    table), (patron_id,))
                row = conn.execute("SELECT pg_current_xact_id()::xid::text AS xid").fetchone()
            if row is not None:
                _wait_for_older_snapshots(conn, str(row["xid"]))
            conn.execute(sql.SQL("VACUUM FULL {}").format(table))


ERASURE_WAIT_S = 5.0


def _wait_for_older_snapshots(conn: psycopg.Connection[Any], xid: str) -> None:
    """Waits until no transaction of this database still sees what `xid` deleted (at most
    ERASURE_WAIT_S: a longer one leaves the row to the next vacuum, wrapped)."""
    deadline = time.monotonic() + ERASURE_WAIT_S
    while time.monotonic() < deadline:
        older = conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL "
            "AND age(backend_xmin) >= age(%s::xid)", (xid,)).fetchone()
        if older is None or older["n"] == 0:
            return
        time.sleep(0.02)
