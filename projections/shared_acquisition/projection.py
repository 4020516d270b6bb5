"""The shared acquisition projection: members' suggestions and orders, the office's
price-sharing setting, and the demand each member record sees (holds waiting, loans by
date), from acquisition's and circulation's events. No patron is named in any row."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.acquisition.order import CANCELLED, OPEN, RECEIVED, Order
from domain.acquisition.price_sharing import PriceSharing
from domain.acquisition.suggestion import Suggestion
from domain.acquisition.wanted import Wanted, wanted_key
from domain.circulation.holds import HoldQueue
from domain.circulation.lending import Lending
from projections.framework import Delivery, Projection, Source, on
from projections.shared_acquisition.postgres import NAME, TABLES, SharedAcquisitionTables

OFFICE = "office"
PRICE_SHARING = "price_sharing"


class SharedAcquisition(Projection):
    """Suggestions, orders and demand of every member; the office's sharing setting."""

    name = NAME
    tables = TABLES
    # rows per suggestion, order, hold and loan: a parked event spoils one row at most
    skip_poison = True

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = SharedAcquisitionTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        """Members' events, and the office's setting only from the office's log."""
        office_event = isinstance(delivery.event, (PriceSharing.Started, PriceSharing.Changed))
        return (delivery.tenant == OFFICE) == office_event and super().accepts(delivery)

    @on(Suggestion.Suggested)
    def _suggested(self, cur: Cursor[Any], event: Suggestion.Suggested,
                   source: Source) -> None:
        self.store.add_suggestion(cur, source.tenant, event.originator_id,
                                  wanted_key=wanted_key(Wanted.from_fields(event.wanted)),
                                  wanted=event.wanted, for_patron=event.for_patron is not None,
                                  suggested_at=event.suggested_at)

    @on(Order.Placed)
    def _placed(self, cur: Cursor[Any], event: Order.Placed, source: Source) -> None:
        self.store.add_order(cur, source.tenant, event.originator_id,
                             wanted_key(Wanted.from_fields(event.wanted)), event.wanted,
                             copies=event.copies, price_amount=event.price_amount,
                             price_currency=event.price_currency, vendor=event.vendor,
                             status=OPEN, placed_at=event.placed_at)

    @on(Order.Cancelled)
    def _cancelled(self, cur: Cursor[Any], event: Order.Cancelled, source: Source) -> None:
        self.store.set_order_status(cur, source.tenant, event.originator_id,
                                    status=CANCELLED, at=event.cancelled_at)

    @on(Order.Received)
    def _received(self, cur: Cursor[Any], event: Order.Received, source: Source) -> None:
        self.store.set_order_status(cur, source.tenant, event.originator_id,
                                    status=RECEIVED, at=event.received_at,
                                    record_id=event.record_id)

    @on(PriceSharing.Started)
    def _sharing_started(self, cur: Cursor[Any], _event: PriceSharing.Started,
                         _source: Source) -> None:
        self.store.set_setting(cur, PRICE_SHARING, False)

    @on(PriceSharing.Changed)
    def _sharing_changed(self, cur: Cursor[Any], event: PriceSharing.Changed,
                         _source: Source) -> None:
        self.store.set_setting(cur, PRICE_SHARING, event.enabled)

    @on(HoldQueue.HoldPlaced)
    def _hold_placed(self, cur: Cursor[Any], event: HoldQueue.HoldPlaced,
                     source: Source) -> None:
        self.store.place_hold(cur, source.tenant, event.hold_id, event.record_id)

    @on(HoldQueue.HoldReturned)
    def _hold_returned(self, cur: Cursor[Any], event: HoldQueue.HoldReturned,
                       source: Source) -> None:
        self.store.set_waiting(cur, source.tenant, event.hold_id, True)

    @on(HoldQueue.HoldFilled, HoldQueue.HoldCancelled)
    def _hold_ended(self, cur: Cursor[Any], event: HoldQueue.HoldFilled |
                    HoldQueue.HoldCancelled, source: Source) -> None:
        self.store.set_waiting(cur, source.tenant, event.hold_id, False)

    @on(Lending.CheckedOut)
    def _checked_out(self, cur: Cursor[Any], event: Lending.CheckedOut,
                     source: Source) -> None:
        self.store.add_loan(cur, source.tenant, event.loan_id, event.record_id,
                            event.checked_out_at)
