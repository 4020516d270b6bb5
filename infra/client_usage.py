"""When each API client last got a token: `<schema>.client_usage`, beside the client's own
events (tokens are issued often; this is a fact to show the office, not to keep forever)."""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from infra.database import Database, TenantTable


class ClientUsage:
    """Last token issued per client, in the schema of the client's tenant (or office)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._table = TenantTable(database, "client_usage",
                                  "client_id text PRIMARY KEY, "
                                  "last_token_at timestamptz NOT NULL")

    def token_issued(self, schema: str, client_id: str) -> None:
        """Notes that the client just got a token."""
        table = self._table.of(schema)  # before the connection: it may need one
        with self.database.connection() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {} (client_id, last_token_at) VALUES (%s, now()) "
                "ON CONFLICT (client_id) DO UPDATE SET last_token_at = now()").format(table),
                (client_id,))

    def last_tokens(self, schema: str) -> dict[str, datetime]:
        """When each client of the schema last got a token (clients that never did: absent)."""
        table = self._table.of(schema)
        with self.database.connection() as conn:
            rows = conn.execute(sql.SQL("SELECT client_id, last_token_at FROM {}")
                                .format(table)).fetchall()
        return {row["client_id"]: row["last_token_at"] for row in rows}
