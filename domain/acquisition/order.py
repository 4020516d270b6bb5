"""A purchase order: copies of a title ordered from a vendor. Open until it is received
(its copies become items) or cancelled; neither can be undone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.acquisition.errors import (
    CopiesInvalidError,
    OrderCancelledError,
    OrderReceivedError,
    ReceiptInvalidError,
)
from domain.acquisition.wanted import Price, Wanted

OPEN, CANCELLED, RECEIVED = "open", "cancelled", "received"
MAX_COPIES = 1000  # more in one order is a typing slip, not a purchase


def check_copies(copies: int) -> int:
    """An order's copies: a whole number from 1 to MAX_COPIES."""
    if isinstance(copies, bool) or not isinstance(copies, int):
        raise CopiesInvalidError(f"copies: {copies!r} is not a whole number")
    if copies < 1:
        raise CopiesInvalidError(f"copies: {copies} — an order is for one copy or more")
    if copies > MAX_COPIES:
        raise CopiesInvalidError(f"copies: {copies} is more than one order takes "
                                 f"(at most {MAX_COPIES})")
    return copies


class Order(Aggregate):
    """Copies of one title on order for the library."""

    class Placed(Aggregate.Created):
        wanted: dict[str, Any]
        copies: int
        price_amount: str | None
        price_currency: str | None
        vendor: str | None
        suggestion_ids: list[UUID]
        note: str | None
        placed_at: datetime

    class Cancelled(Aggregate.Event):
        reason: str | None
        cancelled_at: datetime

    class Received(Aggregate.Event):
        record_id: UUID
        barcodes: list[str]
        received_at: datetime

    @event(Placed)
    def __init__(self, *, wanted: dict[str, Any], copies: int, price_amount: str | None,
                 price_currency: str | None, vendor: str | None, suggestion_ids: list[UUID],
                 note: str | None, placed_at: datetime) -> None:
        self.wanted = Wanted.from_fields(wanted)
        self.copies = copies
        self.price = (Price(price_amount, price_currency)
                      if price_amount is not None and price_currency is not None else None)
        self.vendor = vendor
        self.suggestion_ids = list(suggestion_ids)
        self.note = note
        self.placed_at = placed_at
        self.status = OPEN
        self.changed_at = placed_at
        self.record_id: UUID | None = None
        self.barcodes: list[str] = []

    @classmethod
    def place(cls, wanted: Wanted, copies: int, *, price: Price | None, vendor: str | None,
              suggestion_ids: list[UUID], note: str | None, at: datetime) -> Order:
        """A new open order (copies checked here; the rest by their value objects)."""
        return cls(wanted=wanted.as_fields(), copies=check_copies(copies),
                   price_amount=price.amount if price else None,
                   price_currency=price.currency if price else None, vendor=vendor,
                   suggestion_ids=list(suggestion_ids), note=note, placed_at=at)

    def check_open(self) -> None:
        """Refuses a change to an order that is no longer open."""
        if self.status == CANCELLED:
            raise OrderCancelledError(f"order {self.id} was cancelled: it cannot be received "
                                      "or changed; place a new order")
        if self.status == RECEIVED:
            raise OrderReceivedError(f"order {self.id} was received on "
                                     f"{self.changed_at.date().isoformat()}: it cannot be "
                                     "cancelled or received again")

    def cancel(self, reason: str | None, at: datetime) -> bool:
        """Cancels an open order; False if it was already cancelled (nothing changes)."""
        if self.status == CANCELLED:
            return False
        self.check_open()
        self._cancelled(reason, at)
        return True

    @event(Cancelled)
    def _cancelled(self, reason: str | None, cancelled_at: datetime) -> None:
        self.status = CANCELLED
        self.cancel_reason = reason
        self.changed_at = cancelled_at

    def check_receipt(self, barcodes: list[str]) -> None:
        """An open order receives exactly its copies, each under its own barcode."""
        self.check_open()
        if len(barcodes) != self.copies:
            raise ReceiptInvalidError(f"barcodes: order {self.id} is for {self.copies} "
                                      f"copies; give one barcode each, not {len(barcodes)}")
        if len(set(barcodes)) != len(barcodes):
            raise ReceiptInvalidError("barcodes: each copy needs a barcode of its own")

    def receive(self, record_id: UUID, barcodes: list[str], at: datetime) -> None:
        """The copies arrived: they are the record's items under these barcodes."""
        self.check_receipt(barcodes)
        self._received(record_id, list(barcodes), at)

    @event(Received)
    def _received(self, record_id: UUID, barcodes: list[str], received_at: datetime) -> None:
        self.status = RECEIVED
        self.record_id = record_id
        self.barcodes = list(barcodes)
        self.changed_at = received_at
