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

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID, uuid4

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
from projections.union_catalog.clustering import Clusterer, Entry, filed_of, looks_of
from projections.union_catalog.matching import Match, Profile, compare, profile
from projections.union_catalog.postgres import (
    NAME,
    TABLES,
    StoredRecord,
    UnionCatalogTables,
    bounded_key,
)

OFFICE = "office"  # the office's log holds shared records (and decisions), not holdings
CACHED_PROFILES = 100_000
ANALYZE_FIRST = 1_000  # records written before the tables' statistics are first gathered


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
    records the office's decisions name or whose member changed status."""

    records: dict[str, _Folded] = field(default_factory=dict)
    shared: set[UUID] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)
    items: list[tuple[str, UUID, UUID]] = field(default_factory=list)  # added, not written


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
        # profiles by record key, with the stamp of the write they were made from: what a
        # recomputation loads again is mostly what the last batches wrote
        self._cache: OrderedDict[str, tuple[str, Profile, dict[str, Any]]] = OrderedDict()
        self._written = self._analyzed = 0

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
            batch.items.append((tenant, event.originator_id, event.record_id))
        elif isinstance(event, Item.Withdrawn):
            self._items(cur, batch)
            self.store.withdraw_item(cur, tenant, event.originator_id)
        elif isinstance(event, ItemLending.Event):
            self._items(cur, batch)
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

    def _items(self, cur: Cursor[Any], batch: Batch) -> None:
        """The copies added so far in the batch, written at once (before anything that
        changes one)."""
        self.store.add_items(cur, batch.items)
        batch.items.clear()

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
        self._items(cur, batch)
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
        changed: dict[str, Profile] = {}
        rows = []
        for key, folded in sorted(batch.records.items()):
            description = shown.get(folded.shared_id, folded.own) if folded.shared_id else (
                folded.own)
            before = stored.get(key)
            moved = before is None or before.description != description
            if moved or before is None or (before.own, before.shared_id) != (
                    folded.own, folded.shared_id):
                stamp = uuid4().hex
                made = profile(key, description)
                self._remember(key, stamp, made, description)
                if moved:
                    changed[key] = made
                rows.append((key, folded.tenant, folded.record_id, folded.own,
                             folded.shared_id, description, stamp,
                             sorted({bounded_key(k) for k in filed_of(made)})))
        self.store.save_records(cur, rows, stored)
        self._written += len(rows)
        if self._written >= max(ANALYZE_FIRST, 2 * self._analyzed):
            # Tables filled by a rebuild (or a first load) have no statistics until
            # autovacuum gets to them, if it runs at all: without them PostgreSQL plans
            # sequential scans of the records for every batch. Each doubling, once.
            self.store.analyze(cur)
            self._analyzed = self._written
        seeds = set(changed) | batch.decided | self._match(
            cur, changed, {k for k in changed if k in stored})
        if seeds:
            self.recluster(cur, seeds)

    def _match(self, cur: Cursor[Any], changed: dict[str, Profile], known: set[str]) -> set[str]:
        """The changed records' accepted matches found again (each against the records
        filed under its keys) and stored; the records they matched before (only those
        known before the batch had any)."""
        if not changed:
            return set()
        before = {b for _, b, _, _ in self.store.edges_of(cur, known)} if known else set()
        looks = {bounded_key(k) for p in changed.values() for k in looks_of(p)}
        filed = self.store.filed_under(cur, looks)
        buckets: dict[str, list[str]] = {}
        for other, (keys, _, _) in filed.items():
            for k in keys:
                buckets.setdefault(k, []).append(other)
        edges: list[tuple[str, str, float, list[str]]] = []
        compared: set[tuple[str, str]] = set()
        for key, mine in sorted(changed.items()):
            candidates = {o for k in looks_of(mine) for o in buckets.get(bounded_key(k), ())
                          } - {key}
            for other in sorted(candidates):
                pair = (min(key, other), max(key, other))
                if pair in compared:
                    continue
                compared.add(pair)
                theirs = changed.get(other) or self._profile(other, *filed[other][1:])
                found = compare(mine, theirs)
                if found.accepted:
                    edges.append((*pair, found.score, list(found.reasons)))
        self.store.replace_edges(cur, known, edges)
        return before - set(changed)

    def recluster(self, cur: Cursor[Any], seeds: set[str]) -> None:
        """The entries of the connected parts holding these records, computed again from
        the stored matches and the office's decisions; every entry they held goes."""
        members: set[str] = set()
        edges: list[tuple[str, str, float, list[str]]] = []
        links: set[tuple[str, str, bool]] = set()
        gone: set[str] = set()
        todo = set(seeds)
        while todo:
            members |= todo
            around = self.store.neighbourhood(cur, todo)
            edges += around.edges
            links |= around.links
            gone |= around.entries
            todo = ({b for _, b, _, _ in around.edges} | around.mates | {
                k for a, b, must in around.links if must for k in (a, b)}) - members
        texts = self.store.descriptions(cur, members)
        # a suspended or archived member's records join nothing (they could bridge two
        # others' records): they wait, matches kept, until it is active again
        hidden = self.store.out_of_sight(cur, texts)
        if hidden:
            self.store.leave_entries(cur, hidden)
        present = {k: self._profile(k, *texts[k]) for k in sorted(texts) if k not in hidden}
        clusterer = Clusterer()
        clusterer.restore(present.values(), [
            (a, b, Match(accepted=True, score=score, reasons=tuple(reasons)))
            for a, b, score, reasons in edges if a < b and a in present and b in present])
        for a, b, must in sorted(links):
            clusterer.decide(a, b, must)
        descriptions = {k: self._cache[k][2] for k in present}
        self.store.replace_entries(cur, gone, [
            entry_row(entry, descriptions, present[entry.members[0]].carrier.label)
            for part in clusterer.components(present)
            for entry in clusterer.partition(part)])

    def forget_tenant(self, cur: Cursor[Any], tenant: str) -> int:
        """A deleted member gone from the union catalog: its records, copies and loans, its
        records' matches, and the entries they were in, which are computed again from the
        other members' records (a title only it held leaves the catalog); how many rows went.
        Call it with the generation's positions locked (no batch applies meanwhile)."""
        keys = self.store.records_of_tenant(cur, tenant)
        around = self.store.neighbourhood(cur, keys)
        others = ({b for _, b, _, _ in around.edges} | around.mates
                  | {k for a, b, _ in around.links for k in (a, b)}) - set(keys)
        gone = self.store.forget_records(cur, tenant, keys, around.entries)
        for key in keys:
            self._cache.pop(key, None)
        if others:
            self.recluster(cur, others)
        return gone

    def _profile(self, key: str, stamp: str, text: str) -> Profile:
        """A record's profile: from the cache when the record was not written since."""
        cached = self._cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        description = json.loads(text)
        found = profile(key, description)
        self._remember(key, stamp, found, description)
        return found

    def _remember(self, key: str, stamp: str, found: Profile,
                  description: dict[str, Any]) -> None:
        self._cache[key] = (stamp, found, description)
        self._cache.move_to_end(key)
        if len(self._cache) > CACHED_PROFILES:
            self._cache.popitem(last=False)


def entry_row(entry: Entry, descriptions: dict[str, dict[str, Any]],
              carrier: str) -> dict[str, Any]:
    """An entry as stored: shown by its smallest member (whose carrier it gives), searched
    by every member's text (titles and authors in its heading, the rest in its body)."""
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
        "format": carrier,
        "edition": first.get("edition"),
        "joins": [{"record": j.record, "matched": j.matched,
                   "score": None if j.score == float("inf") else j.score,
                   "reasons": list(j.reasons)} for j in entry.joins],
        "heading": heading_text, "body": body_text,
        "grams": sorted(index_grams(heading_text) | index_grams(body_text)),
        "sort_key": fold(title)[:200],
    }
