"""Idempotency keys: a retried mutation gets the first answer and records nothing new.

Answers are kept per tenant in `<schema>.idempotency`, keyed by the client's key and
bound to the operation it was first used for and a fingerprint of that first input. A
command's answer goes in as a receipt, in the same transaction as the command's events (see
`TenantEventsRecorder`): a key is answered if and only if its command was recorded, and of
two racing requests with one key only one can record anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from infra.database import Database, TenantTable

TABLE = "idempotency"


class KeyReusedError(ValueError):
    """The key was first used for another operation, or the same one with another input."""

    def __init__(self, message: str, first_operation: str) -> None:
        super().__init__(message)
        self.first_operation = first_operation


@dataclass(frozen=True)
class Receipt:
    """A command's answer under an idempotency key, written with its events by the event
    store (a key already answered fails the append: IntegrityError)."""

    key: str
    operation: str
    answer: dict[str, Any]
    fingerprint: str | None = None


class IdempotencyStore:
    """First answers by idempotency key, each tenant's in its own schema."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._answers = TenantTable(database, TABLE,
                                    "key text PRIMARY KEY, operation text NOT NULL, "
                                    "answer jsonb NOT NULL, "
                                    "answered_at timestamptz NOT NULL DEFAULT now(), "
                                    "fingerprint text",
                                    # tables made before keys were bound to their input
                                    upgrade="ALTER TABLE {} ADD COLUMN IF NOT EXISTS "
                                            "fingerprint text")

    def _table(self, schema: str) -> sql.Identifier:
        return self._answers.of(schema)

    def answer(self, schema: str, key: str, operation: str,
               fingerprint: str | None = None) -> dict[str, Any] | None:
        """The first answer given under this key, if any; KeyReusedError when the key was
        first used for another operation or another input."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL(
                "SELECT operation, answer, fingerprint FROM {} WHERE key = %s").format(table),
                (key,)).fetchone()
        if row is None:
            return None
        if row["operation"] != operation:
            raise KeyReusedError(f"idempotencyKey {key!r} was used for {row['operation']}, "
                                 f"not {operation}: use a new key for a new operation",
                                 row["operation"])
        first = row["fingerprint"]
        if fingerprint is not None and first is not None and first != fingerprint:
            raise KeyReusedError(f"idempotencyKey {key!r} was used for {operation} with "
                                 "another input: use a new key for a new request",
                                 row["operation"])
        answer: dict[str, Any] = row["answer"]
        return answer

    def receipt(self, schema: str, key: str, operation: str, answer: dict[str, Any],
                fingerprint: str | None = None) -> Receipt:
        """The answer as a receipt for the command's own transaction (its table made)."""
        self._table(schema)
        return Receipt(key, operation, answer, fingerprint)

    def keep(self, schema: str, receipt: Receipt) -> None:
        """Keeps the answer of a command that recorded no event (it changed nothing), so the
        key stays bound to its operation and input; a key answered meanwhile stays as is."""
        table = self._table(schema)
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (key, operation, answer, fingerprint) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (key) DO NOTHING").format(table),
                (receipt.key, receipt.operation, Jsonb(receipt.answer), receipt.fingerprint))
