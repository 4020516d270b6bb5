"""The union catalog projection: every member's records (from their Record events; a record
linked to a shared record is matched by the shared record's description, from the office's
SharedRecord events), clustered into entries by the matcher; each member's copies (Item
events) and what circulation says of them (ItemLending events), never whose loan it is.

A batch of events is applied at once: records folded in memory and saved in one statement;
then the records the batch changed, the entries they were in, and the records their old
descriptions matched are the seeds; their connected parts in the new match graph are
loaded (a query per layer of the search, by match keys), clustered once in memory, and
their entries replaced. That is the definition the incremental clusterer has, so the
entries equal a rebuild's, whatever the order events came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from psycopg import Cursor

from domain.catalog.item import Item
from domain.catalog.record import Record
from domain.circulation.item_lending import (
    AVAILABLE,
    CHECKED_OUT,
    IN_TRANSIT,
    LENDABLE,
    LOST,
    ON_HOLD_SHELF,
    ItemLending,
)
from domain.shared.description import display_title, isbn_forms
from domain.sharing.shared_record import SharedRecord
from domain.sharing.union_override import UnionOverride
from projections.framework import Delivery, DomainEvent, Projection
from projections.search_text import fold, index_grams, index_text
from projections.union_catalog.clustering import Clusterer, Entry
from projections.union_catalog.matching import compare, match_keys, profile, sparse_keys
from projections.union_catalog.postgres import NAME, TABLES, StoredRecord, UnionCatalogTables

OFFICE = "office"  # the office's log holds shared records (and decisions), not holdings
_MAX_ROUNDS = 64  # layers of a connected part's search: far more than any real part needs


def record_key(tenant: str, record_id: UUID) -> str:
    """A member record's key in the union catalog."""
    return f"{tenant}:{record_id}"


@dataclass
class _Folded:
    """A member record as the batch leaves it."""

    tenant: str
    record_id: UUID
    own: dict[str, Any]
    shared_id: UUID | None


@dataclass
class Batch:
    """What a batch of events changed: records folded, shared records touched, and the
    records the office's decisions name."""

    records: dict[str, _Folded] = field(default_factory=dict)
    shared: set[UUID] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)


_LENDING_STATUS: dict[type[DomainEvent], str] = {
    ItemLending.Started: AVAILABLE, ItemLending.CheckedOut: CHECKED_OUT,
    ItemLending.CheckedIn: AVAILABLE, ItemLending.HeldForPickup: ON_HOLD_SHELF,
    ItemLending.PickupExpired: AVAILABLE, ItemLending.PickupCancelled: AVAILABLE,
    ItemLending.DeclaredLost: LOST, ItemLending.Found: AVAILABLE,
    # pulled for another member's request: not available until it is back
    ItemLending.Pulled: IN_TRANSIT, ItemLending.Released: AVAILABLE}


class UnionCatalog(Projection):
    """Entries of one edition across members, with their member records, match reasons and
    holdings."""

    name = NAME
    tables = TABLES
    # rows per member record and copy, entries recomputed from them on each change: a parked
    # event leaves one record's description (and its entry) or one copy's state stale
    skip_poison = True
    events: ClassVar[tuple[type[DomainEvent], ...]] = (
        Record.Event, Item.Added, Item.Withdrawn, ItemLending.Event, SharedRecord.Event,
        UnionOverride.Event)
    _OFFICE_EVENTS = (SharedRecord.Event, UnionOverride.Event)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = UnionCatalogTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        if delivery.tenant == OFFICE:
            return isinstance(delivery.event, self._OFFICE_EVENTS)
        return (not isinstance(delivery.event, self._OFFICE_EVENTS)
                and super().accepts(delivery))

    def apply(self, cur: Cursor[Any], delivery: Delivery) -> None:
        self.apply_batch(cur, [delivery])

    def apply_batch(self, cur: Cursor[Any], deliveries: list[Delivery]) -> None:
        """Copies and shared records written as they come, records folded; then the entries
        the batch touched recomputed once."""
        batch = Batch()
        stored = self.store.stored_records(cur, {
            record_key(d.tenant, d.event.originator_id) for d in deliveries
            if isinstance(d.event, Record.Event) and not isinstance(d.event, Record.Catalogued)})
        for delivery in deliveries:
            self.take(cur, delivery, batch, stored)
        self._settle(cur, batch, stored)

    def take(self, cur: Cursor[Any], delivery: Delivery, batch: Batch,
             stored: dict[str, StoredRecord]) -> None:
        """One event of a batch (a subclass may take more kinds and defer to this)."""
        event, tenant = delivery.event, delivery.tenant
        if isinstance(event, Record.Event):
            self._fold(batch, stored, tenant, event)
        elif isinstance(event, SharedRecord.Event):
            self._shared(cur, event)
            batch.shared.add(event.originator_id)
        elif isinstance(event, Item.Added):
            self.store.add_items(cur, [(tenant, event.originator_id, event.record_id)])
        elif isinstance(event, Item.Withdrawn):
            self.store.withdraw_item(cur, tenant, event.originator_id)
        elif isinstance(event, ItemLending.Event):
            self._lending(cur, tenant, event)
        elif isinstance(event, UnionOverride.Merged):
            records = sorted(event.records)
            self.store.decide(cur, [(a, b, True) for i, a in enumerate(records)
                                    for b in records[i + 1:]])
            batch.decided.update(records)
        elif isinstance(event, UnionOverride.Split):
            self.store.decide(cur, [(min(a, b), max(a, b), False) for a in event.moved
                                    for b in event.rest])
            batch.decided.update(event.moved, event.rest)

    @staticmethod
    def _fold(batch: Batch, stored: dict[str, StoredRecord], tenant: str,
              event: Record.Event) -> None:
        key = record_key(tenant, event.originator_id)
        if isinstance(event, Record.Catalogued):
            batch.records[key] = _Folded(tenant, event.originator_id, dict(event.description),
                                         None)
            return
        current = batch.records.get(key)
        if current is None:
            found = stored.get(key)
            if found is None:
                return  # cannot happen: a record is catalogued before anything else
            current = _Folded(tenant, event.originator_id, found.own, found.shared_id)
            batch.records[key] = current
        if isinstance(event, Record.Revised):
            current.own = {**current.own, **event.changes}
        elif isinstance(event, Record.LinkedToShared):
            current.shared_id = event.shared_record_id
        elif isinstance(event, Record.UnlinkedFromShared):
            current.own, current.shared_id = dict(event.description), None

    def _shared(self, cur: Cursor[Any], event: SharedRecord.Event) -> None:
        if isinstance(event, SharedRecord.Contributed):
            self.store.save_shared(cur, event.originator_id, dict(event.description), None)
        elif isinstance(event, SharedRecord.Edited):
            current = self.store.shared_description(cur, event.originator_id) or {}
            self.store.save_shared(cur, event.originator_id, {**current, **event.changes}, None)
        elif isinstance(event, SharedRecord.MergedInto):
            self.store.save_shared(cur, event.originator_id, None, event.survivor_id)

    def _lending(self, cur: Cursor[Any], tenant: str, event: ItemLending.Event) -> None:
        item_id = getattr(event, "item_id", None)
        status = _LENDING_STATUS.get(type(event))
        lendable = (event.catalog_status in LENDABLE
                    if isinstance(event, ItemLending.CopyRecorded) else None)
        if status is None and lendable is None:
            return  # renewals and the like: the copy stays where it is
        self.store.set_lending(cur, tenant, event.originator_id, item_id=item_id,
                               status=status, lendable=lendable)

    def _settle(self, cur: Cursor[Any], batch: Batch, stored: dict[str, StoredRecord]) -> None:
        """The records the batch changed saved, and the entries they touch recomputed."""
        if batch.shared:
            showing = set(batch.shared)
            for shared_id in batch.shared:
                showing.update(self.store.merged_away(cur, shared_id))
            linked = self.store.stored_records(cur, self.store.linked_to(cur, showing))
            for key, found in linked.items():
                stored.setdefault(key, found)
                batch.records.setdefault(key, _Folded(found.tenant, found.record_id, found.own,
                                                      found.shared_id))
        shown = self.store.shared_descriptions(
            cur, {f.shared_id for f in batch.records.values() if f.shared_id is not None})
        changed: dict[str, dict[str, Any]] = {}
        rows = []
        for key, folded in sorted(batch.records.items()):
            description = shown.get(folded.shared_id, folded.own) if folded.shared_id else (
                folded.own)
            before = stored.get(key)
            if before is None or before.description != description:
                changed[key] = description
            if before is None or changed.get(key) is not None or (
                    before.own != folded.own or before.shared_id != folded.shared_id):
                rows.append((key, folded.tenant, folded.record_id, folded.own,
                             folded.shared_id, description, _filed_keys(key, description)))
        old = {k: stored[k].description for k in changed if k in stored}
        old_neighbours = self._matched(cur, old)
        self.store.save_records(cur, rows)
        seeds = set(changed) | batch.decided | old_neighbours
        if seeds:
            self.recluster(cur, seeds)

    def _matched(self, cur: Cursor[Any], descriptions: dict[str, dict[str, Any]]) -> set[str]:
        """The records these descriptions match (as stored before the batch)."""
        if not descriptions:
            return set()
        profiles = {k: profile(k, d) for k, d in descriptions.items()}
        looks: set[str] = set()
        for found in profiles.values():
            looks |= match_keys(found) | sparse_keys(found)[1]
        out: set[str] = set()
        for other, description in self.store.filed_under(cur, looks).items():
            theirs = profile(other, description)
            if any(k != other and compare(p, theirs).accepted for k, p in profiles.items()):
                out.add(other)
        return out

    def recluster(self, cur: Cursor[Any], seeds: set[str]) -> None:
        """The entries of the connected parts holding these records, computed again: the
        search widens, a layer at a time, to every record an accepted match or an office
        merge reaches, and to every member of an entry it takes apart."""
        part = _Part()
        searched: set[str] = set()
        todo = set(seeds)
        gone: set[str] = set()
        for _ in range(_MAX_ROUNDS):
            self._load(cur, part, self.store.descriptions(cur, todo - set(part.descriptions)))
            looks: set[str] = set()
            for key in todo & set(part.clusterer.profiles):
                found = part.clusterer.profiles[key]
                looks |= match_keys(found) | sparse_keys(found)[1]
            self._load(cur, part, self.store.filed_under(cur, looks))
            searched |= todo
            inside = {k for c in part.clusterer.components(searched) for k in c}
            gone, members = self.store.entry_mates(cur, inside | seeds)
            todo = (inside | members) - searched
            if not todo:
                break
        parts = part.clusterer.components(searched)
        self.store.replace_entries(cur, gone, [
            entry_row(entry, part.descriptions) for c in parts
            for entry in part.clusterer.partition(c)])

    def _load(self, cur: Cursor[Any], part: _Part, found: dict[str, dict[str, Any]]) -> None:
        """Records added to a part's clusterer, with the office's decisions about them (and
        the records those decisions name)."""
        while found:
            new = {k: d for k, d in found.items() if k not in part.descriptions}
            part.descriptions.update(new)
            part.clusterer.add_all(new)
            partners: set[str] = set()
            for a, b, must in self.store.links_of(cur, new):
                part.clusterer.decide(a, b, must)
                partners |= {a, b}
            found = self.store.descriptions(cur, partners - set(part.descriptions))


@dataclass
class _Part:
    """The records a recomputation loaded, and their clusterer."""

    clusterer: Clusterer = field(default_factory=Clusterer)
    descriptions: dict[str, dict[str, Any]] = field(default_factory=dict)


def _filed_keys(key: str, description: dict[str, Any]) -> list[str]:
    found = profile(key, description)
    return sorted(match_keys(found) | sparse_keys(found)[0])


def entry_row(entry: Entry, descriptions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An entry as stored: shown by its smallest member, searched by every member's text
    (titles and authors in its heading, the rest in its body)."""
    first = descriptions[entry.members[0]]
    heading: list[str | None] = []
    body: list[str | None] = []
    isbns: set[str] = set()
    issns: set[str] = set()
    for member in entry.members:
        d = descriptions[member]
        isbns |= {form for isbn in d.get("isbns") or [] for form in isbn_forms(isbn)}
        issns |= set(d.get("issns") or [])
        heading += [display_title(d), d.get("responsibility"),
                    *(a.get("name") for a in d.get("authors") or []),
                    *(d.get("alt_titles") or []), *(d.get("alt_authors") or [])]
        body += [d.get("publisher"), d.get("place"), d.get("edition"),
                 *(d.get("subjects") or []), *(d.get("series") or []),
                 *(d.get("carrier_notes") or [])]
    heading_text = index_text(sorted(set(filter(None, heading))))
    body_text = index_text(sorted(set(filter(None, body))))
    year = str(first.get("year") or "")
    title = display_title(first)
    return {
        "id": entry.id, "members": list(entry.members), "title": title,
        "alt_titles": list(first.get("alt_titles") or []),
        "authors": [a["name"] for a in first.get("authors") or []],
        "isbns": sorted(isbns), "issns": sorted(issns),
        "year": int(year) if year.isdigit() else None,
        "language": next(iter(first.get("languages") or []), None),
        "format": profile(entry.members[0], first).carrier.label,
        "edition": first.get("edition"),
        "joins": [{"record": j.record, "matched": j.matched,
                   "score": None if j.score == float("inf") else j.score,
                   "reasons": list(j.reasons)} for j in entry.joins],
        "heading": heading_text, "body": body_text,
        "grams": sorted(index_grams(heading_text) | index_grams(body_text)),
        "sort_key": fold(title)[:200],
    }
