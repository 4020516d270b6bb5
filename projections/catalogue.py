"""Every projection of this layer by its stable snake_case name, and what a process does
with all of them at once: create their tables at start, report their positions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from psycopg import Cursor

from infra.database import DDL_LOCK_KEY
from projections.activity.projection import Activity
from projections.circulation.projection import Circulation
from projections.circulation_figures.projection import CirculationFigures
from projections.framework import Projection
from projections.inventory.projection import InventoryScans
from projections.lending.projection import Lending
from projections.local_catalog.projection import LocalCatalog
from projections.postgres import (
    active_generation,
    active_generations,
    create_tracking,
    event_logs,
    events_after,
    positions,
)
from projections.shared_acquisition.projection import SharedAcquisition

PROJECTIONS: dict[str, type[Projection]] = {
    Activity.name: Activity,
    LocalCatalog.name: LocalCatalog,
    Circulation.name: Circulation,
    InventoryScans.name: InventoryScans,
    SharedAcquisition.name: SharedAcquisition,
    CirculationFigures.name: CirculationFigures,
    Lending.name: Lending,
}


def create_tables(cur: Cursor[Any], projections: Iterable[type[Projection]]) -> None:
    """Creates the tracking tables and the serving generation's tables of each projection,
    under the DDL lock (processes start together): done when a process starts, so no query
    ever creates a table."""
    chosen = list(projections)
    with cur.connection.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        create_tracking(cur)
        serving = active_generations(cur, [p.name for p in chosen])
        for projection in chosen:
            projection(generation=serving[projection.name]).create_tables(cur)


def status(cur: Cursor[Any], names: Iterable[str], log_name: Callable[[str], str],
           servers: Iterable[Cursor[Any]] = ()) -> list[dict[str, object]]:
    """Each projection's applied position and lag, per tenant (office included); the logs
    of tenants on other `servers` (cursors there) too."""
    out: list[dict[str, object]] = []
    create_tracking(cur)
    logs = [(cur, schema) for schema in event_logs(cur)]
    logs += [(other, schema) for other in servers for schema in event_logs(other)]
    for name in names:
        applied = positions(cur, name, active_generation(cur, name))
        for where, schema in logs:
            tenant = log_name(schema)
            position = applied.get(tenant, 0)
            out.append({"name": name, "tenant": tenant, "position": position,
                        "lag": events_after(where, schema, position)})
    return out
