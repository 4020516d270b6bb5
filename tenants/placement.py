"""Which database server serves each tenant: new tenants go to the server holding the fewest
(or the one named), and every process follows a tenant that moves."""

from __future__ import annotations

import threading
import time
import uuid

from infra.import_jobs import ImportJobs
from infra.kek import KeyEncryptionKey
from infra.placements import Placement, Placements
from infra.servers import DEFAULT, PlacedDatabase, ServerNotFoundError, Servers
from tenants.errors import TenantServerUnknownError
from tenants.scope import Stores

LOCATION_TTL_S = 1.0  # a process looks again this often; a move waits longer before dropping


class TenantPlacement:
    """The servers, where each tenant lives (cached for LOCATION_TTL_S), and each tenant's
    database and stores bound to wherever it lives now."""

    def __init__(self, servers: Servers, kek: KeyEncryptionKey | None = None,
                 owner: uuid.UUID | None = None) -> None:
        self.servers = servers
        self.table = Placements(servers.default)
        self._kek = kek
        self.owner = owner or uuid.uuid4()  # this process, in the import jobs it runs
        self._located: dict[str, tuple[str, float]] = {}
        self._databases: dict[str, PlacedDatabase] = {}
        self._stores: dict[str, Stores] = {}
        self._lock = threading.Lock()

    def server_of(self, slug: str, fresh: bool = False) -> str:
        """The name of the server that holds the tenant."""
        now = time.monotonic()
        with self._lock:
            known = self._located.get(slug)
        if known is not None and not fresh and now - known[1] < LOCATION_TTL_S:
            return known[0]
        server = self.table.get(slug).server
        with self._lock:
            self._located[slug] = (server, now)
        return server

    def placement(self, slug: str) -> Placement:
        """The tenant's placement as recorded, with its move under way."""
        return self.table.get(slug)

    def database(self, slug: str) -> PlacedDatabase:
        """The tenant's database, wherever it lives."""
        with self._lock:
            found = self._databases.get(slug)
            if found is None:
                found = PlacedDatabase(self.servers,
                                       lambda fresh: self.server_of(slug, fresh))
                self._databases[slug] = found
            return found

    def stores(self, slug: str) -> Stores:
        """The tenant's stores (answers, patron keys, blobs, import jobs), wherever it lives."""
        database = self.database(slug)
        with self._lock:
            found = self._stores.get(slug)
            if found is None:
                found = Stores.of(database, self._kek, self.owner)
                self._stores[slug] = found
            return found

    def heartbeat(self) -> None:
        """Says on every server that this process lives (its import jobs run on)."""
        for name in self.servers.names:
            ImportJobs(self.servers.get(name), self.owner).heartbeat()

    def choose(self, asked: str | None) -> str:
        """The server for a new tenant: the one asked for, or the one holding the fewest
        tenants (ties: the first configured)."""
        if asked is not None:
            try:
                return self.servers.check(asked)
            except ServerNotFoundError as error:
                raise TenantServerUnknownError(f"server: {error}") from None
        held = self.table.tenants_per_server()
        return min(self.servers.names, key=lambda name: (held.get(name, 0),
                                                         name != DEFAULT))
