"""The local catalog projection: each tenant's records and items from its own Record and Item
events, and the consortium's shared records from the office's. A record's state is folded by
the Record aggregate itself (its events' own mutate), never re-implemented here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.catalog.item import AVAILABLE, WITHDRAWN, Item
from domain.catalog.record import Record
from domain.sharing.shared_record import SharedRecord
from projections.framework import Delivery, Projection
from projections.local_catalog.postgres import (
    NAME,
    TABLES,
    LocalCatalogTables,
    Shown,
)
from projections.local_catalog.view import record_row

OFFICE = "office"  # shared records live in the consortium office's log
Key = tuple[str, UUID]  # (tenant, record id)


def restored(record_id: UUID, state: dict[str, Any]) -> Record:
    """A record as the read model last wrote it, ready for its next events: the aggregate's
    own rules then apply them (the original MARC is not kept here: it stays None)."""
    record = object.__new__(Record)
    version = state["version"]
    record.__base_init__(record_id, int(version) if version is not None else 0,
                         state["revised_at"])
    record.identity = ""
    record.description = dict(state["description"])
    record.original_format = state["original_format"]
    record.original = None
    record.catalogued_at = state["catalogued_at"]
    record.revised_at = state["revised_at"]
    record.shared_record_id = state["shared_record_id"]
    return record


def _folded(record: Record | None) -> Record:
    if record is None:
        raise ValueError("a record event folded to nothing")
    return record


class LocalCatalog(Projection):
    """Each tenant's own catalog: records (searchable) and items (by barcode and EPC)."""

    name = NAME
    tables = TABLES
    events = (Record.Event, Item.Added, Item.Moved, Item.Withdrawn, Item.EpcAssigned,
              SharedRecord.Contributed, SharedRecord.Edited, SharedRecord.MergedInto)

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
        """Records folded in memory, then one upsert each; items written as they come;
        shared records applied as they come, then every record that shows them redrawn."""
        records: dict[Key, Record] = {}
        touched_shared: set[str] = set()
        stored = self.store.stored_records(cur, sorted({
            (d.tenant, d.event.originator_id) for d in deliveries
            if isinstance(d.event, Record.Event) and not isinstance(d.event, Record.Catalogued)}))
        for delivery in deliveries:
            event, tenant = delivery.event, delivery.tenant
            if isinstance(event, Record.Event):
                self._fold(records, stored, (tenant, event.originator_id), event)
            elif isinstance(event, Item.Event):
                self._item(cur, tenant, event)
            elif isinstance(event, SharedRecord.Event):
                self._shared(cur, event)
                touched_shared.add(str(event.originator_id))
        self._write(cur, records)
        if touched_shared:
            showing = self.store.showing(cur, touched_shared)
            self._write(cur, {key: restored(key[1], state) for key, state in showing.items()})

    def _fold(self, records: dict[Key, Record], stored: dict[Key, dict[str, Any]], key: Key,
              event: Record.Event) -> None:
        if isinstance(event, Record.Catalogued):
            records[key] = _folded(event.mutate(None))
            return
        record = records.get(key)
        if record is None:
            state = stored.get(key)
            if state is None:
                return  # cannot happen: a record is catalogued before anything else
            record = restored(key[1], state)
            if state["version"] is None:  # written before versions were kept
                record.version = event.originator_version - 1
        records[key] = _folded(event.mutate(record))

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

    def _shared(self, cur: Cursor[Any], event: SharedRecord.Event) -> None:
        shared_id = event.originator_id
        if isinstance(event, SharedRecord.Contributed):
            row = record_row(str(shared_id), description=event.description,
                             original_format=event.original_format,
                             catalogued_at=event.contributed_at,
                             revised_at=event.contributed_at)
            self.store.add_shared(cur, {**row, "contributor": event.contributor,
                                        "contributed_at": event.contributed_at,
                                        "edited_at": event.contributed_at,
                                        "merged_into": None})
        elif isinstance(event, SharedRecord.Edited):
            found = self.store.shared_state(cur, shared_id)
            if found is None:
                return
            description = {**found[0], **event.changes}
            row = record_row(str(shared_id), description=description,
                             original_format=found[1], catalogued_at=found[2],
                             revised_at=event.edited_at)
            self.store.edit_shared(cur, shared_id, {**row, "edited_at": event.edited_at})
        elif isinstance(event, SharedRecord.MergedInto):
            self.store.merge_shared(cur, shared_id, event.survivor_id, event.merged_at)

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
            row["version"] = record.version
            rows.append((tenant, row))
        self.store.upsert_records(cur, rows)
