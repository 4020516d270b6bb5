"""What others may ask of the union catalog: an entry, the entry of a member's record, the
holdings of entries (per member: copies held, copies on the shelf and lendable now), and
the search. Only members in sight (not suspended, not archived) show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict
from uuid import UUID

from projections.framework import View
from projections.union_catalog.postgres import ENTRY_COLUMNS, NAME, UnionCatalogTables


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


class UnionCatalogView(View):
    """The union catalog's entries, records and holdings."""

    name = NAME

    def __init__(self, cur: Any, generation: int = 1) -> None:
        super().__init__(cur, generation)
        self._tables = UnionCatalogTables(generation)

    def entry(self, entry_id: str) -> EntryRow | None:
        """One entry, or None (unknown, or none of its members in sight)."""
        row = self._tables.entry(self.cur, entry_id)
        return _entry(row) if row else None

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


def _entry(row: tuple[Any, ...]) -> EntryRow:
    found = dict(zip(ENTRY_COLUMNS, row, strict=True))
    return EntryRow(id=found["id"], members=list(found["members"]), title=found["title"],
                    alt_titles=list(found["alt_titles"]), authors=list(found["authors"]),
                    isbns=list(found["isbns"]), issns=list(found["issns"]), year=found["year"],
                    language=found["language"], format=found["format"],
                    edition=found["edition"], joins=list(found["joins"]))
