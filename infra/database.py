"""One bounded PostgreSQL connection pool per process, shared by every tenant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True

DDL_LOCK_KEY = 0x43530002  # serializes CREATE ... IF NOT EXISTS across processes
SWEEP_LOCK_KEY = 0x43530003  # one process at a time expires uncollected holds
ROTA_LOCK_KEY = 0x43530004  # one process at a time moves unanswered lending rotas on


class Database:
    """The process's PostgreSQL: a pool of at most `pool_size` connections, opened lazily."""

    def __init__(self, url: str, pool_size: int, *, name: str = "commonshelf") -> None:
        self.url = url
        self.pool_size = pool_size
        self.pool: ConnectionPool[psycopg.Connection[DictRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            name=name,
            timeout=30.0,
            configure=_configure,
            kwargs={"row_factory": dict_row, "application_name": name},
            connection_class=psycopg.Connection[DictRow],
        )
        self._opened = False

    def open(self) -> None:
        """Opens the pool, failing fast with a clear message when the server is unreachable."""
        if not self._opened:
            self.pool.open(wait=True, timeout=15.0)
            self._opened = True

    def close(self) -> None:
        """Closes every connection of the pool."""
        self.pool.close()
        self._opened = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        """A pooled connection in autocommit mode; use `conn.transaction()` for atomic work."""
        self.open()
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def ddl(self) -> Iterator[psycopg.Connection[DictRow]]:
        """A transaction for `CREATE ... IF NOT EXISTS` that several processes may run at once.

        IF NOT EXISTS alone still races in PostgreSQL's catalog (a unique violation on
        pg_type); the advisory lock makes concurrent starters take turns.
        """
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            yield conn

    @contextmanager
    def exclusive(self, key: int) -> Iterator[bool]:
        """Whether this process got the advisory lock `key`, held for the block (another
        process holding it: False at once, no waiting)."""
        with self.connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()
            got = bool(row and row["got"])
            try:
                yield got
            finally:
                if got:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def ping(self, timeout_s: int = 2) -> None:
        """Raises if PostgreSQL does not answer a trivial query within the timeout."""
        with psycopg.connect(self.url, connect_timeout=timeout_s, autocommit=True) as conn:
            conn.execute("SELECT 1")

    def schema_exists(self, schema: str) -> bool:
        """True if the named schema exists."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT 1 AS found FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
        return row is not None

    def create_schema(self, schema: str) -> bool:
        """Creates the schema; returns False when it already existed."""
        _check_schema_name(schema)
        with self.ddl() as conn:
            if conn.execute("SELECT 1 AS found FROM pg_namespace WHERE nspname = %s",
                            (schema,)).fetchone():
                return False
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return True

    def drop_schema(self, schema: str) -> None:
        """Drops the schema and everything in it."""
        _check_schema_name(schema)
        with self.connection() as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )



def _check_schema_name(schema: str) -> None:
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"not a valid schema name: {schema!r}")


class TenantTable:
    """A table every tenant's schema gets on first use (import jobs, patron keys, ...)."""

    def __init__(self, database: Database, name: str, columns: LiteralString,
                 upgrade: LiteralString | None = None) -> None:
        self.database = database
        self.name = name
        self.columns = columns  # the CREATE TABLE column list
        self.upgrade = upgrade  # brings a table of an earlier version up to date ({}: it)
        self._ready: set[str] = set()

    def of(self, schema: str) -> sql.Identifier:
        """The tenant's table, created the first time this process asks. Ask before taking
        a connection: the first time takes one of its own (asked while holding one, a
        pool of N connections deadlocks under N first requests)."""
        if schema not in self._ready:
            with self.database.ddl() as conn:
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                    sql.Identifier(schema, self.name), sql.SQL(self.columns)))
                if self.upgrade is not None:
                    conn.execute(sql.SQL(self.upgrade).format(sql.Identifier(schema, self.name)))
            self._ready.add(schema)
        return sql.Identifier(schema, self.name)
