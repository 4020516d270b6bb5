"""What others may ask of the local catalog: each tenant's records and items, searchable,
and the consortium's shared records. Every query of a tenant's rows names the tenant."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar, cast
from uuid import UUID

from domain.shared.description import display_title, fold, isbn_forms
from projections.framework import View
from projections.local_catalog.postgres import (
    ITEM_COLUMNS,
    NAME,
    RECORD_SELECT,
    SHARED_SELECT,
    LocalCatalogTables,
)
from projections.search_text import index_text

R = TypeVar("R")


class _Described(TypedDict):
    """What a record and a shared record show alike."""

    id: UUID
    title: str
    authors: list[str]
    isbns: list[str]
    year: str | None
    languages: list[str]
    subjects: list[str]
    description: dict[str, Any]
    original_format: str | None
    catalogued_at: datetime
    revised_at: datetime
    sort_key: str


class RecordRow(_Described):
    """A record as the local catalog shows it (a linked record: its shared record's
    metadata, and that shared record's id)."""

    shared_record_id: UUID | None


class SharedRow(_Described):
    """A shared record of the consortium (catalogued/revised: contributed/edited)."""

    contributor: str
    merged_into: UUID | None


class ItemRow(TypedDict):
    """A copy of a record as the local catalog has it."""

    id: UUID
    barcode: str
    epc: str | None
    record_id: UUID
    call_number: str | None
    call_number_scheme: str | None
    branch: str
    collection: str | None
    shelf: str | None
    material_type: str
    status: str
    changed_at: datetime


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a search: rows and whether more follow."""

    rows: list[R]
    has_next: bool


def record_row(record_id: str, *, description: dict[str, Any], original_format: str | None,
               catalogued_at: Any, revised_at: Any) -> dict[str, Any]:
    """A record's row as the read model shows it (the search text folded, both ISBN forms
    kept): what a record looks like in this read model, whoever computes it."""
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


def _record(row: Sequence[Any]) -> RecordRow:
    found = dict(zip(RECORD_SELECT, row, strict=True))
    found["shared_record_id"] = found.pop("shows_shared_id")
    return cast(RecordRow, found)


def _shared(row: Sequence[Any]) -> SharedRow:
    found = dict(zip(SHARED_SELECT, row, strict=True))
    found["catalogued_at"] = found.pop("contributed_at")
    found["revised_at"] = found.pop("edited_at")
    return cast(SharedRow, found)


def _item(row: Sequence[Any]) -> ItemRow:
    return cast(ItemRow, dict(zip(ITEM_COLUMNS, row, strict=True)))


class LocalCatalogView(View):
    """Records (searchable), items (by barcode, EPC, record, shelf) and shared records."""

    name = NAME

    @property
    def _tables(self) -> LocalCatalogTables:
        return LocalCatalogTables(self.generation)

    def record(self, tenant: str, record_id: str) -> RecordRow | None:
        """One record of the tenant, or None."""
        row = self._tables.record(self.cur, tenant, record_id)
        return _record(row) if row else None

    def search(self, tenant: str, query: str | None, first: int,
               after: str | None) -> Page[RecordRow]:
        """The tenant's records matching every word of the query (title, author, subject,
        series, publisher; an ISBN-10 or -13 finds its records), in title order."""
        position = decode_cursor(after) if after is not None else None
        rows = self._tables.search_records(self.cur, tenant, query, first, position)
        return Page([_record(r) for r in rows[:first]], len(rows) > first)

    def shared_record(self, shared_id: str) -> SharedRow | None:
        """One shared record of the consortium (merged ones too), or None."""
        row = self._tables.shared_record(self.cur, shared_id)
        return _shared(row) if row else None

    def search_shared(self, query: str | None, first: int,
                      after: str | None) -> Page[SharedRow]:
        """The consortium's shared records (not merged away), searched like records."""
        position = decode_cursor(after) if after is not None else None
        rows = self._tables.search_shared(self.cur, query, first, position)
        return Page([_shared(r) for r in rows[:first]], len(rows) > first)

    def item(self, tenant: str, *, barcode: str | None = None,
             epc: str | None = None) -> ItemRow | None:
        """One item of the tenant by barcode or EPC, or None."""
        column, value = ("barcode", barcode) if barcode is not None else ("epc", epc)
        rows = self._tables.items_by(self.cur, tenant, column, [str(value)])
        return _item(rows[0]) if rows else None

    def items_of_records(self, tenant: str,
                         record_ids: list[str]) -> dict[str, list[ItemRow]]:
        """The items of each of these records, by barcode, in one query."""
        found: dict[str, list[ItemRow]] = {r: [] for r in record_ids}
        for row in self._tables.items_by(self.cur, tenant, "record_id", record_ids):
            item = _item(row)
            found.setdefault(str(item["record_id"]), []).append(item)
        return found

    def items_of(self, tenant: str, record_id: str) -> list[ItemRow]:
        """A record's items, by barcode."""
        return self.items_of_records(tenant, [record_id])[record_id]

    def items_where(self, tenant: str, *, epcs: list[str] | None = None,
                    shelf: str | None = None) -> list[ItemRow]:
        """The tenant's items carrying these EPCs, or placed on this shelf."""
        column, values = ("epc", epcs or []) if epcs is not None else ("shelf", [str(shelf)])
        return [_item(r) for r in self._tables.items_by(self.cur, tenant, column, values)]

    def count(self, tenant: str) -> int:
        """How many records the tenant has."""
        return self._tables.count(self.cur, tenant)

