"""What others may ask of the inventory read model."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID

from projections.framework import View
from projections.inventory.postgres import NAME, InventoryTables


class ScanRow(TypedDict):
    """A scan as the read model lists it."""

    scan_id: UUID
    batch_id: str
    robot: str
    shelf: str
    status: str
    reads: int
    tags: int
    uploaded_at: datetime


class InventoryScansView(View):
    """Each library's scans, newest first."""

    name = NAME

    def scans(self, tenant: str, limit: int, *, shelf: str | None = None,
              status: str | tuple[str, ...] | None = None, robot: str | None = None,
              before: tuple[datetime, UUID] | None = None) -> list[ScanRow]:
        """The tenant's scans, newest first; only a shelf's, a status's (or one of some
        statuses') or a robot's when asked, and those uploaded before `before` (uploaded_at,
        scan_id: a page's last)."""
        rows = InventoryTables(self.generation).scans_of(
            self.cur, tenant, limit, shelf=shelf, status=status, robot=robot, before=before)
        return [ScanRow(scan_id=r[0], batch_id=r[1], robot=r[2], shelf=r[3], status=r[4],
                        reads=int(r[5]), tags=int(r[6]), uploaded_at=r[7]) for r in rows]
