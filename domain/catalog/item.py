"""The item: one physical copy, with its barcode, RFID tag, call number and place."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.catalog.errors import EpcTakenError, ItemFieldInvalidError, ItemWithdrawnError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:item")
_EPC_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:epc")
BARCODE_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
EPC_RULE = re.compile(r"^(?:[0-9A-F]{2}){2,32}$")

AVAILABLE, CHECKED_OUT, ON_HOLD_SHELF, IN_TRANSIT = (
    "available", "checked_out", "on_hold_shelf", "in_transit")
MISSING, LOST, WITHDRAWN = "missing", "lost", "withdrawn"
STATUSES = (AVAILABLE, CHECKED_OUT, ON_HOLD_SHELF, IN_TRANSIT, MISSING, LOST, WITHDRAWN)
CALL_NUMBER_SCHEMES = ("lc", "dewey", "clc", "local")


def check_barcode(barcode: str) -> str:
    """Barcodes are 1-64 letters, digits and . _ / -, starting with a letter or digit."""
    cleaned = barcode.strip()
    if not BARCODE_RULE.match(cleaned):
        raise ItemFieldInvalidError(
            f"barcode {barcode!r} is invalid: use 1-64 letters, digits, '.', '_', '/' or '-'")
    return cleaned


def check_epc(epc: str | None) -> str | None:
    """An RFID EPC is hexadecimal (4-64 digits, whole bytes); kept in upper case."""
    if epc is None or not epc.strip():
        return None
    cleaned = epc.strip().upper()
    if not EPC_RULE.match(cleaned):
        raise ItemFieldInvalidError(
            f"epc {epc!r} is not hexadecimal: give 4-64 hex digits (whole bytes), "
            "e.g. 'E28011606000020812345678'")
    return cleaned


@dataclass(frozen=True)
class Location:
    """Where an item belongs: branch, collection and shelf."""

    branch: str
    collection: str | None = None
    shelf: str | None = None

    def __post_init__(self) -> None:
        if not self.branch or not self.branch.strip():
            raise ItemFieldInvalidError("location.branch: an item belongs to a branch")


@dataclass(frozen=True)
class ItemDetails:
    """What describes a copy when it is added."""

    barcode: str
    record_id: UUID
    location: Location
    epc: str | None = None
    call_number: str | None = None
    call_number_scheme: str | None = None
    material_type: str = "book"

    def checked(self) -> ItemDetails:
        """The details with barcode and EPC normalized, or the first field that is wrong."""
        scheme = self.call_number_scheme
        if scheme is not None and scheme not in CALL_NUMBER_SCHEMES:
            raise ItemFieldInvalidError(
                f"call_number_scheme {scheme!r} is not one of {list(CALL_NUMBER_SCHEMES)}")
        if not self.material_type.strip():
            raise ItemFieldInvalidError("material_type: give one, e.g. 'book'")
        return ItemDetails(check_barcode(self.barcode), self.record_id, self.location,
                           check_epc(self.epc), (self.call_number or "").strip() or None,
                           scheme, self.material_type.strip())


class Item(Aggregate):
    """A copy of a record in a tenant; its id follows from its barcode (unique per tenant)."""

    class Added(Aggregate.Created):
        barcode: str
        record_id: UUID
        epc: str | None
        call_number: str | None
        call_number_scheme: str | None
        branch: str
        collection: str | None
        shelf: str | None
        material_type: str
        added_at: datetime

    class Moved(Aggregate.Event):
        branch: str
        collection: str | None
        shelf: str | None
        moved_at: datetime

    class Withdrawn(Aggregate.Event):
        reason: str
        withdrawn_at: datetime

    class EpcAssigned(Aggregate.Event):
        epc: str
        assigned_at: datetime

    @staticmethod
    @functools.lru_cache(maxsize=8192)  # an import asks for the same ids several times
    def create_id(barcode: str) -> UUID:
        """A barcode names one item of the tenant for good."""
        return uuid5(_NAMESPACE, barcode)

    @classmethod
    def add(cls, details: ItemDetails, at: datetime) -> Item:
        """A new copy, available on its shelf."""
        d = details.checked()
        return cls(barcode=d.barcode, record_id=d.record_id, epc=d.epc,
                   call_number=d.call_number, call_number_scheme=d.call_number_scheme,
                   branch=d.location.branch, collection=d.location.collection,
                   shelf=d.location.shelf, material_type=d.material_type, added_at=at)

    @event(Added)
    def __init__(self, *, barcode: str, record_id: UUID, epc: str | None,
                 call_number: str | None, call_number_scheme: str | None, branch: str,
                 collection: str | None, shelf: str | None, material_type: str,
                 added_at: datetime) -> None:
        self.barcode = barcode
        self.record_id = record_id
        self.epc = epc
        self.call_number = call_number
        self.call_number_scheme = call_number_scheme
        self.location = Location(branch, collection, shelf)
        self.material_type = material_type
        self.status = AVAILABLE
        self.added_at = added_at
        self.changed_at = added_at
        self.withdrawal_reason: str | None = None

    def move(self, location: Location, at: datetime) -> bool:
        """Gives the item a new home; False if it is already there."""
        if self.status == WITHDRAWN:
            raise ItemWithdrawnError(f"item {self.barcode} was withdrawn; it cannot be moved")
        if location == self.location:
            return False
        self._moved(location.branch, location.collection, location.shelf, at)
        return True

    @event(Moved)
    def _moved(self, branch: str, collection: str | None, shelf: str | None,
               moved_at: datetime) -> None:
        self.location = Location(branch, collection, shelf)
        self.changed_at = moved_at

    def assign_epc(self, epc: str, at: datetime) -> bool:
        """Gives the item an RFID tag's EPC (a new tag replaces the old); False if it has
        this one already."""
        if self.status == WITHDRAWN:
            raise ItemWithdrawnError(f"item {self.barcode} was withdrawn; it gets no tag")
        cleaned = check_epc(epc)
        if cleaned is None:
            raise ItemFieldInvalidError("epc: give the tag's EPC")
        if cleaned == self.epc:
            return False
        self._epc_assigned(cleaned, at)
        return True

    @event(EpcAssigned)
    def _epc_assigned(self, epc: str, assigned_at: datetime) -> None:
        self.epc = epc
        self.changed_at = assigned_at

    def withdraw(self, reason: str, at: datetime) -> None:
        """Takes the copy out of the collection for good (its barcode is not reused)."""
        if self.status == WITHDRAWN:
            raise ItemWithdrawnError(f"item {self.barcode} was already withdrawn")
        self._withdrawn(reason.strip() or "withdrawn", at)

    @event(Withdrawn)
    def _withdrawn(self, reason: str, withdrawn_at: datetime) -> None:
        self.status = WITHDRAWN
        self.withdrawal_reason = reason
        self.changed_at = withdrawn_at


class EpcTag(Aggregate):
    """An RFID EPC claimed by one item of the tenant: saved with the item, so a second
    item with the same EPC fails the same atomic write. A retagged item releases its old
    EPC, which another item may then claim."""

    class Claimed(Aggregate.Created):
        epc: str
        item_id: UUID

    class Released(Aggregate.Event):
        item_id: UUID
        released_at: datetime

    class Reclaimed(Aggregate.Event):
        item_id: UUID
        claimed_at: datetime

    @staticmethod
    @functools.lru_cache(maxsize=8192)
    def create_id(epc: str) -> UUID:
        """One aggregate per EPC per tenant."""
        return uuid5(_EPC_NAMESPACE, epc)

    @event(Claimed)
    def __init__(self, epc: str, item_id: UUID) -> None:
        self.epc = epc
        self.item_id: UUID | None = item_id  # None once released

    def claim(self, item_id: UUID, at: datetime) -> None:
        """Claims the EPC for an item; refused while another item holds it."""
        if self.item_id == item_id:
            return
        if self.item_id is not None:
            raise EpcTakenError(f"epc {self.epc!r} is already on an item of this library")
        self._reclaimed(item_id, at)

    def release(self, at: datetime) -> None:
        """The item no longer carries this EPC."""
        if self.item_id is not None:
            self._released(self.item_id, at)

    @event(Released)
    def _released(self, item_id: UUID, released_at: datetime) -> None:
        self.item_id = None

    @event(Reclaimed)
    def _reclaimed(self, item_id: UUID, claimed_at: datetime) -> None:
        self.item_id = item_id
