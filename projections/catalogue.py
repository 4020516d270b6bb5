"""Every projection the service runs, by its stable snake_case name."""

from __future__ import annotations

from projections.activity.postgres import Activity
from projections.circulation.postgres import CirculationView
from projections.framework import Projection
from projections.inventory.postgres import InventoryScans
from projections.local_catalog.postgres import LocalCatalog
from projections.tenant_directory.postgres import TenantDirectory

PROJECTIONS: dict[str, type[Projection]] = {
    Activity.name: Activity,
    TenantDirectory.name: TenantDirectory,
    LocalCatalog.name: LocalCatalog,
    CirculationView.name: CirculationView,
    InventoryScans.name: InventoryScans,
}
