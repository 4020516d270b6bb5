"""What others may ask of the union catalog: an entry, the entry of a member's record, the
holdings of entries (per member: copies held, copies on the shelf and lendable now), and
the search. Only members in sight (not suspended, not archived) show."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from uuid import UUID

from domain.shared.description import isbn_forms, normalize_isbn
from projections.framework import View
from projections.search_text import fold, has_cjk, query_terms
from projections.union_catalog.postgres import ENTRY_COLUMNS, NAME, UnionCatalogTables
from projections.union_catalog.query import Filters, Query

_ISBN_QUERY = re.compile(r"^[0-9Xx][0-9Xx -]{8,16}$")
_TRIGRAM = 3  # shorter terms (and CJK ones) are looked up among the entries' grams


class EntryRow(TypedDict):
    """One entry: what it shows, its member records (tenant:record id) and why each is
    there (joins: record, matched, score, reasons)."""

    id: str
    members: list[str]
    title: str
    alt_titles: list[str]
    authors: list[str]
    isbns: list[str]
    issns: list[str]
    year: int | None
    language: str | None
    format: str
    edition: str | None
    joins: list[dict[str, Any]]


class MemberRecord(TypedDict):
    """A member's record in an entry."""

    tenant: str
    name: str
    record_id: str


class Holding(TypedDict):
    """A member's copies of an entry: how many it holds, how many are available now."""

    tenant: str
    name: str
    items: int
    available: int


@dataclass(frozen=True)
class Page:
    """A page of entries found, and whether another follows."""

    entries: list[EntryRow]
    has_next: bool


class Count(TypedDict):
    """How many entries found have this value."""

    value: str
    count: int


class LibraryCount(TypedDict):
    """How many entries found a member holds."""

    tenant: str
    name: str
    count: int


class Facets(TypedDict):
    """Counts over every entry a search found."""

    total: int
    languages: list[Count]
    formats: list[Count]
    decades: list[Count]
    first_year: int | None
    last_year: int | None
    holding_libraries: list[LibraryCount]
    available_now: int


def parsed(query: str | None, filters: Filters | None = None) -> tuple[Query, str]:
    """A search as the tables take it, and the folded query (an exact title ranks high):
    an ISBN (10 or 13, hyphens or not) is looked up as such; otherwise every term must be
    found (CJK pairs and short words among the grams, longer ones by trigrams)."""
    text = (query or "").strip()
    isbn = normalize_isbn(text) if _ISBN_QUERY.match(text) else None
    chosen = filters or Filters()
    if isbn:
        return Query(isbns=tuple(isbn_forms(isbn)), filters=chosen), ""
    terms = query_terms(text)
    grams = tuple(t for t in terms if has_cjk(t) or len(t) < _TRIGRAM)
    return Query(long_terms=tuple(t for t in terms if t not in grams), gram_terms=grams,
                 filters=chosen), fold(text)


class UnionCatalogView(View):
    """The union catalog's entries, records and holdings."""

    name = NAME

    def __init__(self, cur: Any, generation: int = 1) -> None:
        super().__init__(cur, generation)
        self._tables = UnionCatalogTables(generation)

    def search(self, query: str | None, first: int = 20, offset: int = 0,
               filters: Filters | None = None) -> Page:
        """Entries found by text or ISBN, narrowed by the filters, the most relevant first."""
        asked, title = parsed(query, filters)
        ids = self._tables.search(self.cur, asked, title, first, offset)
        return Page(self.entries(ids[:first]), len(ids) > first)

    def facets(self, query: str | None, filters: Filters | None = None) -> Facets:
        """Counts over every entry the search finds."""
        asked, _ = parsed(query, filters)
        rows = self._tables.facets(self.cur, asked)
        names = self._tables.member_names(self.cur, [v for f, v, _ in rows if f == "library" and v])
        counts: dict[str, list[Count]] = {}
        single: dict[str, tuple[str | None, int]] = {}
        for facet, value, count in rows:
            if facet in ("language", "format", "decade", "library"):
                counts.setdefault(facet, []).append(Count(value=value or "", count=count))
            else:
                single[facet] = (value, count)
        libraries = sorted(counts.get("library", []), key=lambda c: c["value"])

        def ordered(facet: str) -> list[Count]:
            return sorted(counts.get(facet, []), key=lambda c: (-c["count"], c["value"]))

        def year(facet: str) -> int | None:
            value = single.get(facet, (None, 0))[0]
            return int(value) if value else None

        return Facets(
            total=single.get("total", (None, 0))[1], languages=ordered("language"),
            formats=ordered("format"),
            decades=sorted(counts.get("decade", []), key=lambda c: c["value"]),
            first_year=year("first year"), last_year=year("last year"),
            holding_libraries=[LibraryCount(tenant=c["value"], count=c["count"],
                                            name=names.get(c["value"], c["value"]))
                               for c in libraries],
            available_now=single.get("available", (None, 0))[1])

    def entry(self, entry_id: str) -> EntryRow | None:
        """One entry, or None (unknown, or none of its members in sight)."""
        row = self._tables.entry(self.cur, entry_id)
        return _entry(row) if row else None

    def members_of(self, entry_id: str) -> list[str] | None:
        """An entry's records (tenant:record id, members out of sight too), or None."""
        row = self.entry(entry_id)
        return row["members"] if row else None

    def entries(self, entry_ids: Sequence[str]) -> list[EntryRow]:
        """These entries, in the order asked (unknown ones left out)."""
        return [_entry(row) for row in self._tables.entries(self.cur, entry_ids)]

    def entry_of_record(self, tenant_slug: str, record_id: str | UUID) -> str | None:
        """The id of the entry a member's record is in, or None."""
        try:
            wanted = record_id if isinstance(record_id, UUID) else UUID(str(record_id))
        except ValueError:
            return None
        return self._tables.entry_of_record(self.cur, tenant_slug, wanted)

    def holdings(self, entry_id: str) -> list[Holding]:
        """Per member with a record in the entry: copies held and available now."""
        return self.holdings_of([entry_id]).get(entry_id, [])

    def holdings_of(self, entry_ids: Sequence[str]) -> dict[str, list[Holding]]:
        """The holdings of several entries at once, by entry id."""
        out: dict[str, list[Holding]] = {}
        for entry_id, tenant, name, items, available in self._tables.holdings(
                self.cur, entry_ids):
            out.setdefault(entry_id, []).append(
                Holding(tenant=tenant, name=name, items=items, available=available))
        return out

    def records_of(self, entry_ids: Sequence[str]) -> dict[str, list[MemberRecord]]:
        """The member records of several entries, by entry id."""
        out: dict[str, list[MemberRecord]] = {}
        for entry_id, tenant, name, record_id in self._tables.records_of(self.cur, entry_ids):
            out.setdefault(entry_id, []).append(
                MemberRecord(tenant=tenant, name=name, record_id=str(record_id)))
        return out

    def entry_with_isbn(self, isbn: str) -> str | None:
        """The id of an entry filed under this ISBN (any of its forms), or None."""
        return self._tables.entry_with_isbns(self.cur, isbn_forms(isbn))

    def entries_of_records(self, records: Sequence[tuple[str, UUID]]
                           ) -> dict[tuple[str, UUID], str]:
        """The entry of each of these member records (tenant, record id) in sight."""
        return self._tables.entries_of_records(self.cur, records)

    def holder_sets(self) -> list[frozenset[str]]:
        """For every entry, the members in sight that hold a copy of it."""
        return [frozenset(members) for members in self._tables.holder_sets(self.cur)]


def _entry(row: tuple[Any, ...]) -> EntryRow:
    found = dict(zip(ENTRY_COLUMNS, row, strict=True))
    return EntryRow(id=found["id"], members=list(found["members"]), title=found["title"],
                    alt_titles=list(found["alt_titles"]), authors=list(found["authors"]),
                    isbns=list(found["isbns"]), issns=list(found["issns"]), year=found["year"],
                    language=found["language"], format=found["format"],
                    edition=found["edition"], joins=list(found["joins"]))
