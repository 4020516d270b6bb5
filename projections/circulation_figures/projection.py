"""The circulation figures projection: what each member catalogued, holds, lends and is
waited for, from catalog and circulation events, and the shared records it contributed, from
the office's log. Rows carry dates and counts, never a patron's pseudonym."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.catalog.item import Item
from domain.catalog.record import Record
from domain.circulation.holds import HoldQueue
from domain.circulation.item_lending import ItemLending
from domain.circulation.patron import Patron
from domain.sharing.shared_record import SharedRecord
from projections.circulation_figures.postgres import NAME, TABLES, CirculationFiguresTables
from projections.framework import Delivery, Projection, Source, on

OFFICE = "office"


class CirculationFigures(Projection):
    """Each member's records, items, patrons, loans, holds and contributions."""

    name = NAME
    tables = TABLES
    # one row per record, item, patron, loan, hold or contribution: a parked event leaves
    # one row out or stale, and the figures one short
    skip_poison = True

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = CirculationFiguresTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        """Members' events; from the office's log, contributions only."""
        contribution = isinstance(delivery.event, SharedRecord.Contributed)
        return (delivery.tenant == OFFICE) == contribution and super().accepts(delivery)

    @on(Record.Catalogued)
    def _catalogued(self, cur: Cursor[Any], event: Record.Catalogued, source: Source) -> None:
        self.store.insert(cur, "records", {"tenant": source.tenant,
                                           "record_id": event.originator_id})

    @on(Item.Added)
    def _item_added(self, cur: Cursor[Any], event: Item.Added, source: Source) -> None:
        self.store.insert(cur, "items", {"tenant": source.tenant,
                                         "item_id": event.originator_id, "withdrawn": False})

    @on(Item.Withdrawn)
    def _item_withdrawn(self, cur: Cursor[Any], event: Item.Withdrawn,
                        source: Source) -> None:
        self.store.update(cur, "items", (source.tenant, event.originator_id),
                          {"withdrawn": True})

    @on(Patron.Registered)
    def _registered(self, cur: Cursor[Any], event: Patron.Registered, source: Source) -> None:
        self.store.insert(cur, "patrons", {"tenant": source.tenant,
                                           "patron_id": event.originator_id,
                                           "expires_on": event.expires_on, "erased": False})

    @on(Patron.Erased)
    def _erased(self, cur: Cursor[Any], event: Patron.Erased, source: Source) -> None:
        self.store.update(cur, "patrons", (source.tenant, event.originator_id),
                          {"erased": True})

    @on(ItemLending.CheckedOut)
    def _checked_out(self, cur: Cursor[Any], event: ItemLending.CheckedOut,
                     source: Source) -> None:
        self.store.insert(cur, "loans", {"tenant": source.tenant, "loan_id": event.loan_id,
                                         "record_id": event.record_id,
                                         "checked_out_at": event.checked_out_at,
                                         "due_at": event.due_at})

    @on(ItemLending.Renewed)
    def _renewed(self, cur: Cursor[Any], event: ItemLending.Renewed, source: Source) -> None:
        self.store.update(cur, "loans", (source.tenant, event.loan_id),
                          {"due_at": event.due_at})

    @on(ItemLending.CheckedIn)
    def _checked_in(self, cur: Cursor[Any], event: ItemLending.CheckedIn, source: Source) -> None:
        self.store.update(cur, "loans", (source.tenant, event.loan_id),
                          {"closed_at": event.checked_in_at, "returned": True})

    @on(ItemLending.DeclaredLost)
    def _lost(self, cur: Cursor[Any], event: ItemLending.DeclaredLost, source: Source) -> None:
        self.store.update(cur, "loans", (source.tenant, event.loan_id),
                          {"closed_at": event.declared_at, "returned": False})

    @on(HoldQueue.HoldPlaced)
    def _hold_placed(self, cur: Cursor[Any], event: HoldQueue.HoldPlaced,
                     source: Source) -> None:
        self.store.insert(cur, "holds", {"tenant": source.tenant, "hold_id": event.hold_id,
                                         "record_id": event.record_id, "waiting": True})

    @on(HoldQueue.HoldReturned)
    def _hold_returned(self, cur: Cursor[Any], event: HoldQueue.HoldReturned,
                       source: Source) -> None:
        self.store.update(cur, "holds", (source.tenant, event.hold_id), {"waiting": True})

    @on(HoldQueue.HoldFilled, HoldQueue.HoldCancelled)
    def _hold_ended(self, cur: Cursor[Any], event: HoldQueue.HoldFilled |
                    HoldQueue.HoldCancelled, source: Source) -> None:
        self.store.update(cur, "holds", (source.tenant, event.hold_id), {"waiting": False})

    @on(SharedRecord.Contributed)
    def _contributed(self, cur: Cursor[Any], event: SharedRecord.Contributed,
                     _source: Source) -> None:
        self.store.insert(cur, "contributions", {"tenant": event.contributor,
                                                 "shared_id": event.originator_id})
