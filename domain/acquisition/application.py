"""Acquisition's use cases on one store: a library's suggestions and orders, or the office's
price-sharing setting. Everything is checked before anything is recorded; whether a union
entry exists is the caller's to check (the union catalog is a read model, not this store)."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.acquisition.errors import OrderNotFoundError, SuggestionNotFoundError
from domain.acquisition.order import Order
from domain.acquisition.price_sharing import PriceSharing
from domain.acquisition.suggestion import Suggestion
from domain.acquisition.wanted import Price, Wanted, check_note
from domain.shared.application import ContextApplication, Receipt

A = TypeVar("A", bound=Aggregate)


class Acquisitions(ContextApplication):
    """A library's purchase suggestions and orders (or the office's sharing setting)."""

    def _get(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            found: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def suggest_purchase(self, wanted: Wanted, for_patron: UUID | None, note: str | None,
                         receipt: Receipt | None = None) -> Suggestion:
        """Records a suggestion (a patron's pseudonym only, when on their behalf)."""
        suggestion = Suggestion.suggest(wanted, for_patron, check_note(note), self.clock())
        return self._saved(receipt, suggestion, suggestion)

    def get_suggestion(self, suggestion_id: UUID) -> Suggestion:
        """The library's suggestion with this id."""
        found = self._get(Suggestion, suggestion_id)
        if found is None:
            raise SuggestionNotFoundError(f"no purchase suggestion {suggestion_id} in this "
                                          "library")
        return found

    def place_order(self, wanted: Wanted, copies: int, *, price: Price | None,
                    vendor: str | None, suggestion_ids: list[UUID], note: str | None,
                    receipt: Receipt | None = None) -> Order:
        """Places an order; the suggestions it answers must be the library's own."""
        for suggestion_id in suggestion_ids:
            self.get_suggestion(suggestion_id)
        order = Order.place(wanted, copies, price=price, vendor=check_note(vendor, "vendor"),
                            suggestion_ids=suggestion_ids, note=check_note(note),
                            at=self.clock())
        return self._saved(receipt, order, order)

    def get_order(self, order_id: UUID) -> Order:
        """The library's order with this id."""
        found = self._get(Order, order_id)
        if found is None:
            raise OrderNotFoundError(f"no order {order_id} in this library")
        return found

    def cancel_order(self, order_id: UUID, reason: str | None,
                     receipt: Receipt | None = None) -> Order:
        """Cancels an open order (cancelling it again changes nothing)."""
        order = self.get_order(order_id)
        if order.cancel(check_note(reason, "reason"), self.clock()):
            self._saved(receipt, order, order)
        return order

    def receive_order(self, order_id: UUID, record_id: UUID, barcodes: list[str],
                      receipt: Receipt | None = None) -> Order:
        """Marks an open order received as these items of this record."""
        order = self.get_order(order_id)
        order.receive(record_id, barcodes, self.clock())
        return self._saved(receipt, order, order)

    def price_sharing(self) -> PriceSharing | None:
        """The office's price-sharing setting, if it was ever set."""
        return self._get(PriceSharing, PriceSharing.create_id())

    def set_price_sharing(self, enabled: bool, receipt: Receipt | None = None) -> PriceSharing:
        """Turns on or off whether members see each other's order prices."""
        setting = self.price_sharing()
        pending = []
        if setting is None:
            setting = PriceSharing(started_at=self.clock())
            pending.append(setting)
        if setting.set(enabled, self.clock()) and setting not in pending:
            pending.append(setting)
        if pending:
            self._saved(receipt, setting, *pending)
        return setting
