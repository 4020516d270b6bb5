"""The shared acquisition projection: members' suggestions and orders and the office's
price-sharing setting, from acquisition's events. No patron is named in any row; a
suggestion keeps only whether a patron asked."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.acquisition.order import CANCELLED, OPEN, RECEIVED, Order
from domain.acquisition.price_sharing import PriceSharing
from domain.acquisition.suggestion import Suggestion
from domain.acquisition.wanted import Wanted, wanted_key
from domain.lending.outgoing import OutgoingRequest
from domain.lending.status import LOANED
from projections.framework import Delivery, Projection, Source, on
from projections.shared_acquisition.postgres import NAME, TABLES, SharedAcquisitionTables

OFFICE = "office"
PRICE_SHARING = "price_sharing"


class SharedAcquisition(Projection):
    """Suggestions and orders of every member; the office's sharing setting."""

    name = NAME
    tables = TABLES
    # rows per suggestion and order: a parked event spoils one row at most
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

    # Interlibrary requests: demand for a title, counted under a member record of its union
    # catalog entry (the requester may hold none), and whether it went unfilled.

    @on(OutgoingRequest.Requested)
    def _ill_requested(self, cur: Cursor[Any], event: OutgoingRequest.Requested,
                       source: Source) -> None:  # noqa: ARG002 (rows are the record's member's)
        member, _, record = (event.entry_record or "").partition(":")
        try:
            record_id = UUID(record)
        except ValueError:
            return  # an entry without member records: nothing to count it under
        self.store.add_interlibrary(cur, member, event.originator_id, record_id,
                                    event.requested_at)

    @on(OutgoingRequest.StatusApplied)
    def _ill_status(self, cur: Cursor[Any], event: OutgoingRequest.StatusApplied,
                    source: Source) -> None:  # noqa: ARG002 (the request id is unique)
        if event.status == LOANED and not event.late:
            self.store.fill_interlibrary(cur, event.originator_id, filled=True)

    @on(OutgoingRequest.Exhausted)
    def _ill_unfilled(self, cur: Cursor[Any], event: OutgoingRequest.Exhausted,
                      source: Source) -> None:  # noqa: ARG002 (the request id is unique)
        self.store.fill_interlibrary(cur, event.originator_id, filled=False)
