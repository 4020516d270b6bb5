"""The local catalog read model: each tenant's records and items, searchable, from its own
Record and Item events. Every query names the tenant: no row of another tenant is reachable.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor, sql
from psycopg.types.json import Jsonb

from domain.catalog.description import display_title, fold, isbn_forms, normalize_isbn
from projections.framework import EventRecord, Projection
from projections.postgres import SCHEMA

_ISBN_QUERY = re.compile(r"^[0-9Xx][0-9Xx -]{8,16}$")
_RECORD_COLUMNS = ("id", "title", "sort_key", "authors", "isbns", "year", "languages",
                   "subjects", "description", "original_format", "original", "search",
                   "catalogued_at", "revised_at")


def plain(value: Any) -> Any:
    """An event field without the event store's type wrapper ({"_type_", "_data_"})."""
    if isinstance(value, dict) and "_type_" in value and "_data_" in value:
        return value["_data_"]
    return value


@dataclass(frozen=True)
class Page:
    """One page of a search: rows and whether more follow."""

    rows: list[dict[str, Any]]
    has_next: bool


def record_row(record_id: str, *, description: dict[str, Any], original_format: str | None,
               original: str | None, catalogued_at: Any, revised_at: Any) -> dict[str, Any]:
    """A record's row in the read model (the search text folded, both ISBN forms kept)."""
    title = display_title(description)
    authors = [a["name"] for a in description.get("authors") or []]
    isbns = sorted({form for isbn in description.get("isbns") or []
                    for form in isbn_forms(isbn)})
    searchable = [title, description.get("publisher") or "",
                  description.get("responsibility") or "", *isbns, *authors]
    for key in ("alt_titles", "alt_authors", "subjects", "series"):
        searchable += description.get(key) or []
    return {
        "id": record_id, "title": title, "sort_key": fold(title), "authors": authors,
        "isbns": isbns, "year": description.get("year"),
        "languages": description.get("languages") or [],
        "subjects": description.get("subjects") or [], "description": description,
        "original_format": original_format, "original": original,
        "search": fold(" \x1f ".join(s for s in searchable if s)),
        "catalogued_at": catalogued_at, "revised_at": revised_at,
    }


def encode_cursor(sort_key: str, record_id: str) -> str:
    """An opaque cursor: where a page ended."""
    return base64.urlsafe_b64encode(json.dumps([sort_key, record_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position a cursor names; ValueError when it is not one of ours."""
    try:
        sort_key, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise ValueError(f"after: {cursor!r} is not a cursor this API gave out") from None
    return str(sort_key), str(record_id)


class LocalCatalog(Projection):
    """Each tenant's own catalog: records (searchable) and items (by barcode and EPC)."""

    name = "local_catalog"
    aggregates = frozenset({"Record", "Item"})
    tables = ("records", "items")

    def _t(self, base: str) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table(base))

    def create_tables(self, cur: Cursor[Any]) -> None:
        records, items = self._t("records"), self._t("items")
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "title text NOT NULL, sort_key text NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, year text, languages text[] NOT NULL, "
            "subjects text[] NOT NULL, description jsonb NOT NULL, original_format text, "
            "original text, search text NOT NULL, catalogued_at timestamptz NOT NULL, "
            "revised_at timestamptz NOT NULL, PRIMARY KEY (tenant, id))").format(records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, sort_key, id)").format(
            sql.Identifier(self.table("records") + "_sort"), records))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (isbns)").format(
            sql.Identifier(self.table("records") + "_isbns"), records))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "barcode text NOT NULL, epc text, record_id uuid NOT NULL, call_number text, "
            "call_number_scheme text, branch text NOT NULL, collection text, shelf text, "
            "material_type text NOT NULL, status text NOT NULL, "
            "changed_at timestamptz NOT NULL, PRIMARY KEY (tenant, id))").format(items))
        for column in ("barcode", "epc", "record_id"):
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, {})").format(
                sql.Identifier(f"{self.table('items')}_{column}"), items,
                sql.Identifier(column)))

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        self.apply_batch(cur, [record])

    def apply_batch(self, cur: Cursor[Any], records: list[EventRecord]) -> None:
        """Records folded in memory, then one upsert each; items inserted, then changed."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        new_items: list[tuple[Any, ...]] = []
        item_changes: list[tuple[str, tuple[Any, ...]]] = []
        for event in records:
            data = event.data()
            key = (event.tenant, event.originator_id)
            if event.aggregate == "Record":
                self._fold_record(cur, rows, key, event.event, data)
            elif event.event == "Added":
                new_items.append((event.tenant, event.originator_id, data["barcode"],
                                  data["epc"], plain(data["record_id"]), data["call_number"],
                                  data["call_number_scheme"], data["branch"],
                                  data["collection"], data["shelf"], data["material_type"],
                                  "available", plain(data["added_at"])))
            elif event.event == "Moved":
                item_changes.append(("moved", (data["branch"], data["collection"],
                                               data["shelf"], plain(data["moved_at"]), *key)))
            elif event.event == "Withdrawn":
                item_changes.append(("status", ("withdrawn", plain(data["withdrawn_at"]),
                                                *key)))
        self._write(cur, rows, new_items, item_changes)

    def _fold_record(self, cur: Cursor[Any], rows: dict[tuple[str, str], dict[str, Any]],
                     key: tuple[str, str], event: str, data: dict[str, Any]) -> None:
        if event == "Catalogued":
            rows[key] = {"description": data["description"],
                         "original_format": data["original_format"],
                         "original": data["original"],
                         "catalogued_at": plain(data["catalogued_at"]),
                         "revised_at": plain(data["catalogued_at"])}
            return
        if event != "Revised":
            return
        current = rows.get(key) or self._stored(cur, key)
        if current is None:
            return  # cannot happen: a record is catalogued before it is revised
        current["description"] = {**current["description"], **data["changes"]}
        if data.get("original") is not None:
            current["original_format"] = data["original_format"]
            current["original"] = data["original"]
        current["revised_at"] = plain(data["revised_at"])
        rows[key] = current

    def _stored(self, cur: Cursor[Any], key: tuple[str, str]) -> dict[str, Any] | None:
        row = cur.execute(sql.SQL(
            "SELECT description, original_format, original, catalogued_at, revised_at "
            "FROM {} WHERE tenant = %s AND id = %s").format(self._t("records")), key).fetchone()
        if row is None:
            return None
        return dict(zip(("description", "original_format", "original", "catalogued_at",
                         "revised_at"), row, strict=True))

    def _write(self, cur: Cursor[Any], rows: dict[tuple[str, str], dict[str, Any]],
               new_items: list[tuple[Any, ...]],
               item_changes: list[tuple[str, tuple[Any, ...]]]) -> None:
        if rows:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in _RECORD_COLUMNS)
            updates = sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                for c in _RECORD_COLUMNS[1:])
            cur.executemany(sql.SQL(
                "INSERT INTO {} (tenant, {}) VALUES (%s, {}) "
                "ON CONFLICT (tenant, id) DO UPDATE SET {}").format(
                    self._t("records"), columns,
                    sql.SQL(", ").join(sql.Placeholder() * len(_RECORD_COLUMNS)), updates),
                [(tenant, *_params(record_row(record_id, **values)))
                 for (tenant, record_id), values in rows.items()])
        if new_items:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (tenant, id, barcode, epc, record_id, call_number, "
                "call_number_scheme, branch, collection, shelf, material_type, status, "
                "changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (tenant, id) DO NOTHING").format(self._t("items")), new_items)
        for kind, params in item_changes:
            statement = (
                "UPDATE {} SET branch = %s, collection = %s, shelf = %s, changed_at = %s "
                "WHERE tenant = %s AND id = %s" if kind == "moved" else
                "UPDATE {} SET status = %s, changed_at = %s WHERE tenant = %s AND id = %s")
            cur.execute(sql.SQL(statement).format(self._t("items")), params)

    # The view: what the API asks of the read model.

    def record(self, cur: Cursor[Any], tenant: str, record_id: str) -> dict[str, Any] | None:
        """One record of the tenant, or None."""
        row = cur.execute(sql.SQL(
            "SELECT id, title, authors, isbns, year, languages, subjects, description, "
            "original_format, original, catalogued_at, revised_at, sort_key "
            "FROM {} WHERE tenant = %s AND id = %s").format(self._t("records")),
            (tenant, record_id)).fetchone()
        return _record_dict(row) if row else None

    def search(self, cur: Cursor[Any], tenant: str, query: str | None, first: int,
               after: str | None) -> Page:
        """The tenant's records matching every word of the query (title, author, subject,
        series, publisher; an ISBN-10 or -13 finds its records), in title order."""
        conditions = [sql.SQL("tenant = %s")]
        params: list[Any] = [tenant]
        isbn = _isbn_query(query)
        if isbn is not None:
            conditions.append(sql.SQL("isbns && %s"))
            params.append(isbn_forms(isbn))
        else:
            for word in fold(query or "").split():
                conditions.append(sql.SQL("search LIKE %s"))
                params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%")
                              .replace("_", "\\_") + "%")
        if after is not None:
            sort_key, record_id = decode_cursor(after)
            conditions.append(sql.SQL("(sort_key, id) > (%s, %s::uuid)"))
            params += [sort_key, record_id]
        rows = cur.execute(sql.SQL(
            "SELECT id, title, authors, isbns, year, languages, subjects, description, "
            "original_format, original, catalogued_at, revised_at, sort_key FROM {} WHERE {} "
            "ORDER BY sort_key, id LIMIT %s").format(
                self._t("records"), sql.SQL(" AND ").join(conditions)),
            [*params, first + 1]).fetchall()
        return Page([_record_dict(r) for r in rows[:first]], len(rows) > first)

    def item(self, cur: Cursor[Any], tenant: str, *, barcode: str | None = None,
             epc: str | None = None) -> dict[str, Any] | None:
        """One item of the tenant by barcode or EPC, or None."""
        column, value = ("barcode", barcode) if barcode is not None else ("epc", epc)
        row = cur.execute(sql.SQL(
            "SELECT id, barcode, epc, record_id, call_number, call_number_scheme, branch, "
            "collection, shelf, material_type, status, changed_at FROM {} "
            "WHERE tenant = %s AND {} = %s").format(self._t("items"), sql.Identifier(column)),
            (tenant, value)).fetchone()
        return _item_dict(row) if row else None

    def items_of(self, cur: Cursor[Any], tenant: str, record_id: str) -> list[dict[str, Any]]:
        """A record's items, by barcode."""
        rows = cur.execute(sql.SQL(
            "SELECT id, barcode, epc, record_id, call_number, call_number_scheme, branch, "
            "collection, shelf, material_type, status, changed_at FROM {} "
            "WHERE tenant = %s AND record_id = %s ORDER BY barcode").format(self._t("items")),
            (tenant, record_id)).fetchall()
        return [_item_dict(r) for r in rows]

    def count(self, cur: Cursor[Any], tenant: str) -> int:
        """How many records the tenant has."""
        row = cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s").format(
            self._t("records")), (tenant,)).fetchone()
        return int(row[0]) if row else 0


def _params(row: dict[str, Any]) -> list[Any]:
    return [Jsonb(row[c]) if c == "description" else row[c] for c in _RECORD_COLUMNS]


def _isbn_query(query: str | None) -> str | None:
    if query is None or not _ISBN_QUERY.match(query.strip()):
        return None
    return normalize_isbn(query.strip())


def _record_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "title", "authors", "isbns", "year", "languages", "subjects", "description",
            "original_format", "original", "catalogued_at", "revised_at", "sort_key")
    return dict(zip(keys, row, strict=True))


def _item_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "barcode", "epc", "record_id", "call_number", "call_number_scheme", "branch",
            "collection", "shelf", "material_type", "status", "changed_at")
    return dict(zip(keys, row, strict=True))

