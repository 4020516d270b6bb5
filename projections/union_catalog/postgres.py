"""The union catalog read model's tables and SQL: member records with their match keys (a
GIN index finds candidates), and entries with their members, match reasons and search text
(a pg_trgm GIN index serves each query term: no sequential LIKE scan)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import Cursor, sql
from psycopg.types.json import Jsonb

from projections.framework import table_name
from projections.postgres import SCHEMA

NAME = "union_catalog"
TABLES = ("records", "entries")
ENTRY_COLUMNS = ("id", "members", "title", "authors", "isbns", "year", "format", "joins")


class UnionCatalogTables:
    """The records and entries tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.records = sql.Identifier(SCHEMA, self.names["records"])
        self.entries = sql.Identifier(SCHEMA, self.names["entries"])

    def _index(self, base: str, suffix: str) -> sql.Identifier:
        return sql.Identifier(self.names[base] + "_" + suffix)

    def create(self, cur: Cursor[Any]) -> None:
        """The tables and their indexes (pg_trgm for search, GIN on the match keys)."""
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, tenant text NOT NULL, "
            "record_id uuid NOT NULL, description jsonb NOT NULL, keys text[] NOT NULL, "
            "entry_id text)").format(self.records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (keys)").format(
            self._index("records", "keys"), self.records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, record_id)").format(
            self._index("records", "record"), self.records))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY, members text[] NOT NULL, "
            "title text NOT NULL, authors text[] NOT NULL, isbns text[] NOT NULL, year text, "
            "format text NOT NULL, joins jsonb NOT NULL, search text NOT NULL)").format(
                self.entries))
        cur.execute(sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING gin (search gin_trgm_ops)").format(
                self._index("entries", "search"), self.entries))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (isbns)").format(
            self._index("entries", "isbns"), self.entries))

    def description(self, cur: Cursor[Any], key: str) -> dict[str, Any] | None:
        """A member record's description as last written, or None."""
        row = cur.execute(sql.SQL("SELECT description FROM {} WHERE key = %s").format(
            self.records), [key]).fetchone()
        return dict(row[0]) if row else None

    def save_record(self, cur: Cursor[Any], key: str, *, tenant: str, record_id: Any,
                    description: dict[str, Any], keys: Iterable[str]) -> None:
        """A member record and the keys it is filed under."""
        cur.execute(sql.SQL(
            "INSERT INTO {} (key, tenant, record_id, description, keys) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
            "description = EXCLUDED.description, keys = EXCLUDED.keys").format(self.records),
            [key, tenant, record_id, Jsonb(description), sorted(keys)])

    def filed_under(self, cur: Cursor[Any], keys: Iterable[str]) -> list[tuple[str, dict[
            str, Any]]]:
        """The records filed under any of these keys: (key, description)."""
        return [(k, dict(d)) for k, d in cur.execute(sql.SQL(
            "SELECT key, description FROM {} WHERE keys && %s ORDER BY key").format(
                self.records), [sorted(keys)]).fetchall()]

    def entry_members(self, cur: Cursor[Any], key: str) -> list[str]:
        """The members of the entry a record is in now (none when it is in none)."""
        row = cur.execute(sql.SQL(
            "SELECT e.members FROM {} r JOIN {} e ON e.id = r.entry_id WHERE r.key = %s").format(
                self.records, self.entries), [key]).fetchone()
        return list(row[0]) if row else []

    def replace_entries(self, cur: Cursor[Any], members: Iterable[str],
                        entries: list[dict[str, Any]]) -> None:
        """The entries of these records, as computed now: their old entries go."""
        cur.execute(sql.SQL(
            "DELETE FROM {} WHERE id IN (SELECT entry_id FROM {} WHERE key = ANY(%s))").format(
                self.entries, self.records), [sorted(members)])
        for entry in entries:
            cur.execute(sql.SQL(
                "INSERT INTO {} (id, members, title, authors, isbns, year, format, joins, "
                "search) VALUES (%(id)s, %(members)s, %(title)s, %(authors)s, %(isbns)s, "
                "%(year)s, %(format)s, %(joins)s, %(search)s) ON CONFLICT (id) DO UPDATE SET "
                "members = EXCLUDED.members, title = EXCLUDED.title, "
                "authors = EXCLUDED.authors, isbns = EXCLUDED.isbns, year = EXCLUDED.year, "
                "format = EXCLUDED.format, joins = EXCLUDED.joins, "
                "search = EXCLUDED.search").format(self.entries),
                {**entry, "joins": Jsonb(entry["joins"])})
            cur.execute(sql.SQL("UPDATE {} SET entry_id = %s WHERE key = ANY(%s)").format(
                self.records), [entry["id"], list(entry["members"])])

    def search(self, cur: Cursor[Any], terms: list[str], isbns: list[str] | None,
               first: int) -> list[tuple[Any, ...]]:
        """Entries with every term in their search text (or one of these ISBNs)."""
        conditions: list[sql.Composable] = []
        params: list[Any] = []
        if isbns:
            conditions.append(sql.SQL("isbns && %s"))
            params.append(isbns)
        for term in terms:
            conditions.append(sql.SQL("search LIKE %s"))
            params.append("%" + term.replace("\\", "\\\\").replace("%", "\\%")
                          .replace("_", "\\_") + "%")
        where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
        return list(cur.execute(sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY title, id "
                                        "LIMIT %s").format(
            sql.SQL(", ").join(map(sql.Identifier, ENTRY_COLUMNS)), self.entries, where),
            [*params, first]).fetchall())

    def entry(self, cur: Cursor[Any], entry_id: str) -> tuple[Any, ...] | None:
        """One entry's row, or None."""
        row: tuple[Any, ...] | None = cur.execute(sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, ENTRY_COLUMNS)), self.entries),
            [entry_id]).fetchone()
        return row
