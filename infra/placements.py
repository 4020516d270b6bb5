"""Where each tenant lives: `office.placements` on the default server, beside the directory.

A row per tenant placed on a server; a tenant without one lives on `default` (tenants made
before placements existed). A move records where it goes and how far it got, so that a move
interrupted is resumed by running it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.database import Database
from infra.servers import DEFAULT


@dataclass(frozen=True)
class Placement:
    """A tenant's server, and the move under way if there is one."""

    slug: str
    server: str
    moving_to: str | None = None
    phase: str | None = None  # copying, paused, switched
    copied: int = 0  # the last position copied to the new server


class Placements:
    """The placements table (the office's schema must exist)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._ready = False

    def _table(self) -> None:
        if not self._ready:
            with self.database.ddl() as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS office.placements (slug text PRIMARY KEY, "
                             "server text NOT NULL, moving_to text, phase text, "
                             "copied bigint NOT NULL DEFAULT 0, "
                             "changed_at timestamptz NOT NULL DEFAULT now())")
            self._ready = True

    def get(self, slug: str) -> Placement:
        """The tenant's placement (on default when none is recorded)."""
        self._table()
        with self.database.connection() as conn:
            row = conn.execute("SELECT slug, server, moving_to, phase, copied "
                               "FROM office.placements WHERE slug = %s", (slug,)).fetchone()
        return Placement(**row) if row else Placement(slug, DEFAULT)

    def place(self, slug: str, server: str) -> None:
        """Records where a new tenant lives."""
        self._table()
        with self.database.connection() as conn:
            conn.execute("INSERT INTO office.placements (slug, server) VALUES (%s, %s) "
                         "ON CONFLICT (slug) DO UPDATE SET server = EXCLUDED.server, "
                         "moving_to = NULL, phase = NULL, copied = 0, changed_at = now()",
                         (slug, server))

    def forget(self, slug: str) -> None:
        """Removes the tenant's row (its data is gone)."""
        self._table()
        with self.database.connection() as conn:
            conn.execute("DELETE FROM office.placements WHERE slug = %s", (slug,))

    def servers(self) -> dict[str, str]:
        """Every placed tenant's server, by slug."""
        self._table()
        with self.database.connection() as conn:
            rows = conn.execute("SELECT slug, server FROM office.placements").fetchall()
        return {row["slug"]: row["server"] for row in rows}

    def tenants_per_server(self) -> dict[str, int]:
        """How many tenants each server holds (servers holding none: absent)."""
        self._table()
        with self.database.connection() as conn:
            rows = conn.execute("SELECT server, count(*) AS n FROM office.placements "
                                "GROUP BY server").fetchall()
        return {row["server"]: int(row["n"]) for row in rows}

    def moving(self, slug: str, to: str, phase: str, copied: int) -> None:
        """Records how far the tenant's move to `to` got."""
        current = self.get(slug)
        with self.database.connection() as conn:
            conn.execute("INSERT INTO office.placements (slug, server, moving_to, phase, copied) "
                         "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (slug) DO UPDATE SET "
                         "moving_to = EXCLUDED.moving_to, phase = EXCLUDED.phase, "
                         "copied = EXCLUDED.copied, changed_at = now()",
                         (slug, current.server, to, phase, copied))

    def switch(self, slug: str, to: str) -> None:
        """The tenant lives on `to` from now on; the old copy is still to be removed."""
        with self.database.connection() as conn:
            conn.execute("UPDATE office.placements SET server = %s, phase = 'switched', "
                         "changed_at = now() WHERE slug = %s", (to, slug))

    def settle(self, slug: str) -> None:
        """The move is over (the old copy removed)."""
        with self.database.connection() as conn:
            conn.execute("UPDATE office.placements SET moving_to = NULL, phase = NULL, copied = 0, "
                         "changed_at = now() WHERE slug = %s", (slug,))
