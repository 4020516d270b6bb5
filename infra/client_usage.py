"""When each API client last got a token: `<schema>.client_usage`, beside the client's own
events (tokens are issued often; this is a fact to show the office, not to keep forever)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from psycopg import sql

from infra.database import Database, TenantTable
from infra.servers import TenantMovingError


class ClientUsage:
    """Last token issued per client, in the schema of the client's tenant (or office)."""

    def __init__(self, database: Database,
                 route: Callable[[str], Database] | None = None) -> None:
        self.database = database
        self.route = route  # a schema's database, when tenants live on several servers
        self._tables: dict[int, TenantTable] = {}

    def _where(self, schema: str) -> tuple[Database, sql.Identifier]:
        database = self.route(schema) if self.route else self.database
        table = self._tables.get(id(database))
        if table is None:
            table = self._tables[id(database)] = TenantTable(
                database, "client_usage",
                "client_id text PRIMARY KEY, last_token_at timestamptz NOT NULL")
        return database, table.of(schema)  # before the connection: it may need one

    def token_issued(self, schema: str, client_id: str) -> None:
        """Notes that the client just got a token (not while its tenant's writes pause for
        a move: a note of usage is not worth a refused token)."""
        database, table = self._where(schema)
        with contextlib.suppress(TenantMovingError), database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (client_id, last_token_at) VALUES (%s, now()) "
                "ON CONFLICT (client_id) DO UPDATE SET last_token_at = now()").format(table),
                (client_id,))

    def last_tokens(self, schema: str) -> dict[str, datetime]:
        """When each client of the schema last got a token (clients that never did: absent)."""
        database, table = self._where(schema)
        with database.connection() as conn:
            rows = conn.execute(sql.SQL("SELECT client_id, last_token_at FROM {}")
                                .format(table)).fetchall()
        return {row["client_id"]: row["last_token_at"] for row in rows}
