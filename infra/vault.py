"""The patron vault: each patron's key, kept apart from the events in `<schema>.patron_keys`.

Personal data goes into events sealed with the patron's own AES-256-GCM key; the row here
maps the patron's id, their pseudonym (the key's id, which loans and holds carry instead of
the patron) and a hash of their barcode (to find them at the desk) to that key. Deleting
the row is the erasure: the sealed data can no longer be opened, and nothing links the
pseudonym or the barcode to the patron any more.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from infra.database import Database, TenantTable


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


def barcode_hash(barcode: str) -> str:
    """How the vault finds a patron by barcode without keeping the barcode."""
    return hashlib.sha256(barcode.encode()).hexdigest()


class PatronVault:
    """The patrons' keys of every tenant, each tenant's in its own schema."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._keys = TenantTable(database, "patron_keys",
                                 "patron_id uuid PRIMARY KEY, pseudonym uuid UNIQUE NOT NULL, "
                                 "barcode_hash text UNIQUE NOT NULL, key bytea NOT NULL")

    def _table(self, schema: str) -> sql.Identifier:
        return self._keys.of(schema)

    def create(self, schema: str, patron_id: uuid.UUID, barcode: str) -> PatronKey:
        """A new key for a new patron; BarcodeTakenError if the barcode is someone's."""
        key = PatronKey(patron_id, uuid.uuid4(), AESGCM.generate_key(bit_length=256))
        try:
            table = self._table(schema)  # before the connection: it may need one
            with self.database.connection() as conn:
                conn.execute(sql.SQL(
                    "INSERT INTO {} (patron_id, pseudonym, barcode_hash, key) "
                    "VALUES (%s, %s, %s, %s)").format(table),
                    (key.patron_id, key.pseudonym, barcode_hash(barcode), key.key))
        except psycopg.errors.UniqueViolation:
            raise BarcodeTakenError(f"another patron has barcode {barcode!r}") from None
        return key

    def _one(self, schema: str, column: str, value: object) -> PatronKey | None:
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL(
                "SELECT patron_id, pseudonym, key FROM {} WHERE {} = %s").format(
                    table, sql.Identifier(column)), (value,)).fetchone()
        return PatronKey(row["patron_id"], row["pseudonym"], bytes(row["key"])) if row else None

    def by_barcode(self, schema: str, barcode: str) -> PatronKey | None:
        """The key of the patron with this barcode, if any (erased ones have none)."""
        return self._one(schema, "barcode_hash", barcode_hash(barcode))

    def by_patron(self, schema: str, patron_id: uuid.UUID) -> PatronKey | None:
        """The key of this patron, if not erased."""
        return self._one(schema, "patron_id", patron_id)

    def by_pseudonym(self, schema: str, pseudonym: uuid.UUID) -> PatronKey | None:
        """The key behind a pseudonym, if its patron was not erased."""
        return self._one(schema, "pseudonym", pseudonym)

    def destroy(self, schema: str, patron_id: uuid.UUID) -> None:
        """Erases the patron: their key, pseudonym link and barcode hash are gone for good."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE patron_id = %s").format(
                table), (patron_id,))
