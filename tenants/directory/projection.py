"""The tenant directory projection: one row per tenant, from the office's Tenant events."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from projections.framework import Delivery, Projection, Source, on
from tenants.directory.postgres import NAME, TABLES, DirectoryTables
from tenants.tenant import ACTIVE, ARCHIVED, SUSPENDED, Tenant

OFFICE = "office"


class TenantDirectory(Projection):
    """Every member library with its current status, as the consortium office lists them."""

    name = NAME
    tables = TABLES
    skip_poison = True  # one row per tenant: a parked event spoils that tenant's row only

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = DirectoryTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    def accepts(self, delivery: Delivery) -> bool:
        return delivery.tenant == OFFICE and super().accepts(delivery)

    @on(Tenant.Registered)
    def _registered(self, cur: Cursor[Any], event: Tenant.Registered, _: Source) -> None:
        self.store.register(cur, event.originator_id, slug=event.slug, name=event.name,
                            isil=event.isil, status=ACTIVE, registered_at=event.registered_at)

    @on(Tenant.Suspended)
    def _suspended(self, cur: Cursor[Any], event: Tenant.Suspended, _: Source) -> None:
        self.store.set_status(cur, event.originator_id, SUSPENDED, event.reason)

    @on(Tenant.Reactivated)
    def _reactivated(self, cur: Cursor[Any], event: Tenant.Reactivated, _: Source) -> None:
        self.store.set_status(cur, event.originator_id, ACTIVE, None)

    @on(Tenant.Archived)
    def _archived(self, cur: Cursor[Any], event: Tenant.Archived, _: Source) -> None:
        self.store.set_status(cur, event.originator_id, ARCHIVED, None)

    @on(Tenant.DetailsChanged)
    def _details_changed(self, cur: Cursor[Any], event: Tenant.DetailsChanged,
                         _: Source) -> None:
        self.store.change_details(cur, event.originator_id, name=event.name, isil=event.isil,
                                  isil_removed=event.isil_removed)
