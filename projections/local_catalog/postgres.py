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

from domain.shared.description import display_title, fold, isbn_forms, normalize_isbn
from projections.framework import EventRecord, Projection, plain
from projections.postgres import SCHEMA
from projections.search_text import index_text, query_terms

_ISBN_QUERY = re.compile(r"^[0-9Xx][0-9Xx -]{8,16}$")
_RECORD_COLUMNS = ("id", "title", "sort_key", "authors", "isbns", "year", "languages",
                   "subjects", "description", "original_format", "search",
                   "catalogued_at", "revised_at", "own_description", "shared_record_id",
                   "shows_shared_id")
_SHARED_COLUMNS = ("id", "contributor", "title", "sort_key", "authors", "isbns", "year",
                   "languages", "subjects", "description", "original_format", "search",
                   "contributed_at", "edited_at", "merged_into")
_JSON_COLUMNS = frozenset({"description", "own_description"})


Shown = tuple[str, dict[str, Any], str | None]  # id, description, original format


@dataclass(frozen=True)
class Page:
    """One page of a search: rows and whether more follow."""

    rows: list[dict[str, Any]]
    has_next: bool


def record_row(record_id: str, *, description: dict[str, Any], original_format: str | None,
               catalogued_at: Any, revised_at: Any) -> dict[str, Any]:
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
        "original_format": original_format,
        "search": index_text(searchable),
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
    aggregates = frozenset({"Record", "Item", "SharedRecord"})
    tables = ("records", "items", "shared")

    def _t(self, base: str) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table(base))

    def create_tables(self, cur: Cursor[Any]) -> None:
        records, items = self._t("records"), self._t("items")
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant text NOT NULL, id uuid NOT NULL, "
            "title text NOT NULL, sort_key text NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, year text, languages text[] NOT NULL, "
            "subjects text[] NOT NULL, description jsonb NOT NULL, original_format text, "
            "search text NOT NULL, catalogued_at timestamptz NOT NULL, "
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
        for column, kind in (("own_description", "jsonb"), ("shared_record_id", "uuid"),
                             ("shows_shared_id", "uuid")):  # added with shared metadata
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                records, sql.Identifier(column), sql.SQL(kind)))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (shared_record_id)").format(
            sql.Identifier(self.table("records") + "_shared"), records))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, contributor text NOT NULL, "
            "title text NOT NULL, sort_key text NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, year text, languages text[] NOT NULL, "
            "subjects text[] NOT NULL, description jsonb NOT NULL, original_format text, "
            "search text NOT NULL, contributed_at timestamptz NOT NULL, "
            "edited_at timestamptz NOT NULL, merged_into uuid)").format(self._t("shared")))

    def handles(self, record: EventRecord) -> bool:
        if record.aggregate == "SharedRecord":
            return record.tenant == "office"  # shared records live in the office's log
        return super().handles(record)

    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        self.apply_batch(cur, [record])

    def apply_batch(self, cur: Cursor[Any], records: list[EventRecord]) -> None:
        """Records folded in memory, then one upsert each; items inserted, then changed;
        shared records applied as they come, then every record that shows them redrawn."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        new_items: list[tuple[Any, ...]] = []
        item_changes: list[tuple[str, tuple[Any, ...]]] = []
        touched_shared: set[str] = set()
        for event in records:
            data = event.data()
            key = (event.tenant, event.originator_id)
            if event.aggregate == "Record":
                self._fold_record(cur, rows, key, event.event, data)
            elif event.aggregate == "SharedRecord":
                self._apply_shared(cur, event.originator_id, event.event, data)
                touched_shared.add(event.originator_id)
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
            elif event.event == "EpcAssigned":
                item_changes.append(("epc", (data["epc"], plain(data["assigned_at"]), *key)))
        self._write(cur, rows, new_items, item_changes)
        if touched_shared:
            self._write(cur, self._showing(cur, touched_shared), [], [])

    def _fold_record(self, cur: Cursor[Any], rows: dict[tuple[str, str], dict[str, Any]],
                     key: tuple[str, str], event: str, data: dict[str, Any]) -> None:
        if event == "Catalogued":
            rows[key] = {"description": data["description"],
                         "original_format": data["original_format"],
                         "catalogued_at": plain(data["catalogued_at"]),
                         "revised_at": plain(data["catalogued_at"]),
                         "shared_record_id": None}
            return
        current = rows.get(key) or self._stored(cur, key)
        if current is None:
            return  # cannot happen: a record is catalogued before anything else
        if event == "Revised":
            current["description"] = {**current["description"], **data["changes"]}
            if data.get("original") is not None:
                current["original_format"] = data["original_format"]
            current["revised_at"] = plain(data["revised_at"])
        elif event == "LinkedToShared":
            current["shared_record_id"] = plain(data["shared_record_id"])
            current["revised_at"] = plain(data["linked_at"])
        elif event == "UnlinkedFromShared":
            current["description"] = data["description"]
            current["shared_record_id"] = None
            current["revised_at"] = plain(data["unlinked_at"])
        rows[key] = current

    def _stored(self, cur: Cursor[Any], key: tuple[str, str]) -> dict[str, Any] | None:
        row = cur.execute(sql.SQL(
            "SELECT COALESCE(own_description, description), original_format, catalogued_at, "
            "revised_at, "
            "shared_record_id::text FROM {} WHERE tenant = %s AND id = %s").format(
                self._t("records")), key).fetchone()
        if row is None:
            return None
        return dict(zip(("description", "original_format", "catalogued_at",
                         "revised_at", "shared_record_id"), row, strict=True))

    def _apply_shared(self, cur: Cursor[Any], shared_id: str, event: str,
                      data: dict[str, Any]) -> None:
        table = self._t("shared")
        if event == "Contributed":
            row = record_row(shared_id, description=data["description"],
                             original_format=data["original_format"],
                             catalogued_at=plain(data["contributed_at"]),
                             revised_at=plain(data["contributed_at"]))
            values = {**row, "contributor": data["contributor"],
                      "contributed_at": row["catalogued_at"], "edited_at": row["revised_at"],
                      "merged_into": None}
            cur.execute(sql.SQL(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING").format(
                    table, sql.SQL(", ").join(map(sql.Identifier, _SHARED_COLUMNS)),
                    sql.SQL(", ").join(sql.Placeholder() * len(_SHARED_COLUMNS))),
                [_json_or_none(values[c]) if c in _JSON_COLUMNS else values[c]
                 for c in _SHARED_COLUMNS])
        elif event == "Edited":
            found = cur.execute(sql.SQL("SELECT description, original_format, contributed_at "
                                        "FROM {} WHERE id = %s").format(table),
                                (shared_id,)).fetchone()
            if found is None:
                return
            description = {**found[0], **data["changes"]}
            row = record_row(shared_id, description=description, original_format=found[1],
                             catalogued_at=found[2],
                             revised_at=plain(data["edited_at"]))
            cur.execute(sql.SQL(
                "UPDATE {} SET title = %s, sort_key = %s, authors = %s, isbns = %s, year = %s, "
                "languages = %s, subjects = %s, description = %s, search = %s, edited_at = %s "
                "WHERE id = %s").format(table),
                (row["title"], row["sort_key"], row["authors"], row["isbns"], row["year"],
                 row["languages"], row["subjects"], Jsonb(description), row["search"],
                 row["revised_at"], shared_id))
        elif event == "MergedInto":
            cur.execute(sql.SQL("UPDATE {} SET merged_into = %s, edited_at = %s "
                                "WHERE id = %s").format(table),
                        (plain(data["survivor_id"]), plain(data["merged_at"]), shared_id))

    def _resolve(self, cur: Cursor[Any], shared_id: str | None,
                 cache: dict[str, Shown | None]
                 ) -> Shown | None:
        """The shared record a link shows (through merges) and its metadata; None while the
        office's events have not come yet (each log is in order, not one against another)."""
        if shared_id is None:
            return None
        if shared_id not in cache:
            current, found = shared_id, None
            for _ in range(100):
                row = cur.execute(sql.SQL(
                    "SELECT merged_into::text, description, original_format "
                    "FROM {} WHERE id = %s").format(self._t("shared")), (current,)).fetchone()
                if row is None:
                    break
                if row[0] is None:
                    found = (current, row[1], row[2])
                    break
                current = row[0]
            cache[shared_id] = found
        return cache[shared_id]

    def _showing(self, cur: Cursor[Any], shared_ids: set[str]) -> dict[tuple[str, str],
                                                                         dict[str, Any]]:
        """Every record linked to these shared records or to ones merged into them."""
        ids = set(shared_ids)
        while True:
            merged = {str(r[0]) for r in cur.execute(sql.SQL(
                "SELECT id FROM {} WHERE merged_into = ANY(%s::uuid[])").format(
                    self._t("shared")), (list(ids),)).fetchall()}
            if merged <= ids:
                break
            ids |= merged
        rows = cur.execute(sql.SQL(
            "SELECT tenant, id::text, COALESCE(own_description, description), original_format, "
            "catalogued_at, revised_at, shared_record_id::text FROM {} "
            "WHERE shared_record_id = ANY(%s::uuid[])").format(self._t("records")),
            (list(ids),)).fetchall()
        keys = ("description", "original_format", "catalogued_at", "revised_at",
                "shared_record_id")
        return {(r[0], r[1]): dict(zip(keys, r[2:], strict=True)) for r in rows}

    def _write(self, cur: Cursor[Any], rows: dict[tuple[str, str], dict[str, Any]],
               new_items: list[tuple[Any, ...]],
               item_changes: list[tuple[str, tuple[Any, ...]]]) -> None:
        cache: dict[str, Shown | None] = {}
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
                [(tenant, *self._params(cur, record_id, values, cache))
                 for (tenant, record_id), values in rows.items()])
        if new_items:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (tenant, id, barcode, epc, record_id, call_number, "
                "call_number_scheme, branch, collection, shelf, material_type, status, "
                "changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (tenant, id) DO NOTHING").format(self._t("items")), new_items)
        for kind, params in item_changes:
            statement = {
                "moved": "UPDATE {} SET branch = %s, collection = %s, shelf = %s, "
                         "changed_at = %s WHERE tenant = %s AND id = %s",
                "status": "UPDATE {} SET status = %s, changed_at = %s WHERE tenant = %s "
                          "AND id = %s",
                "epc": "UPDATE {} SET epc = %s, changed_at = %s WHERE tenant = %s AND id = %s",
            }[kind]
            cur.execute(sql.SQL(statement).format(self._t("items")), params)

    def _params(self, cur: Cursor[Any], record_id: str, values: dict[str, Any],
                cache: dict[str, Shown | None]) -> list[Any]:
        """A record's columns: it shows its shared record's metadata when it has one."""
        shown = self._resolve(cur, values.get("shared_record_id"), cache)
        if shown is not None:
            _, description, original_format = shown
        else:
            description, original_format = values["description"], values["original_format"]
        row = record_row(record_id, description=description, original_format=original_format,
                         catalogued_at=values["catalogued_at"],
                         revised_at=values["revised_at"])
        # A record's own metadata is kept apart only while it shows a shared record's.
        row["own_description"] = values["description"] if shown is not None else None
        row["shared_record_id"] = values.get("shared_record_id")
        row["shows_shared_id"] = shown[0] if shown else values.get("shared_record_id")
        return [_json_or_none(row[c]) if c in _JSON_COLUMNS else row[c] for c in _RECORD_COLUMNS]

    # The view: what the API asks of the read model.

    def record(self, cur: Cursor[Any], tenant: str, record_id: str) -> dict[str, Any] | None:
        """One record of the tenant, or None."""
        row = cur.execute(sql.SQL("SELECT {} FROM {} WHERE tenant = %s AND id = %s").format(
            _RECORD_SELECT, self._t("records")), (tenant, record_id)).fetchone()
        return _record_dict(row) if row else None

    def search(self, cur: Cursor[Any], tenant: str, query: str | None, first: int,
               after: str | None) -> Page:
        """The tenant's records matching every word of the query (title, author, subject,
        series, publisher; an ISBN-10 or -13 finds its records), in title order."""
        rows = _search(cur, self._t("records"), _RECORD_SELECT,
                       conditions=[sql.SQL("tenant = %s")], params=[tenant], query=query,
                       first=first, after=after)
        return Page([_record_dict(r) for r in rows[:first]], len(rows) > first)

    def shared_record(self, cur: Cursor[Any], shared_id: str) -> dict[str, Any] | None:
        """One shared record of the consortium (merged ones too), or None."""
        row = cur.execute(sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            _SHARED_SELECT, self._t("shared")), (shared_id,)).fetchone()
        return _shared_dict(row) if row else None

    def search_shared(self, cur: Cursor[Any], query: str | None, first: int,
                      after: str | None) -> Page:
        """The consortium's shared records (not merged away), searched like records."""
        rows = _search(cur, self._t("shared"), _SHARED_SELECT,
                       conditions=[sql.SQL("merged_into IS NULL")], params=[], query=query,
                       first=first, after=after)
        return Page([_shared_dict(r) for r in rows[:first]], len(rows) > first)

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

    def items_where(self, cur: Cursor[Any], tenant: str, *, epcs: list[str] | None = None,
                    shelf: str | None = None) -> list[dict[str, Any]]:
        """The tenant's items carrying these EPCs, or placed on this shelf."""
        column, value = ("epc = ANY(%s)", epcs) if epcs is not None else ("shelf = %s", shelf)
        rows = cur.execute(sql.SQL(
            "SELECT id, barcode, epc, record_id, call_number, call_number_scheme, branch, "
            "collection, shelf, material_type, status, changed_at FROM {} "
            "WHERE tenant = %s AND {}").format(self._t("items"), sql.SQL(column)),
            (tenant, value)).fetchall()
        return [_item_dict(r) for r in rows]

    def count(self, cur: Cursor[Any], tenant: str) -> int:
        """How many records the tenant has."""
        row = cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s").format(
            self._t("records")), (tenant,)).fetchone()
        return int(row[0]) if row else 0


_RECORD_SELECT = sql.SQL(
    "id, title, authors, isbns, year, languages, subjects, description, original_format, "
    "catalogued_at, revised_at, sort_key, shows_shared_id")
_SHARED_SELECT = sql.SQL(
    "id, title, authors, isbns, year, languages, subjects, description, original_format, "
    "contributed_at, edited_at, sort_key, contributor, merged_into")


def _search(cur: Cursor[Any], table: sql.Identifier, columns: sql.SQL, *,
            conditions: list[sql.Composable], params: list[Any], query: str | None,
            first: int, after: str | None) -> list[tuple[Any, ...]]:
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
        sort_key, row_id = decode_cursor(after)
        conditions.append(sql.SQL("(sort_key, id) > (%s, %s::uuid)"))
        params += [sort_key, row_id]
    return list(cur.execute(sql.SQL(
        "SELECT {} FROM {} WHERE {} ORDER BY sort_key, id LIMIT %s").format(
            columns, table, sql.SQL(" AND ").join(conditions)), [*params, first + 1]).fetchall())


def _json_or_none(value: Any) -> Jsonb | None:
    """A JSON column's value; None stays SQL NULL (not JSON null, which COALESCE keeps)."""
    return None if value is None else Jsonb(value)


def _shared_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "title", "authors", "isbns", "year", "languages", "subjects", "description",
            "original_format", "catalogued_at", "revised_at", "sort_key",
            "contributor", "merged_into")
    return dict(zip(keys, row, strict=True))


def _isbn_query(query: str | None) -> str | None:
    if query is None or not _ISBN_QUERY.match(query.strip()):
        return None
    return normalize_isbn(query.strip())


def _record_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "title", "authors", "isbns", "year", "languages", "subjects", "description",
            "original_format", "catalogued_at", "revised_at", "sort_key",
            "shared_record_id")
    return dict(zip(keys, row, strict=True))


def _item_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "barcode", "epc", "record_id", "call_number", "call_number_scheme", "branch",
            "collection", "shelf", "material_type", "status", "changed_at")
    return dict(zip(keys, row, strict=True))

