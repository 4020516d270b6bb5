"""Staff passwords, hashed with Argon2id, kept beside a tenant's events in
`<schema>.staff_credentials` (never in an event: deleting the row erases the hash)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from psycopg import sql

from infra.database import Database, TenantTable


class StaffCredentials:
    """The password hash of every staff user, each tenant's in its own schema."""

    def __init__(self, database_of: Callable[[str], Database],
                 hasher: PasswordHasher | None = None) -> None:
        self.database_of = database_of  # a schema's database, wherever its tenant lives
        self.hasher = hasher or PasswordHasher()  # Argon2id, RFC 9106's second profile
        self._tables: dict[int, TenantTable] = {}
        # Verified when a username is unknown, so a wrong name costs as long as a wrong password.
        self._decoy = self.hasher.hash("commonshelf decoy password")

    def set(self, schema: str, user_id: uuid.UUID, password: str) -> None:
        """Hashes and keeps the user's password, replacing any earlier one."""
        hashed = self.hasher.hash(password)
        database, table = self._table(schema)
        with database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (user_id, hash) VALUES (%s, %s) ON CONFLICT (user_id) "
                "DO UPDATE SET hash = excluded.hash, set_at = now()").format(table),
                (user_id, hashed))

    def verify(self, schema: str, user_id: uuid.UUID | None, password: str) -> bool:
        """True when the password is the user's (None: no such user, checked as long)."""
        stored = self._hash_of(schema, user_id) if user_id is not None else None
        try:
            self.hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if stored is None:
            return False
        if self.hasher.check_needs_rehash(stored) and user_id is not None:
            self.set(schema, user_id, password)
        return True

    def erase(self, schema: str, user_id: uuid.UUID) -> None:
        """Deletes the user's hash."""
        database, table = self._table(schema)
        with database.connection() as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE user_id = %s").format(table), (user_id,))

    def _table(self, schema: str) -> tuple[Database, sql.Identifier]:
        database = self.database_of(schema)
        table = self._tables.get(id(database))
        if table is None:
            table = self._tables[id(database)] = TenantTable(
                database, "staff_credentials", "user_id uuid PRIMARY KEY, hash text NOT NULL, "
                "set_at timestamptz NOT NULL DEFAULT now()")
        return database, table.of(schema)

    def _hash_of(self, schema: str, user_id: uuid.UUID) -> str | None:
        database, table = self._table(schema)
        with database.connection() as conn:
            row = conn.execute(sql.SQL("SELECT hash FROM {} WHERE user_id = %s").format(table),
                               (user_id,)).fetchone()
        return None if row is None else str(row["hash"])
