"""The circulation projection: each item's lending state, loans and holds, under patrons'
pseudonyms (never their names); a forgotten pseudonym is dropped from every row."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.circulation.holds import HoldQueue
from domain.circulation.item_lending import (
    AVAILABLE,
    CHECKED_OUT,
    IN_TRANSIT,
    LOST,
    ON_HOLD_SHELF,
    ItemLending,
)
from domain.circulation.patron import Borrower
from projections.circulation.postgres import (
    CANCELLED,
    COLLECTED,
    EXPIRED,
    NAME,
    ON_SHELF,
    TABLES,
    WAITING,
    CirculationTables,
)
from projections.framework import Projection, Source, on


class Circulation(Projection):
    """Lending states, loans and holds of every tenant."""

    name = NAME
    tables = TABLES
    # Not safe: lendings, loans and holds chain (a missed check-out or hold would mislead the
    # desk about every later one), so a tenant waits behind a parked event until resolved.
    skip_poison = False

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = CirculationTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    @on(ItemLending.Started)
    def _started(self, cur: Cursor[Any], event: ItemLending.Started, source: Source) -> None:
        self.store.start_lending(cur, source.tenant, event.originator_id,
                                 item_id=event.item_id, barcode=event.item_barcode,
                                 record_id=event.record_id, status=AVAILABLE)

    @on(ItemLending.CheckedOut)
    def _checked_out(self, cur: Cursor[Any], event: ItemLending.CheckedOut, source: Source) -> None:
        self.store.check_out(cur, source.tenant, loan_id=event.loan_id, item_id=event.item_id,
                             item_barcode=event.item_barcode, record_id=event.record_id,
                             borrower=event.borrower, patron_group=event.patron_group,
                             material_type=event.material_type,
                             checked_out_at=event.checked_out_at, due_at=event.due_at,
                             status=CHECKED_OUT, collected=COLLECTED, on_shelf=ON_SHELF)

    @on(ItemLending.Renewed)
    def _renewed(self, cur: Cursor[Any], event: ItemLending.Renewed, source: Source) -> None:
        self.store.renew(cur, source.tenant, event.loan_id, event.due_at, event.renewals)

    @on(ItemLending.CheckedIn)
    def _checked_in(self, cur: Cursor[Any], event: ItemLending.CheckedIn, source: Source) -> None:
        self.store.check_in(cur, source.tenant, item_id=event.item_id, loan_id=event.loan_id,
                            checked_in_at=event.checked_in_at, was_overdue=event.was_overdue,
                            status=AVAILABLE)

    @on(ItemLending.HeldForPickup)
    def _held(self, cur: Cursor[Any], event: ItemLending.HeldForPickup, source: Source) -> None:
        self.store.hold_for_pickup(cur, source.tenant, event.originator_id,
                                   hold_id=event.hold_id, borrower=event.borrower,
                                   until=event.until, status=ON_HOLD_SHELF)

    @on(ItemLending.PickupExpired)
    def _pickup_expired(self, cur: Cursor[Any], event: ItemLending.PickupExpired,
                        source: Source) -> None:
        self.store.expire_pickup(cur, source.tenant, event.hold_id, hold_status=EXPIRED,
                                 item_status=AVAILABLE)

    @on(ItemLending.CopyRecorded)
    def _copy_recorded(self, cur: Cursor[Any], event: ItemLending.CopyRecorded,
                       source: Source) -> None:
        self.store.record_copy(cur, source.tenant, event.originator_id, item_id=event.item_id,
                               barcode=event.item_barcode, record_id=event.record_id,
                               status=AVAILABLE)

    @on(ItemLending.PickupCancelled)
    def _pickup_cancelled(self, cur: Cursor[Any], event: ItemLending.PickupCancelled,
                          source: Source) -> None:
        self.store.expire_pickup(cur, source.tenant, event.hold_id, hold_status=CANCELLED,
                                 item_status=AVAILABLE)

    @on(ItemLending.DeclaredLost)
    def _declared_lost(self, cur: Cursor[Any], event: ItemLending.DeclaredLost,
                       source: Source) -> None:
        self.store.check_in(cur, source.tenant, item_id=event.item_id, loan_id=event.loan_id,
                            checked_in_at=event.declared_at, was_overdue=event.was_overdue,
                            status=LOST)

    @on(ItemLending.Found)
    def _found(self, cur: Cursor[Any], event: ItemLending.Found, source: Source) -> None:
        self.store.set_lending_status(cur, source.tenant, event.item_id, AVAILABLE)

    @on(ItemLending.Pulled)
    def _pulled(self, cur: Cursor[Any], event: ItemLending.Pulled, source: Source) -> None:
        self.store.set_lending_status(cur, source.tenant, event.item_id, IN_TRANSIT)

    @on(ItemLending.Released)
    def _released(self, cur: Cursor[Any], event: ItemLending.Released, source: Source) -> None:
        self.store.set_lending_status(cur, source.tenant, event.item_id, AVAILABLE)

    @on(HoldQueue.HoldReturned)
    def _hold_returned(self, cur: Cursor[Any], event: HoldQueue.HoldReturned,
                       source: Source) -> None:
        self.store.return_hold(cur, source.tenant, event.hold_id, WAITING)

    @on(HoldQueue.HoldPlaced)
    def _hold_placed(self, cur: Cursor[Any], event: HoldQueue.HoldPlaced,
                     source: Source) -> None:
        # The log's order is the queue's order: the position orders holds of one record.
        self.store.place_hold(cur, source.tenant, hold_id=event.hold_id,
                              record_id=event.record_id, borrower=event.borrower,
                              placed_at=event.placed_at, seq=source.position, status=WAITING)

    @on(HoldQueue.HoldCancelled)
    def _hold_cancelled(self, cur: Cursor[Any], event: HoldQueue.HoldCancelled,
                        source: Source) -> None:
        self.store.set_hold(cur, source.tenant, event.hold_id, CANCELLED)

    @on(HoldQueue.HoldFilled)
    def _hold_filled(self, cur: Cursor[Any], event: HoldQueue.HoldFilled,
                     source: Source) -> None:
        self.store.set_hold(cur, source.tenant, event.hold_id, ON_SHELF, event.item_id)

    @on(Borrower.Forgotten)
    def _forgotten(self, cur: Cursor[Any], event: Borrower.Forgotten, source: Source) -> None:
        self.store.forget(cur, source.tenant, event.originator_id)
