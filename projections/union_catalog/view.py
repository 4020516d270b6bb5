"""What others may ask of the union catalog: entries found by their text or ISBN, and one
entry with its member records and why each is there."""

from __future__ import annotations

import re
from typing import Any, TypedDict

from domain.shared.description import isbn_forms, normalize_isbn
from projections.framework import View
from projections.search_text import query_terms
from projections.union_catalog.postgres import ENTRY_COLUMNS, NAME, UnionCatalogTables

_ISBN_QUERY = re.compile(r"^[0-9Xx][0-9Xx -]{8,16}$")


class EntryRow(TypedDict):
    """One entry: its member records (tenant:record id), what it shows, why it holds them."""

    id: str
    members: list[str]
    title: str
    authors: list[str]
    isbns: list[str]
    year: str | None
    format: str
    joins: list[dict[str, Any]]


class UnionCatalogView(View):
    """The union catalog's entries."""

    name = NAME

    def __init__(self, cur: Any, generation: int = 1) -> None:
        super().__init__(cur, generation)
        self._tables = UnionCatalogTables(generation)

    def search(self, query: str | None, first: int = 20) -> list[EntryRow]:
        """Entries whose text has every term of the query (or the ISBN it is)."""
        text = (query or "").strip()
        isbn = normalize_isbn(text) if _ISBN_QUERY.match(text) else None
        rows = self._tables.search(self.cur, [] if isbn else query_terms(text),
                                   isbn_forms(isbn) if isbn else None, first)
        return [_entry(row) for row in rows]

    def entry(self, entry_id: str) -> EntryRow | None:
        """One entry, or None."""
        row = self._tables.entry(self.cur, entry_id)
        return _entry(row) if row else None


def _entry(row: tuple[Any, ...]) -> EntryRow:
    found = dict(zip(ENTRY_COLUMNS, row, strict=True))
    return EntryRow(id=found["id"], members=list(found["members"]), title=found["title"],
                    authors=list(found["authors"]), isbns=list(found["isbns"]),
                    year=found["year"], format=found["format"], joins=list(found["joins"]))
