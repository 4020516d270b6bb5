"""The union catalog projection: every member's records, from their Record events, clustered
into entries by the matcher. Each change recomputes the entries of the records it touches
(the record, its old entry's members, and everything they match, found by their match
keys): the same definition the incremental clusterer has, so the entries equal a rebuild's.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.catalog.record import Record
from domain.shared.description import display_title, isbn_forms
from projections.framework import Delivery, Projection, Source, on
from projections.search_text import index_text
from projections.union_catalog.clustering import Clusterer, Entry
from projections.union_catalog.matching import compare, match_keys, profile, sparse_keys
from projections.union_catalog.postgres import NAME, TABLES, UnionCatalogTables

OFFICE = "office"  # the office's log holds shared records, not a member's holdings


def record_key(tenant: str, record_id: UUID) -> str:
    """A member record's key in the union catalog."""
    return f"{tenant}:{record_id}"


class UnionCatalog(Projection):
    """Entries of one edition across members, with their member records and match reasons."""

    name = NAME
    tables = TABLES
    # rows per member record, entries recomputed from them on each change: a parked event
    # leaves one record's description stale (and its entry), nothing else
    skip_poison = True

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = UnionCatalogTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        return delivery.tenant != OFFICE and super().accepts(delivery)

    @on(Record.Catalogued)
    def _catalogued(self, cur: Cursor[Any], event: Record.Catalogued, source: Source) -> None:
        self._upsert(cur, source.tenant, event.originator_id, dict(event.description))

    @on(Record.Revised)
    def _revised(self, cur: Cursor[Any], event: Record.Revised, source: Source) -> None:
        key = record_key(source.tenant, event.originator_id)
        description = self.store.description(cur, key) or {}
        self._upsert(cur, source.tenant, event.originator_id, {**description, **event.changes})

    @on(Record.UnlinkedFromShared)
    def _unlinked(self, cur: Cursor[Any], event: Record.UnlinkedFromShared,
                  source: Source) -> None:
        self._upsert(cur, source.tenant, event.originator_id, dict(event.description))

    def _upsert(self, cur: Cursor[Any], tenant: str, record_id: UUID,
                description: dict[str, Any]) -> None:
        key = record_key(tenant, record_id)
        old_mates = self.store.entry_members(cur, key)
        found = profile(key, description)
        filed, _ = sparse_keys(found)
        self.store.save_record(cur, key, tenant=tenant, record_id=record_id,
                               description=description, keys=match_keys(found) | filed)
        component = self._connected(cur, {key, *old_mates})
        clusterer = Clusterer()
        for member in sorted(component):
            clusterer.upsert(member, component[member])
        self.store.replace_entries(cur, component, [
            _entry_row(entry, component) for entry in clusterer.entries.values()])

    def _connected(self, cur: Cursor[Any], seeds: set[str]) -> dict[str, dict[str, Any]]:
        """Every record the seeds reach through accepted matches, with its description."""
        found: dict[str, dict[str, Any]] = {}
        known: dict[str, dict[str, Any]] = {}
        frontier = sorted(seeds)
        while frontier:
            key = frontier.pop()
            if key in found:
                continue
            description = known.get(key) or self.store.description(cur, key)
            if description is None:
                continue
            found[key] = description
            mine = profile(key, description)
            _, looks = sparse_keys(mine)
            for other, theirs in self.store.filed_under(cur, match_keys(mine) | looks):
                if other in found or other == key:
                    continue
                if compare(mine, profile(other, theirs)).accepted:
                    known[other] = theirs
                    frontier.append(other)
        return found


def _entry_row(entry: Entry, descriptions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An entry as stored: shown by its smallest member, searched by every member's text."""
    first = descriptions[entry.members[0]]
    searchable: list[str | None] = []
    isbns: set[str] = set()
    for member in entry.members:
        d = descriptions[member]
        isbns |= {form for isbn in d.get("isbns") or [] for form in isbn_forms(isbn)}
        searchable += [display_title(d), d.get("publisher"), d.get("responsibility"),
                       *(a.get("name") for a in d.get("authors") or []),
                       *(d.get("alt_titles") or []), *(d.get("alt_authors") or []),
                       *(d.get("subjects") or []), *(d.get("series") or [])]
    return {
        "id": entry.id, "members": list(entry.members), "title": display_title(first),
        "authors": [a["name"] for a in first.get("authors") or []],
        "isbns": sorted(isbns), "year": first.get("year"),
        "format": profile(entry.members[0], first).carrier.label,
        "joins": [{"record": j.record, "matched": j.matched,
                   "score": None if j.score == float("inf") else j.score,
                   "reasons": list(j.reasons)} for j in entry.joins],
        "search": index_text(sorted(set(filter(None, searchable)))),
    }
