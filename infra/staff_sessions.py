"""Staff sign-in sessions and their one-time authorization codes, in `auth.staff_sessions`
and `auth.staff_codes`. Codes and refresh tokens are 256 random bits kept only as SHA-256
digests; a refresh token is `<session id>.<secret>` and is replaced on every use (a used
one presented again ends the session: it was copied)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from infra.database import Database

SCHEMA = "auth"
_TABLES = (
    "CREATE TABLE IF NOT EXISTS auth.staff_sessions (session_id text PRIMARY KEY, "
    "tenant text NOT NULL, user_id uuid NOT NULL, refresh_hash text, previous_hash text, "
    "created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, "
    "ended_at timestamptz, ended_why text)",
    "CREATE INDEX IF NOT EXISTS staff_sessions_user ON auth.staff_sessions (tenant, user_id)",
    "CREATE TABLE IF NOT EXISTS auth.staff_codes (code_hash text PRIMARY KEY, "
    "session_id text NOT NULL, client_id text NOT NULL, redirect_uri text NOT NULL, "
    "challenge text NOT NULL, expires_at timestamptz NOT NULL)",
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A session: whose it is, until when, and whether (why) it ended."""

    session_id: str
    tenant: str
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None

    def live(self, now: datetime) -> bool:
        """Not ended and not expired."""
        return self.ended_at is None and now < self.expires_at


@dataclass(frozen=True)
class Code:
    """An authorization code taken (it can never be taken again)."""

    session_id: str
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: datetime


class StaffSessions:
    """Sessions of signed-in staff, shared by every process of the service."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._ready = False

    def _tables(self) -> None:
        if not self._ready:
            self.database.create_schema(SCHEMA)
            with self.database.ddl() as conn:
                for statement in _TABLES:
                    conn.execute(statement)
            self._ready = True

    def start(self, tenant: str, user_id: uuid.UUID, lifetime_s: int) -> str:
        """A new session's id; sessions and codes long over are swept on the way."""
        self._tables()
        session_id = secrets.token_urlsafe(18)
        with self.database.connection() as conn:
            conn.execute("DELETE FROM auth.staff_codes WHERE expires_at < now()")
            conn.execute("DELETE FROM auth.staff_sessions WHERE expires_at < now() - "
                         "interval '1 day'")
            conn.execute("INSERT INTO auth.staff_sessions (session_id, tenant, user_id, "
                         "expires_at) VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                         (session_id, tenant, user_id, lifetime_s))
        return session_id

    def issue_code(self, session_id: str, client_id: str, redirect_uri: str, challenge: str,
                   ttl_s: int) -> str:
        """A one-time code for the session, bound to the client, redirect and PKCE challenge."""
        self._tables()
        code = secrets.token_urlsafe(32)
        with self.database.connection() as conn:
            conn.execute("INSERT INTO auth.staff_codes (code_hash, session_id, client_id, "
                         "redirect_uri, challenge, expires_at) VALUES (%s, %s, %s, %s, %s, "
                         "now() + make_interval(secs => %s))",
                         (_digest(code), session_id, client_id, redirect_uri, challenge, ttl_s))
        return code

    def take_code(self, code: str) -> Code | None:
        """The code's binding, removed so it never serves twice; None when unknown or expired."""
        self._tables()
        with self.database.connection() as conn:
            row = conn.execute("DELETE FROM auth.staff_codes WHERE code_hash = %s RETURNING "
                               "session_id, client_id, redirect_uri, challenge, expires_at, "
                               "expires_at > now() AS fresh", (_digest(code),)).fetchone()
        if row is None or not row["fresh"]:
            return None
        return Code(row["session_id"], row["client_id"], row["redirect_uri"], row["challenge"],
                    row["expires_at"])

    def new_refresh(self, session_id: str) -> str:
        """A refresh token for a live session (replacing the one it had)."""
        secret = secrets.token_urlsafe(32)
        with self.database.connection() as conn:
            conn.execute("UPDATE auth.staff_sessions SET previous_hash = refresh_hash, "
                         "refresh_hash = %s WHERE session_id = %s", (_digest(secret), session_id))
        return f"{session_id}.{secret}"

    def rotate(self, token: str) -> tuple[Session, str] | None:
        """Trades a refresh token for the next one: the session and the new token; None when
        the token is unknown, the session over, or the token already used (which ends it)."""
        self._tables()
        session_id, dot, secret = token.partition(".")
        if not dot or not session_id or not secret:
            return None
        fresh = secrets.token_urlsafe(32)
        given = _digest(secret)
        with self.database.connection() as conn:
            row = conn.execute(
                "UPDATE auth.staff_sessions SET previous_hash = refresh_hash, refresh_hash = %s "
                "WHERE session_id = %s AND refresh_hash = %s AND ended_at IS NULL "
                "AND expires_at > now() RETURNING session_id, tenant, user_id, created_at, "
                "expires_at, ended_at", (_digest(fresh), session_id, given)).fetchone()
            if row is None:
                used = conn.execute("SELECT previous_hash FROM auth.staff_sessions WHERE "
                                    "session_id = %s", (session_id,)).fetchone()
                if used is not None and used["previous_hash"] and hmac.compare_digest(
                        used["previous_hash"], given):
                    self.end(session_id, "a used refresh token was presented again")
                return None
        return Session(**row), f"{session_id}.{fresh}"

    def get(self, session_id: str) -> Session | None:
        """The session, ended or not; None when there is none."""
        self._tables()
        with self.database.connection() as conn:
            row = conn.execute("SELECT session_id, tenant, user_id, created_at, expires_at, "
                               "ended_at FROM auth.staff_sessions WHERE session_id = %s",
                               (session_id,)).fetchone()
        return None if row is None else Session(**row)

    def end(self, session_id: str, why: str) -> None:
        """Ends one session (its refresh token stops working)."""
        self._tables()
        with self.database.connection() as conn:
            conn.execute("UPDATE auth.staff_sessions SET ended_at = now(), ended_why = %s "
                         "WHERE session_id = %s AND ended_at IS NULL", (why, session_id))

    def end_all(self, tenant: str, user_id: uuid.UUID, why: str) -> list[str]:
        """Ends every live session of the user; their ids."""
        self._tables()
        with self.database.connection() as conn:
            rows = conn.execute("UPDATE auth.staff_sessions SET ended_at = now(), ended_why = %s "
                                "WHERE tenant = %s AND user_id = %s AND ended_at IS NULL "
                                "RETURNING session_id", (why, tenant, user_id)).fetchall()
        return [str(r["session_id"]) for r in rows]
