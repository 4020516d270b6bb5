"""The catalog's use cases: records catalogued, edited and imported; items added, moved,
withdrawn. No I/O but the tenant's event store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.catalog.errors import (
    BarcodeTakenError,
    CatalogError,
    EpcTakenError,
    ItemNotFoundError,
    RecordFieldInvalidError,
    RecordLinkedError,
    RecordNotFoundError,
)
from domain.catalog.item import EpcTag, Item, ItemDetails, Location, check_barcode, check_epc
from domain.catalog.record import Record
from domain.shared.application import ContextApplication, Receipt
from domain.shared.description import (
    Description,
    check_description,
    describe,
    identity_of,
)
from domain.shared.loading import load_many

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"



@dataclass(frozen=True)
class ImportEntry:
    """One record read from a file: its description, original and the items it lists."""

    description: Description
    original_format: str | None
    original: str | None
    items: list[ItemDetails] = field(default_factory=list)  # record_id is filled in here


class ItemProblem(NamedTuple):
    """An item of an imported record that was not added (or not changed), and why: `item`
    is its index in the entry's items."""

    item: int
    reason: str


@dataclass
class ImportOutcome:
    """What importing one record did."""

    status: str
    record_id: UUID
    items_added: int = 0
    item_problems: list[ItemProblem] = field(default_factory=list)


class Catalog(ContextApplication):
    """One tenant's catalog."""

    def catalogue_record(self, description: Description,
                         receipt: Receipt | None = None) -> Record:
        """Catalogues a record entered by hand (a title at least)."""
        checked = check_description(dict(description))
        identity = (identity_of(checked) if checked.get("control_number")
                    else f"local:{uuid.uuid4()}")
        record = Record(identity=identity, description=_complete(checked),
                        original_format=None, original=None, catalogued_at=self.clock())
        try:
            self._saved(receipt, record, record)
        except IntegrityError:
            raise RecordFieldInvalidError(
                f"control_number: the tenant already has a record {identity!r}") from None
        return record

    def revise_record(self, record_id: UUID, changes: Description,
                      receipt: Receipt | None = None) -> Record:
        """Edits a record: only the fields given change."""
        record = self.get_record(record_id)
        if record.shared_record_id is not None:
            raise RecordLinkedError(
                f"record {record_id} shows shared record {record.shared_record_id}: edit the "
                "shared record, or unlink this one to edit a local copy")
        checked = check_description({"title": record.description.get("title"), **changes})
        if record.revise({k: checked[k] for k in changes}, None, None, self.clock()):
            self._saved(receipt, record, record)
        return record

    def get_record(self, record_id: UUID) -> Record:
        """The record with this id."""
        try:
            record: Record = self.repository.get(record_id)
        except AggregateNotFoundError:
            raise RecordNotFoundError(f"no record {record_id} in this library") from None
        if not isinstance(record, Record):
            raise RecordNotFoundError(f"no record {record_id} in this library")
        return record

    def link_to_shared(self, record_id: UUID, shared_record_id: UUID,
                       receipt: Receipt | None = None) -> Record:
        """A record of ours shows a shared record's metadata from now on."""
        record = self.get_record(record_id)
        if record.link(shared_record_id, self.clock()):
            self._saved(receipt, record, record)
        return record

    def use_shared_record(self, shared_record_id: UUID,
                          receipt: Receipt | None = None) -> Record:
        """A holding of ours for a shared record, without a copy of its metadata (the same
        holding again if we already have one)."""
        record_id = Record.create_id(f"shared:{shared_record_id}")
        existing = self._get_or_none(record_id)
        if isinstance(existing, Record):
            return self.link_to_shared(record_id, shared_record_id, receipt)
        record = Record(identity=f"shared:{shared_record_id}", description=describe([]),
                        original_format=None, original=None, catalogued_at=self.clock())
        record.link(shared_record_id, self.clock())
        return self._saved(receipt, record, record)

    def unlink_from_shared(self, record_id: UUID, description: Description,
                           receipt: Receipt | None = None) -> Record:
        """Stops following the shared record, keeping its metadata as our own copy."""
        record = self.get_record(record_id)
        record.unlink(description, self.clock())
        return self._saved(receipt, record, record)

    def add_item(self, details: ItemDetails, receipt: Receipt | None = None) -> Item:
        """Adds a copy of an existing record; barcode and EPC must be the tenant's only."""
        checked = details.checked()
        self.get_record(checked.record_id)
        now = self.clock()
        item = Item.add(checked, now)
        pending: list[Aggregate] = [item]
        if item.epc is not None:
            pending.append(self._epc_claimed(item.epc, item.id, now))
        try:
            self._saved(receipt, item, *pending)
        except IntegrityError:
            self._raise_taken(checked)
            raise
        return item

    def _raise_taken(self, details: ItemDetails) -> None:
        if self._get_or_none(Item.create_id(details.barcode)) is not None:
            raise BarcodeTakenError(f"barcode {details.barcode!r} already belongs to an item "
                                    "of this library")
        tag = self._get_or_none(EpcTag.create_id(details.epc)) if details.epc else None
        if isinstance(tag, EpcTag) and tag.item_id is not None:
            raise self._epc_taken(tag.epc, tag.item_id)

    def _epc_taken(self, epc: str, holder_id: UUID | None) -> EpcTakenError:
        """EPC_TAKEN naming the item that holds the tag, so the library can find it."""
        holder = self._get_or_none(holder_id) if holder_id is not None else None
        if isinstance(holder, Item):
            return EpcTakenError(f"epc {epc!r} is already on item {holder.barcode!r} of this "
                                 "library; move the tag off it first (assignEpc with another "
                                 "EPC)")
        return EpcTakenError(f"epc {epc!r} is already on an item of this library")

    def _epc_claimed(self, epc: str, item_id: UUID, at: datetime) -> EpcTag:
        """The EPC's tag claimed for the item: a new one, or one a retagged item released
        (EpcTakenError, naming the item, while another item holds it)."""
        tag = self._get_or_none(EpcTag.create_id(epc))
        if not isinstance(tag, EpcTag):
            return EpcTag(epc=epc, item_id=item_id)
        if tag.item_id not in (None, item_id):
            raise self._epc_taken(epc, tag.item_id)
        tag.claim(item_id, at)
        return tag

    def item_by_barcode(self, barcode: str) -> Item:
        """The item with this barcode."""
        try:
            item: Item = self.repository.get(Item.create_id(check_barcode(barcode)))
        except AggregateNotFoundError:
            raise ItemNotFoundError(f"no item with barcode {barcode!r} in this library") from None
        return item

    def item_by_epc(self, epc: str) -> Item:
        """The item carrying this RFID EPC."""
        cleaned = check_epc(epc) or ""
        tag = self._get_or_none(EpcTag.create_id(cleaned))
        if not isinstance(tag, EpcTag) or tag.item_id is None:
            raise ItemNotFoundError(f"no item with epc {epc!r} in this library")
        found: Item = self.repository.get(tag.item_id)
        return found

    def move_item(self, barcode: str, location: Location,
                  receipt: Receipt | None = None) -> Item:
        """Gives an item a new branch, collection or shelf."""
        item = self.item_by_barcode(barcode)
        if item.move(location, self.clock()):
            self._saved(receipt, item, item)
        return item

    def assign_epc(self, barcode: str, epc: str, receipt: Receipt | None = None) -> Item:
        """Tags an item: its EPC must be no other item's in the library. A new tag replaces
        the old one, whose EPC is released for another item."""
        item = self.item_by_barcode(barcode)
        cleaned = check_epc(epc) or ""
        previous, now = item.epc, self.clock()
        if not item.assign_epc(cleaned, now):
            return item
        claimed_id = EpcTag.create_id(cleaned)
        released_id = EpcTag.create_id(previous) if previous else None
        found = self.load_many([claimed_id, *([released_id] if released_id else [])])
        tag = found.get(claimed_id)
        if isinstance(tag, EpcTag):
            if tag.item_id not in (None, item.id):
                raise self._epc_taken(cleaned, tag.item_id)
            tag.claim(item.id, now)
        else:
            tag = EpcTag(epc=cleaned, item_id=item.id)
        pending: list[Aggregate] = [item, tag]
        old = found.get(released_id) if released_id else None
        if isinstance(old, EpcTag) and old.item_id == item.id:
            old.release(now)
            pending.append(old)
        try:
            self._saved(receipt, item, *pending)
        except IntegrityError:  # another desk tagged an item with it meanwhile
            raced = self._get_or_none(claimed_id)
            raise self._epc_taken(cleaned, raced.item_id if isinstance(raced, EpcTag)
                                  else None) from None
        return item

    def withdraw_item(self, barcode: str, reason: str,
                      receipt: Receipt | None = None) -> Item:
        """Withdraws an item for good."""
        item = self.item_by_barcode(barcode)
        item.withdraw(reason, self.clock())
        return self._saved(receipt, item, item)

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
        """The aggregates that exist among these ids, read in one query when the store can."""
        return load_many(self, aggregate_ids)

    def _get_or_none(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found

    def import_records(self, entries: list[ImportEntry]) -> list[ImportOutcome]:
        """Imports a batch in one atomic write: new records catalogued, changed ones revised
        with only what changed, the same ones left alone; their items added."""
        batch = _ImportBatch(self, entries)
        outcomes = [batch.take(entry) for entry in entries]
        try:
            self.save(*batch.pending.values())
        except IntegrityError:
            # Someone else wrote one of these meanwhile: take each record on its own.
            if len(entries) == 1:
                raise
            return [o for entry in entries for o in self.import_records([entry])]
        return outcomes


def _complete(description: Description) -> Description:
    completed: dict[str, Any] = describe([])  # every key, empty
    completed.update(description)
    return completed


def _ids_touched(entries: list[ImportEntry]) -> list[UUID]:
    """Every aggregate an import batch may read: its records, items and EPC tags."""
    ids = {Record.create_id(identity_of(e.description)) for e in entries}
    for entry in entries:
        for details in entry.items:
            barcode, epc = details.barcode.strip(), (details.epc or "").strip().upper()
            ids.add(Item.create_id(barcode))
            if epc:
                ids.add(EpcTag.create_id(epc))
    return sorted(ids)


class _ImportBatch:
    """The aggregates one import batch will save, so a record or barcode seen twice in the
    batch is found in it rather than in the store."""

    def __init__(self, catalog: Catalog, entries: list[ImportEntry]) -> None:
        self.catalog = catalog
        self.pending: dict[UUID, Aggregate] = {}
        self.now = catalog.clock()
        self.stored = catalog.load_many(_ids_touched(entries))

    def _get(self, aggregate_id: UUID) -> Aggregate | None:
        return self.pending.get(aggregate_id) or self.stored.get(aggregate_id)

    def take(self, entry: ImportEntry) -> ImportOutcome:
        identity = identity_of(entry.description)
        record_id = Record.create_id(identity)
        record = self._get(record_id)
        if record is None:
            record = Record(identity=identity, description=entry.description,
                            original_format=entry.original_format, original=entry.original,
                            catalogued_at=self.now)
            self.pending[record_id] = record
            outcome = ImportOutcome(CREATED, record_id)
        elif not isinstance(record, Record):
            raise CatalogError(f"id {record_id} is not a record")  # cannot happen: uuid5
        elif record.revise(entry.description, entry.original_format, entry.original, self.now):
            self.pending[record_id] = record
            outcome = ImportOutcome(UPDATED, record_id)
        else:
            outcome = ImportOutcome(UNCHANGED, record_id)
        for index, details in enumerate(entry.items):
            problem = self._take_item(replace(details, record_id=record_id), outcome)
            if problem is not None:
                outcome.item_problems.append(ItemProblem(index, problem))
        return outcome

    def _take_item(self, details: ItemDetails, outcome: ImportOutcome) -> str | None:
        """Adds or moves the item; why it could not, if it could not."""
        try:
            checked = details.checked()
        except CatalogError as error:
            return str(error)
        item_id = Item.create_id(checked.barcode)
        existing = self._get(item_id)
        if isinstance(existing, Item):
            if existing.record_id != checked.record_id:
                return (f"barcode {checked.barcode!r} already belongs to another record's "
                        "item; item skipped")
            if existing.move(checked.location, self.now):
                self.pending[item_id] = existing
                if outcome.status == UNCHANGED:
                    outcome.status = UPDATED
            return None
        tag = self._get(EpcTag.create_id(checked.epc)) if checked.epc is not None else None
        if isinstance(tag, EpcTag) and tag.item_id is not None:
            return (f"epc {checked.epc!r} is already on another item; item {checked.barcode!r} "
                    "skipped")
        item = Item.add(checked, self.now)
        self.pending[item_id] = item
        if checked.epc is not None:
            if isinstance(tag, EpcTag):
                tag.claim(item_id, self.now)  # released by a retagged item
            else:
                tag = EpcTag(epc=checked.epc, item_id=item_id)
            self.pending[tag.id] = tag
        outcome.items_added += 1
        if outcome.status == UNCHANGED:
            outcome.status = UPDATED
        return None
