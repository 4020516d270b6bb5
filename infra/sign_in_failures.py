"""Failed sign-ins, counted in `auth.sign_in_failures` so that every process of the service
sees the same count (a lockout holds however many replicas answer). Keys are kept as
SHA-256 digests: no username or address is stored, and rows older than the window go."""

from __future__ import annotations

import hashlib

from infra.database import Database

SCHEMA = "auth"
_TABLE = ("CREATE TABLE IF NOT EXISTS auth.sign_in_failures (key_hash text NOT NULL, "
          "failed_at timestamptz NOT NULL DEFAULT clock_timestamp())")
_INDEX = ("CREATE INDEX IF NOT EXISTS sign_in_failures_key ON auth.sign_in_failures "
          "(key_hash, failed_at DESC)")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SignInFailures:
    """Failures by key (an account, an address) within a sliding window."""

    def __init__(self, database: Database, window_s: float) -> None:
        self.database = database
        self.window_s = window_s
        self._ready = False

    def _tables(self) -> None:
        if not self._ready:
            self.database.create_schema(SCHEMA)
            with self.database.ddl() as conn:
                conn.execute(_TABLE)
                conn.execute(_INDEX)
            self._ready = True

    def wait_s(self, key: str, limit: int) -> float | None:
        """Seconds until the key has fewer than `limit` failures in the window; None: now."""
        self._tables()
        with self.database.connection() as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM failed_at + make_interval(secs => %s) "
                "- clock_timestamp()) AS wait FROM auth.sign_in_failures WHERE key_hash = %s "
                "AND failed_at > clock_timestamp() - make_interval(secs => %s) "
                "ORDER BY failed_at DESC OFFSET %s LIMIT 1",
                (self.window_s, _digest(key), self.window_s, max(0, limit - 1))).fetchone()
        return None if row is None else max(0.0, float(row["wait"]))

    def failed(self, *keys: str) -> None:
        """Counts one failure against each key; forgets failures older than the window."""
        self._tables()
        with self.database.connection() as conn:
            conn.execute("INSERT INTO auth.sign_in_failures (key_hash) "
                         "SELECT unnest(%s::text[])", ([_digest(k) for k in keys],))
            conn.execute("DELETE FROM auth.sign_in_failures WHERE ctid IN (SELECT ctid FROM "
                         "auth.sign_in_failures WHERE failed_at < clock_timestamp() - "
                         "make_interval(secs => %s) LIMIT 1000)", (self.window_s,))
