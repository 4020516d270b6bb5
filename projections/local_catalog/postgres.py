"""The local catalog read model's tables and SQL. Every query of a tenant's rows names the
tenant: no row of another tenant is reachable."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql
from psycopg.types.json import Jsonb

from domain.shared.description import isbn_forms, normalize_isbn
from projections.framework import table_name
from projections.postgres import SCHEMA
from projections.search_text import query_terms

NAME = "local_catalog"
TABLES = ("records", "items", "shared")
RECORD_COLUMNS = ("id", "title", "sort_key", "authors", "isbns", "year", "languages",
                  "subjects", "description", "original_format", "search",
                  "catalogued_at", "revised_at", "own_description", "shared_record_id",
                  "shows_shared_id", "version")
SHARED_COLUMNS = ("id", "contributor", "title", "sort_key", "authors", "isbns", "year",
                  "languages", "subjects", "description", "original_format", "search",
                  "contributed_at", "edited_at", "merged_into", "version")
ITEM_COLUMNS = ("id", "barcode", "epc", "record_id", "call_number", "call_number_scheme",
                "branch", "collection", "shelf", "material_type", "status", "changed_at")
# What a record's query gives, in this order (a record shows its shared record's id).
RECORD_SELECT = ("id", "title", "authors", "isbns", "year", "languages", "subjects",
                 "description", "original_format", "catalogued_at", "revised_at", "sort_key",
                 "shows_shared_id")
SHARED_SELECT = ("id", "title", "authors", "isbns", "year", "languages", "subjects",
                 "description", "original_format", "contributed_at", "edited_at", "sort_key",
                 "contributor", "merged_into")
_JSON_COLUMNS = frozenset({"description", "own_description"})
_ISBN_QUERY = re.compile(r"^[0-9Xx][0-9Xx -]{8,16}$")

Shown = tuple[str, dict[str, Any], str | None]  # a shared record's id, description, format


def _columns(names: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in names)


def _json_or_none(value: Any) -> Jsonb | None:
    """A JSON column's value; None stays SQL NULL (not JSON null, which COALESCE keeps)."""
    return None if value is None else Jsonb(value)


class LocalCatalogTables:
    """The records, items and shared records tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.records = sql.Identifier(SCHEMA, self.names["records"])
        self.items = sql.Identifier(SCHEMA, self.names["items"])
        self.shared = sql.Identifier(SCHEMA, self.names["shared"])

    def create(self, cur: Cursor[Any]) -> None:
        """Creates the tables and their indexes if they do not exist."""
        records, items = self.records, self.items
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "title text NOT NULL, sort_key text NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, year text, languages text[] NOT NULL, "
            "subjects text[] NOT NULL, description jsonb NOT NULL, original_format text, "
            "search text NOT NULL, catalogued_at timestamptz NOT NULL, "
            "revised_at timestamptz NOT NULL, PRIMARY KEY (tenant, id))").format(records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, sort_key, id)").format(
            sql.Identifier(self.names["records"] + "_sort"), records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (isbns)").format(
            sql.Identifier(self.names["records"] + "_isbns"), records))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "barcode text NOT NULL, epc text, record_id uuid NOT NULL, call_number text, "
            "call_number_scheme text, branch text NOT NULL, collection text, shelf text, "
            "material_type text NOT NULL, status text NOT NULL, "
            "changed_at timestamptz NOT NULL, PRIMARY KEY (tenant, id))").format(items))
        for column in ("barcode", "epc", "record_id"):
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, {})").format(
                sql.Identifier(f"{self.names['items']}_{column}"), items,
                sql.Identifier(column)))
        for column, kind in (("own_description", "jsonb"), ("shared_record_id", "uuid"),
                             ("shows_shared_id", "uuid"),  # added with shared metadata
                             ("version", "bigint")):  # added with typed projections
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                records, sql.Identifier(column), sql.SQL(kind)))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (shared_record_id)").format(
            sql.Identifier(self.names["records"] + "_shared"), records))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, contributor text NOT NULL, "
            "title text NOT NULL, sort_key text NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, year text, languages text[] NOT NULL, "
            "subjects text[] NOT NULL, description jsonb NOT NULL, original_format text, "
            "search text NOT NULL, contributed_at timestamptz NOT NULL, "
            "edited_at timestamptz NOT NULL, merged_into uuid)").format(self.shared))
        cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS version bigint").format(
            self.shared))  # added with typed projections

    # Records (the projection's writes).

    def stored_records(self, cur: Cursor[Any],
                       keys: list[tuple[str, UUID]]) -> dict[tuple[str, UUID], dict[str, Any]]:
        """The records' own state as last written (their own metadata even while they show
        a shared record's), in one query."""
        rows = cur.execute(sql.SQL(
            "SELECT r.tenant, r.id, COALESCE(r.own_description, r.description), "
            "r.original_format, r.catalogued_at, r.revised_at, r.shared_record_id, r.version "
            "FROM {} r JOIN unnest(%s::text[], %s::uuid[]) AS k(tenant, id) "
            "ON r.tenant = k.tenant AND r.id = k.id").format(self.records),
            ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
        names = ("description", "original_format", "catalogued_at", "revised_at",
                 "shared_record_id", "version")
        return {(str(r[0]), r[1]): dict(zip(names, r[2:], strict=True)) for r in rows}

    def upsert_records(self, cur: Cursor[Any], rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Writes records' rows ((tenant, row of RECORD_COLUMNS)), new or changed."""
        if not rows:
            return
        updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                     for c in RECORD_COLUMNS[1:])
        cur.executemany(sql.SQL(
            "INSERT INTO {} (tenant, {}) VALUES (%s, {}) "
            "ON CONFLICT (tenant, id) DO UPDATE SET {}").format(
                self.records, _columns(RECORD_COLUMNS),
                sql.SQL(", ").join(sql.Placeholder() * len(RECORD_COLUMNS)), updates),
            [(tenant, *[_json_or_none(row[c]) if c in _JSON_COLUMNS else row[c]
                        for c in RECORD_COLUMNS]) for tenant, row in rows])

    def showing(self, cur: Cursor[Any],
                shared_ids: set[str]) -> dict[tuple[str, UUID], dict[str, Any]]:
        """The own state of every record linked to these shared records or to ones merged
        into them."""
        ids = set(shared_ids)
        while True:
            merged = {str(r[0]) for r in cur.execute(sql.SQL(
                "SELECT id FROM {} WHERE merged_into = ANY(%s::uuid[])").format(self.shared),
                (list(ids),)).fetchall()}
            if merged <= ids:
                break
            ids |= merged
        rows = cur.execute(sql.SQL("SELECT tenant, id FROM {} "
                                   "WHERE shared_record_id = ANY(%s::uuid[])").format(
                                       self.records), (list(ids),)).fetchall()
        return self.stored_records(cur, [(str(r[0]), r[1]) for r in rows])

    # Items (the projection's writes).

    def add_items(self, cur: Cursor[Any], rows: list[tuple[Any, ...]]) -> None:
        """New items: (tenant, *ITEM_COLUMNS)."""
        if rows:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (tenant, {}) VALUES (%s, {}) "
                "ON CONFLICT (tenant, id) DO NOTHING").format(
                    self.items, _columns(ITEM_COLUMNS),
                    sql.SQL(", ").join(sql.Placeholder() * len(ITEM_COLUMNS))), rows)

    def change_item(self, cur: Cursor[Any], tenant: str, item_id: UUID,
                    changes: dict[str, Any]) -> None:
        """Sets some of an item's columns."""
        cur.execute(sql.SQL("UPDATE {} SET {} WHERE tenant = %s AND id = %s").format(
            self.items, sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c))
                                           for c in changes)),
            [*changes.values(), tenant, item_id])

    # Shared records (the projection's writes).

    def stored_shared(self, cur: Cursor[Any],
                      shared_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        """Shared records' state as last written, in one query."""
        names = ("contributor", "description", "original_format", "contributed_at",
                 "edited_at", "merged_into", "version")
        rows = cur.execute(sql.SQL("SELECT id, {} FROM {} WHERE id = ANY(%s::uuid[])").format(
            _columns(names), self.shared), (shared_ids,)).fetchall()
        return {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}

    def upsert_shared(self, cur: Cursor[Any], rows: list[dict[str, Any]]) -> None:
        """Writes shared records' rows (of SHARED_COLUMNS), new or changed."""
        if not rows:
            return
        updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                     for c in SHARED_COLUMNS[1:])
        cur.executemany(sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}").format(
                self.shared, _columns(SHARED_COLUMNS),
                sql.SQL(", ").join(sql.Placeholder() * len(SHARED_COLUMNS)), updates),
            [[_json_or_none(row[c]) if c in _JSON_COLUMNS else row[c] for c in SHARED_COLUMNS]
             for row in rows])

    def resolve(self, cur: Cursor[Any], shared_id: str) -> Shown | None:
        """The shared record a link shows (through merges) and its metadata; None while the
        office's events have not come yet (each log is in order, not one against another)."""
        current = shared_id
        for _ in range(100):
            row = cur.execute(sql.SQL(
                "SELECT merged_into::text, description, original_format "
                "FROM {} WHERE id = %s").format(self.shared), (current,)).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return (current, row[1], row[2])
            current = row[0]
        return None

    # Reads (the view's).

    def record(self, cur: Cursor[Any], tenant: str, record_id: str) -> tuple[Any, ...] | None:
        """One record of the tenant (RECORD_SELECT), or None."""
        row = cur.execute(sql.SQL("SELECT {} FROM {} WHERE tenant = %s AND id = %s").format(
            _columns(RECORD_SELECT), self.records), (tenant, record_id)).fetchone()
        return tuple(row) if row else None

    def search_records(self, cur: Cursor[Any], tenant: str, query: str | None, first: int,
                       after: tuple[str, str] | None) -> list[tuple[Any, ...]]:
        """Up to first + 1 of the tenant's records matching the query, in title order."""
        return _search(cur, self.records, RECORD_SELECT, conditions=[sql.SQL("tenant = %s")],
                       params=[tenant], query=query, first=first, after=after)

    def shared_record(self, cur: Cursor[Any], shared_id: str) -> tuple[Any, ...] | None:
        """One shared record (SHARED_SELECT), or None."""
        row = cur.execute(sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            _columns(SHARED_SELECT), self.shared), (shared_id,)).fetchone()
        return tuple(row) if row else None

    def search_shared(self, cur: Cursor[Any], query: str | None, first: int,
                      after: tuple[str, str] | None) -> list[tuple[Any, ...]]:
        """Up to first + 1 shared records (not merged away) matching the query."""
        return _search(cur, self.shared, SHARED_SELECT,
                       conditions=[sql.SQL("merged_into IS NULL")], params=[], query=query,
                       first=first, after=after)

    def items_by(self, cur: Cursor[Any], tenant: str, column: str,
                 values: list[str]) -> list[tuple[Any, ...]]:
        """The tenant's items (ITEM_COLUMNS) whose column (barcode, epc, record_id, shelf)
        is one of the values, by barcode."""
        kind = "uuid" if column == "record_id" else "text"
        return cur.execute(sql.SQL(
            "SELECT {} FROM {} WHERE tenant = %s AND {} = ANY(%s::{}[]) ORDER BY barcode").format(
                _columns(ITEM_COLUMNS), self.items, sql.Identifier(column), sql.SQL(kind)),
            (tenant, values)).fetchall()

    def count(self, cur: Cursor[Any], tenant: str) -> int:
        """How many records the tenant has."""
        row = cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s").format(
            self.records), (tenant,)).fetchone()
        return int(row[0]) if row else 0


def _search(cur: Cursor[Any], table: sql.Identifier, columns: tuple[str, ...], *,
            conditions: list[sql.Composable], params: list[Any], query: str | None,
            first: int, after: tuple[str, str] | None) -> list[tuple[Any, ...]]:
    """Rows matching every word of the query (or the ISBN it is), a page in title order."""
    conditions, params = list(conditions), list(params)
    isbn = _isbn_query(query)
    if isbn is not None:
        conditions.append(sql.SQL("isbns && %s"))
        params.append(isbn_forms(isbn))
    else:
        for word in query_terms(query):
            conditions.append(sql.SQL("search LIKE %s"))
            params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%")
                          .replace("_", "\\_") + "%")
    if after is not None:
        conditions.append(sql.SQL("(sort_key, id) > (%s, %s::uuid)"))
        params += list(after)
    return [tuple(r) for r in cur.execute(sql.SQL(
        "SELECT {} FROM {} WHERE {} ORDER BY sort_key, id LIMIT %s").format(
            _columns(columns), table, sql.SQL(" AND ").join(conditions)),
        [*params, first + 1]).fetchall()]


def _isbn_query(query: str | None) -> str | None:
    if query is None or not _ISBN_QUERY.match(query.strip()):
        return None
    return normalize_isbn(query.strip())
