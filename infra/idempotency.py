"""Idempotency keys: a retried mutation gets the first answer and records nothing new.

Answers are kept per tenant in `<schema>.idempotency`, keyed by the client's key and
bound to the operation it was first used for.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import sql

from infra.database import Database, TenantTable


class KeyReusedError(ValueError):
    """The key was first used for another operation."""


class IdempotencyStore:
    """First answers by idempotency key, each tenant's in its own schema."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._answers = TenantTable(database, "idempotency",
                                    "key text PRIMARY KEY, operation text NOT NULL, "
                                    "answer jsonb NOT NULL, "
                                    "answered_at timestamptz NOT NULL DEFAULT now()")

    def _table(self, schema: str) -> sql.Identifier:
        return self._answers.of(schema)

    def answer(self, schema: str, key: str, operation: str) -> dict[str, Any] | None:
        """The first answer given under this key, if any."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            row = conn.execute(sql.SQL("SELECT operation, answer FROM {} WHERE key = %s").format(
                table), (key,)).fetchone()
        if row is None:
            return None
        if row["operation"] != operation:
            raise KeyReusedError(f"idempotencyKey {key!r} was used for {row['operation']}, "
                                 f"not {operation}: use a new key for a new operation")
        answer: dict[str, Any] = row["answer"]
        return answer

    def remember(self, schema: str, key: str, operation: str,
                 answer: dict[str, Any]) -> dict[str, Any]:
        """Keeps the answer; if a racing retry kept one first, that one is the answer."""
        table = self._table(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (key, operation, answer) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO NOTHING").format(table),
                (key, operation, json.dumps(answer)))
        first = self.answer(schema, key, operation)
        return first if first is not None else answer
