"""The PostgreSQL servers tenants are placed on, and a tenant's database wherever it lives.

`DATABASE_URL` is the server named `default`: it keeps the office, the read models and the
placements (which server holds each tenant). `COMMONSHELF_TENANT_SERVERS` names the others.
Each server gets one bounded pool per process, opened on first use; a tenant's stores and
event store borrow from the pool of the server it lives on now (`PlacedDatabase`), so a
tenant moved to another server is followed without rebuilding anything above.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from infra.database import Database

T = TypeVar("T")
DEFAULT = "default"
SERVER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
MOVING_STATE = "CSMOV"  # the SQLSTATE a tenant's old copy answers writes with while it moves
GONE_STATES = ("42P01", "3F000", "42883")  # undefined table, schema, function: moved away


class ServerNotFoundError(ValueError):
    """A server name that the configuration does not know."""


class ServersError(ValueError):
    """COMMONSHELF_TENANT_SERVERS is malformed."""


def parse_servers(raw: str | None) -> dict[str, str]:
    """`name=postgresql://...` pairs, comma-separated, as an ordered dict (blank: none)."""
    servers: dict[str, str] = {}
    for index, pair in enumerate(p.strip() for p in (raw or "").split(",")):
        if not pair:
            continue
        name, eq, url = pair.partition("=")
        name, url = name.strip(), url.strip()
        where = f"COMMONSHELF_TENANT_SERVERS entry {index + 1} ({name or pair[:20]!r})"
        if not eq or not SERVER_NAME.match(name):
            raise ServersError(f"{where}: write name=postgresql://..., the name 1-40 lowercase "
                               "letters, digits and hyphens")
        if name == DEFAULT or name in servers:
            raise ServersError(f"{where}: the name {name!r} is taken (default is DATABASE_URL)")
        if not url.startswith(("postgresql://", "postgres://")):
            raise ServersError(f"{where}: the URL must start with postgresql://")
        servers[name] = url
    return servers


class Servers:
    """The process's database servers by name, each with its own bounded pool."""

    def __init__(self, default: Database, others: dict[str, str] | None = None) -> None:
        self.default = default
        self._urls = {DEFAULT: default.url, **(others or {})}
        self._databases: dict[str, Database] = {DEFAULT: default}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """Every server's name, `default` first."""
        return list(self._urls)

    def url(self, name: str) -> str:
        """A server's URL."""
        self.check(name)
        return self._urls[name]

    def check(self, name: str) -> str:
        """The name, if the configuration knows it (ServerNotFoundError otherwise)."""
        if name not in self._urls:
            raise ServerNotFoundError(
                f"no database server named {name!r}; there are: {', '.join(self._urls)} "
                "(COMMONSHELF_TENANT_SERVERS names the others)")
        return name

    def get(self, name: str) -> Database:
        """A server's database, its pool as large as the default's, opened on first use."""
        self.check(name)
        with self._lock:
            found = self._databases.get(name)
            if found is None:
                found = Database(self._urls[name], self.default.pool_size,
                                 name=f"commonshelf-{name}")
                self._databases[name] = found
            return found

    def close(self) -> None:
        """Closes the pools of the servers other than the default (its owner closes it)."""
        with self._lock:
            for name, database in self._databases.items():
                if name != DEFAULT:
                    database.close()


def moving(error: BaseException) -> bool:
    """True when a write failed because the tenant's copy it went to is moving or gone."""
    cause: BaseException | None = error
    while cause is not None:
        state = getattr(cause, "sqlstate", None)
        if state == MOVING_STATE or state in GONE_STATES:
            return True
        cause = cause.__cause__
    return False


class TenantMovingError(RuntimeError):
    """The tenant is being moved to another server: its writes pause for a few seconds."""


def patiently(work: Callable[[], T], pause_s: float = 30.0) -> T:
    """Runs work that may meet a tenant's writes paused by a move; runs it again (it wrote
    nothing: the old copy refused it) until the move switched, for `pause_s` at most."""
    started = time.monotonic()
    while True:
        try:
            return work()
        except TenantMovingError:
            if time.monotonic() - started > pause_s:
                raise
            time.sleep(0.1)


class PlacedDatabase(Database):
    """One tenant's database: the pool of whichever server holds the tenant now.

    `locate(fresh)` names the server (fresh: asked again, not from a cache). Writes that meet
    the old copy of a moving tenant wait (`wait_moved`) and go to its new server."""

    def __init__(self, servers: Servers, locate: Callable[[bool], str],
                 pause_s: float = 30.0) -> None:
        # Deliberately not calling super().__init__: no pool of its own.
        self._servers = servers
        self._locate = locate
        self.pause_s = pause_s

    @property
    def current(self) -> Database:
        """The database of the server that holds the tenant now."""
        return self._servers.get(self._locate(False))

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.current.url

    @property
    def pool(self) -> ConnectionPool[psycopg.Connection[DictRow]]:  # type: ignore[override]
        return self.current.pool

    @property
    def pool_size(self) -> int:  # type: ignore[override]
        return self.current.pool_size

    def open(self) -> None:
        self.current.open()

    def close(self) -> None:
        """The pools belong to the servers: nothing to close here."""

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            with self.current.connection() as conn:
                yield conn
        except psycopg.Error as error:
            if error.sqlstate == MOVING_STATE:
                raise TenantMovingError(
                    "this library is being moved to another database server; "
                    "try again in a few seconds") from error
            raise

    def wait_moved(self, started: float) -> None:
        """After a write met the old copy: asks where the tenant lives (again) until the move
        switched it, or raises TenantMovingError when the pause lasts too long."""
        if time.monotonic() - started > self.pause_s:
            raise TenantMovingError("this library is being moved to another database server "
                                    f"and its writes paused longer than {self.pause_s:.0f} s")
        time.sleep(0.05)
        self._locate(True)

