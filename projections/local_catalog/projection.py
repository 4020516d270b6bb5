"""The local catalog projection: each tenant's records and items from its own Record and Item
events, and the consortium's shared records from the office's. Records and shared records
are folded by their aggregates' own rules (each event's own mutate), never re-implemented
here: the read model keeps an aggregate's state (but its original MARC) and its version."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from psycopg import Cursor

from domain.catalog.item import AVAILABLE, WITHDRAWN, Item
from domain.catalog.record import Record
from domain.sharing.shared_record import SharedRecord
from projections.framework import Delivery, DomainEvent, Projection
from projections.local_catalog.postgres import (
    NAME,
    TABLES,
    LocalCatalogTables,
    Shown,
)
from projections.local_catalog.view import record_row

OFFICE = "office"  # shared records live in the consortium office's log
Key = tuple[str, UUID]  # (tenant, record id)
SHARED_LOCK = 0x4C43  # advisory lock class "LC": a shared record drawn by one batch at a time


def _restored_version(state: dict[str, Any], event: DomainEvent) -> int:
    """The version a row was written at (rows written before versions were kept: the one
    before the event, which the follower delivers in order)."""
    version = state["version"]
    return int(version) if version is not None else event.originator_version - 1


def restored(record_id: UUID, state: dict[str, Any]) -> Record:
    """A record as the read model last wrote it, ready for its next events: the aggregate's
    own rules then apply them (the original MARC is not kept here: it stays None)."""
    record = object.__new__(Record)
    record.__base_init__(record_id, int(state["version"] or 0), state["revised_at"])
    record.identity = ""
    record.description = dict(state["description"])
    record.original_format = state["original_format"]
    record.original = None
    record.catalogued_at = state["catalogued_at"]
    record.revised_at = state["revised_at"]
    record.shared_record_id = state["shared_record_id"]
    return record


def restored_shared(shared_id: UUID, state: dict[str, Any], version: int) -> SharedRecord:
    """A shared record as the read model last wrote it, ready for its next events (what the
    read model does not show, the original and the merged records' ids, stays empty)."""
    shared = object.__new__(SharedRecord)
    shared.__base_init__(shared_id, version, state["edited_at"])
    shared.contributor = state["contributor"]
    shared.source_record_id = shared_id
    shared.description = dict(state["description"])
    shared.original_format = state["original_format"]
    shared.original = None
    shared.contributed_at = state["contributed_at"]
    shared.edited_at = state["edited_at"]
    shared.merged_into = state["merged_into"]
    shared.absorbed = []
    shared.last_editor = state["contributor"]
    return shared


A = TypeVar("A", Record, SharedRecord)


def _folded(aggregate: object, kind: type[A]) -> A:
    if not isinstance(aggregate, kind):
        raise TypeError(f"an event folded to {type(aggregate).__name__}, not {kind.__name__}")
    return aggregate


class LocalCatalog(Projection):
    """Each tenant's own catalog: records (searchable) and items (by barcode and EPC)."""

    name = NAME
    tables = TABLES
    skip_poison = True  # rows per record (and shared record): a parked event spoils one row at most
    events = (Record.Event, Item.Added, Item.Moved, Item.Withdrawn, Item.EpcAssigned,
              SharedRecord.Event)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = LocalCatalogTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        if isinstance(delivery.event, SharedRecord.Event):
            return delivery.tenant == OFFICE and super().accepts(delivery)
        return super().accepts(delivery)

    def apply(self, cur: Cursor[Any], delivery: Delivery) -> None:
        self.apply_batch(cur, [delivery])

    def apply_batch(self, cur: Cursor[Any], deliveries: list[Delivery]) -> None:
        """Records and shared records folded in memory, then one upsert each (shared ones
        first: records show them); items written as they come; then every record that shows
        a shared record changed in the batch redrawn."""
        records: dict[Key, Record] = {}
        shared: dict[UUID, SharedRecord] = {}
        stored = self.store.stored_records(cur, sorted({
            (d.tenant, d.event.originator_id) for d in deliveries
            if isinstance(d.event, Record.Event) and not isinstance(d.event, Record.Catalogued)}))
        stored_shared = self.store.stored_shared(cur, sorted({
            d.event.originator_id for d in deliveries
            if isinstance(d.event, SharedRecord.Event)
            and not isinstance(d.event, SharedRecord.Contributed)}))
        for delivery in deliveries:
            event, tenant = delivery.event, delivery.tenant
            if isinstance(event, Record.Event):
                self._fold(records, stored, (tenant, event.originator_id), event)
            elif isinstance(event, Item.Event):
                self._item(cur, tenant, event)
            elif isinstance(event, SharedRecord.Event):
                self._fold_shared(shared, stored_shared, event)
        self._one_at_a_time(cur, set(shared) | {r.shared_record_id for r in records.values()
                                                if r.shared_record_id is not None})
        self.store.upsert_shared(cur, [self._shared_row(s) for s in shared.values()])
        self._write(cur, records)
        if shared:
            showing = self.store.showing(cur, {str(i) for i in shared})
            self._write(cur, {key: restored(key[1], state) for key, state in showing.items()})

    @staticmethod
    def _one_at_a_time(cur: Cursor[Any], shared_ids: set[UUID]) -> None:
        """Locks, until this batch commits, the shared records it changes or draws records
        linked to. A link (from a library's log) and its shared record (from the office's)
        applied by two workers at once would otherwise each miss the other's uncommitted
        row, and the record would show its own metadata for good; locked, the later one
        sees the earlier. (Sorted: two batches never wait for each other in a circle.)"""
        for shared_id in sorted(map(str, shared_ids)):
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                        (SHARED_LOCK, shared_id))

    def _fold(self, records: dict[Key, Record], stored: dict[Key, dict[str, Any]], key: Key,
              event: Record.Event) -> None:
        if isinstance(event, Record.Catalogued):
            records[key] = _folded(event.mutate(None), Record)
            return
        record = records.get(key)
        if record is None:
            state = stored.get(key)
            if state is None:
                return  # cannot happen: a record is catalogued before anything else
            record = restored(key[1], {**state, "version": _restored_version(state, event)})
        records[key] = _folded(event.mutate(record), Record)

    @staticmethod
    def _fold_shared(shared: dict[UUID, SharedRecord], stored: dict[UUID, dict[str, Any]],
                     event: SharedRecord.Event) -> None:
        shared_id = event.originator_id
        if isinstance(event, SharedRecord.Contributed):
            shared[shared_id] = _folded(event.mutate(None), SharedRecord)
            return
        current = shared.get(shared_id)
        if current is None:
            state = stored.get(shared_id)
            if state is None:
                return  # cannot happen: a shared record is contributed before anything else
            current = restored_shared(shared_id, state, _restored_version(state, event))
        shared[shared_id] = _folded(event.mutate(current), SharedRecord)

    @staticmethod
    def _shared_row(shared: SharedRecord) -> dict[str, Any]:
        row = record_row(str(shared.id), description=shared.description,
                         original_format=shared.original_format,
                         catalogued_at=shared.contributed_at, revised_at=shared.edited_at)
        return {**row, "id": shared.id, "contributor": shared.contributor,
                "contributed_at": shared.contributed_at, "edited_at": shared.edited_at,
                "merged_into": shared.merged_into, "version": shared.version}

    def _item(self, cur: Cursor[Any], tenant: str, event: Item.Event) -> None:
        if isinstance(event, Item.Added):
            self.store.add_items(cur, [(
                tenant, event.originator_id, event.barcode, event.epc, event.record_id,
                event.call_number, event.call_number_scheme, event.branch, event.collection,
                event.shelf, event.material_type, AVAILABLE, event.added_at)])
        elif isinstance(event, Item.Moved):
            self.store.change_item(cur, tenant, event.originator_id, {
                "branch": event.branch, "collection": event.collection, "shelf": event.shelf,
                "changed_at": event.moved_at})
        elif isinstance(event, Item.Withdrawn):
            self.store.change_item(cur, tenant, event.originator_id, {
                "status": WITHDRAWN, "changed_at": event.withdrawn_at})
        elif isinstance(event, Item.EpcAssigned):
            self.store.change_item(cur, tenant, event.originator_id, {
                "epc": event.epc, "changed_at": event.assigned_at})

    def _write(self, cur: Cursor[Any], records: dict[Key, Record]) -> None:
        """Each record's row: it shows its shared record's metadata when it has one."""
        cache: dict[str, Shown | None] = {}
        rows = []
        for (tenant, record_id), record in records.items():
            linked = str(record.shared_record_id) if record.shared_record_id else None
            if linked is not None and linked not in cache:
                cache[linked] = self.store.resolve(cur, linked)
            shown = cache.get(linked) if linked is not None else None
            description, original_format = ((shown[1], shown[2]) if shown is not None else
                                             (record.description, record.original_format))
            row = record_row(str(record_id), description=description,
                             original_format=original_format,
                             catalogued_at=record.catalogued_at, revised_at=record.revised_at)
            # A record's own metadata is kept apart only while it shows a shared record's.
            row["own_description"] = record.description if shown is not None else None
            row["shared_record_id"] = record.shared_record_id
            row["shows_shared_id"] = shown[0] if shown is not None else record.shared_record_id
            row["version"] = record.version or None  # 0: a row from before versions
            rows.append((tenant, row))
        self.store.upsert_records(cur, rows)
