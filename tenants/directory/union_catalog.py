"""The union catalog as the service runs it: the projection of `projections/union_catalog`,
also told the office's Tenant events (they live in this layer), so a member's name shows
beside its holdings and a suspended or archived member's records and holdings leave the
view and stop taking part in matching (its rows stay: reactivating it brings them back
without a rebuild)."""

from __future__ import annotations

from typing import Any, ClassVar

from psycopg import Cursor

from projections.framework import Delivery, DomainEvent
from projections.postgres import lock_positions, positions, tracked_generations
from projections.union_catalog.postgres import NAME, StoredRecord
from projections.union_catalog.projection import OFFICE, Batch, UnionCatalog
from tenants.tenant import ACTIVE, ARCHIVED, SUSPENDED, Tenant

_STATUS_OF: dict[type[Tenant.Event], str] = {
    Tenant.Suspended: SUSPENDED, Tenant.Reactivated: ACTIVE, Tenant.Archived: ARCHIVED}


class MembersUnionCatalog(UnionCatalog):
    """The union catalog, with its members' names and statuses."""

    events: ClassVar[tuple[type[DomainEvent], ...]] = (*UnionCatalog.events, Tenant.Event)

    def accepts(self, delivery: Delivery) -> bool:
        if isinstance(delivery.event, Tenant.Event):
            return delivery.tenant == OFFICE
        return super().accepts(delivery)

    def take(self, cur: Cursor[Any], delivery: Delivery, batch: Batch,
             stored: dict[str, StoredRecord]) -> None:
        event = delivery.event
        if not isinstance(event, Tenant.Event):
            super().take(cur, delivery, batch, stored)
        elif isinstance(event, Tenant.Registered):
            self.store.save_member(cur, event.originator_id, slug=event.slug, name=event.name,
                                   status=ACTIVE)
        elif type(event) in _STATUS_OF:
            slug = self.store.save_member(cur, event.originator_id,
                                          status=_STATUS_OF[type(event)])
            if slug is not None:  # its records leave their entries, or come back to them
                batch.decided.update(self.store.records_of_tenant(cur, slug))
        elif isinstance(event, Tenant.DetailsChanged):
            self.store.save_member(cur, event.originator_id, name=event.name)


def forget_member(cur: Cursor[Any], slug: str) -> int:
    """A deleted member gone from every generation of the union catalog, each with its
    positions locked so that no batch applies meanwhile; how many rows went."""
    gone = 0
    for generation in tracked_generations(cur, NAME):
        catalog = MembersUnionCatalog(generation)
        if catalog.store.exists(cur):
            lock_positions(cur, NAME, generation, set(positions(cur, NAME, generation)))
            gone += catalog.forget_tenant(cur, slug)
    return gone
