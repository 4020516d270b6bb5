"""The inventory projection: each library's scans with their status."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.inventory.scan import DONE, FAILED, LOCALIZING, InventoryScan
from projections.framework import Projection, Source, on
from projections.inventory.postgres import NAME, TABLES, InventoryTables


class InventoryScans(Projection):
    """Every tenant's scans (the reports themselves are computed from the scan's events
    and the catalog when asked)."""

    name = NAME
    tables = TABLES
    skip_poison = True  # one row per scan: a parked event leaves that scan's status stale only

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = InventoryTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    @on(InventoryScan.Uploaded)
    def _uploaded(self, cur: Cursor[Any], event: InventoryScan.Uploaded, source: Source) -> None:
        self.store.add_scan(cur, source.tenant, event.originator_id, batch_id=event.batch_id,
                            robot=event.robot, shelf=event.shelf, reads=event.reads,
                            tags=event.tags, uploaded_at=event.uploaded_at)

    @on(InventoryScan.LocalizationStarted)
    def _started(self, cur: Cursor[Any], event: InventoryScan.LocalizationStarted,
                 source: Source) -> None:
        self.store.set_status(cur, source.tenant, event.originator_id, LOCALIZING)

    @on(InventoryScan.Localized)
    def _localized(self, cur: Cursor[Any], event: InventoryScan.Localized,
                   source: Source) -> None:
        self.store.set_status(cur, source.tenant, event.originator_id, DONE)

    @on(InventoryScan.Failed)
    def _failed(self, cur: Cursor[Any], event: InventoryScan.Failed, source: Source) -> None:
        self.store.set_status(cur, source.tenant, event.originator_id, FAILED)
