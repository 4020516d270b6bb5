"""Acquisition use cases that reach beyond the context: what a suggestion or an order asks
for is checked against the union catalog (an entry must exist; an ISBN the consortium
already has is filed under its entry), a patron is named by barcode and kept as their
pseudonym, and receiving an order catalogues its record when the library has none and adds
its copies as items.

Receiving runs several commands (a record, its items, the order's receipt). Each is checked
before the first is recorded; a retry after a crash in between finds the items already
added under the order's barcodes and their record, and goes on from there."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol
from uuid import UUID

from domain.acquisition.errors import ReceiptInvalidError, WantedEntryNotFoundError
from domain.acquisition.order import Order
from domain.acquisition.price_sharing import PriceSharing
from domain.acquisition.suggestion import Suggestion
from domain.acquisition.wanted import Price, Wanted
from domain.catalog.errors import BarcodeTakenError, ItemNotFoundError
from domain.catalog.item import Item, ItemDetails, Location, check_barcode
from domain.circulation.errors import PatronNotFoundError
from domain.shared.application import Receipt
from tenants.scope import OfficeScope, TenantScope

_YEAR = re.compile(r"[0-9]{4}")


class UnionReads(Protocol):
    """What acquisition asks of the union catalog."""

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        """An entry: title, authors, isbns, year and its member records (tenant, record
        id); None if there is none."""

    def entry_with_isbn(self, isbn: str) -> str | None:
        """The id of the entry holding this ISBN, if the consortium has one."""


@dataclass(frozen=True)
class WantedInput:
    """What a caller asks for, unchecked."""

    entry_id: str | None
    title: str | None
    isbn: str | None
    authors: tuple[str, ...] = ()
    year: str | None = None


def resolve_wanted(reads: UnionReads, given: WantedInput) -> Wanted:
    """The checked title wanted: an entry that exists (its title and ISBN filled in where the
    caller left them out), or the entry an ISBN belongs to, or the title as given."""
    wanted = Wanted.of(entry_id=given.entry_id, title=given.title, isbn=given.isbn,
                       authors=given.authors, year=given.year)
    entry_id = wanted.entry_id
    if entry_id is None and wanted.isbn is not None:
        entry_id = reads.entry_with_isbn(wanted.isbn)
    if entry_id is None:
        return wanted
    entry = reads.entry(entry_id)
    if entry is None:
        raise WantedEntryNotFoundError(f"entryId: no union catalog entry {entry_id!r}; give "
                                      "its title or ISBN if the consortium holds none")
    isbns = [i for i in entry.get("isbns") or [] if len(i) == 13]
    return replace(wanted, entry_id=entry_id, title=wanted.title or entry.get("title"),
                   isbn=wanted.isbn or (isbns[0] if isbns else None),
                   authors=wanted.authors or tuple(entry.get("authors") or ()),
                   year=wanted.year or entry.get("year"))


def suggest_purchase(scope: TenantScope, reads: UnionReads, given: WantedInput, *,
                     patron_barcode: str | None, note: str | None,
                     receipt: Receipt | None = None) -> Suggestion:
    """Records a suggestion; on a patron's behalf only their pseudonym is kept."""
    wanted = resolve_wanted(reads, given)
    pseudonym = None
    if patron_barcode is not None:
        key = scope.vault.by_barcode(patron_barcode.strip())
        if key is None:
            raise PatronNotFoundError("patronBarcode: no patron with this barcode in this "
                                      "library")
        pseudonym = key.pseudonym
    return scope.acquisitions.suggest_purchase(wanted, pseudonym, note, receipt)


def place_order(scope: TenantScope, reads: UnionReads, given: WantedInput, *, copies: int,
                price: tuple[str, str] | None, vendor: str | None,
                suggestion_ids: list[UUID], note: str | None,
                receipt: Receipt | None = None) -> Order:
    """Places an order (what the consortium already has is the caller's warning to show)."""
    checked_price = Price.of(*price) if price is not None else None
    wanted = resolve_wanted(reads, given)
    return scope.acquisitions.place_order(wanted, copies, price=checked_price, vendor=vendor,
                                          suggestion_ids=suggestion_ids, note=note,
                                          receipt=receipt)


def cancel_order(scope: TenantScope, order_id: UUID, reason: str | None,
                 receipt: Receipt | None = None) -> Order:
    """Cancels an open order."""
    return scope.acquisitions.cancel_order(order_id, reason, receipt)


@dataclass(frozen=True)
class Delivery:
    """The copies of an order as they arrived: a barcode each, where they go, and the
    library's record they are copies of (None: the library's record in the order's union
    entry, or a new one catalogued from the order)."""

    barcodes: list[str]
    location: Location
    record_id: UUID | None = None
    material_type: str = "book"


def receive_order(scope: TenantScope, reads: UnionReads, order_id: UUID, delivery: Delivery,
                  receipt: Receipt | None = None) -> Order:
    """Receives an open order: its record (found or catalogued) and one item per copy."""
    order = scope.acquisitions.get_order(order_id)
    barcodes = [check_barcode(b) for b in delivery.barcodes]
    order.check_receipt(barcodes)
    for barcode in barcodes:  # each copy's details, before a record is catalogued for them
        ItemDetails(barcode, order.id, delivery.location,
                    material_type=delivery.material_type).checked()
    added = _items_already_added(scope, order, barcodes)
    record_id = _record_for(scope, reads, order, delivery.record_id, added)
    for barcode in barcodes:
        if barcode not in added:
            scope.catalog.add_item(ItemDetails(barcode, record_id, delivery.location,
                                               material_type=delivery.material_type))
    return scope.acquisitions.receive_order(order_id, record_id, barcodes, receipt)


def _items_already_added(scope: TenantScope, order: Order,
                         barcodes: list[str]) -> dict[str, UUID]:
    """The barcodes an interrupted receipt already added, with their record: items of one
    record, added since the order was placed and unchanged since. Any other item with one
    of the barcodes is another copy of the library's, and the barcode is refused."""
    found: dict[str, Item] = {}
    for barcode in barcodes:
        try:
            found[barcode] = scope.catalog.item_by_barcode(barcode)
        except ItemNotFoundError:
            continue
    if len({i.record_id for i in found.values()}) > 1 or any(
            i.version != 1 or i.added_at < order.placed_at for i in found.values()):
        taken = ", ".join(sorted(found))
        raise BarcodeTakenError(f"barcodes: {taken} already belong to items of this library")
    return {barcode: item.record_id for barcode, item in found.items()}


def _record_for(scope: TenantScope, reads: UnionReads, order: Order, given: UUID | None,
                added: dict[str, UUID]) -> UUID:
    if added:
        record_id = next(iter(added.values()))
        if given is not None and given != record_id:
            raise ReceiptInvalidError(f"recordId: the copies were already added to record "
                                      f"{record_id}")
        return record_id
    if given is not None:
        return scope.catalog.get_record(given).id
    if order.wanted.entry_id is not None:
        entry = reads.entry(order.wanted.entry_id) or {}
        for tenant, record_id in entry.get("records") or []:
            if tenant == scope.slug:
                return UUID(str(record_id))
    return scope.catalog.catalogue_record(_description(order.wanted)).id


def _description(wanted: Wanted) -> dict[str, Any]:
    """A record catalogued from an order: what the order knows of the title."""
    description: dict[str, Any] = {"title": wanted.title or f"ISBN {wanted.isbn}"}
    if wanted.isbn:
        description["isbns"] = [wanted.isbn]
    if wanted.authors:
        description["authors"] = [{"name": name, "role": "main" if i == 0 else "added",
                                    "tag": "100" if i == 0 else "700"}
                                   for i, name in enumerate(wanted.authors)]
    if wanted.year and _YEAR.fullmatch(wanted.year):
        description["year"] = wanted.year
    return description


def set_price_sharing(office: OfficeScope, enabled: bool,
                      receipt: Receipt | None = None) -> PriceSharing:
    """The office lets members see each other's order prices, or stops it."""
    return office.acquisitions.set_price_sharing(enabled, receipt)
