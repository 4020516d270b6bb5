"""A library's scans and their reports (scope library:read)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.context import Context
from api.report_formats import report_csv, report_svg
from domain.inventory.scan import DONE
from projections.inventory.view import InventoryScansView
from tenants.scans import report, statuses


@strawberry.type
class MisplacedBook:
    """A book out of call-number order beyond its uncertainty, and the book (and call
    number) it belongs after (null: first)."""

    barcode: str
    call_number: str | None
    x: float
    x_interval: list[float] | None = strawberry.field(
        description="90% interval of x, [low, high] in metres")
    belongs_after: str | None
    belongs_after_call_number: str | None


@strawberry.type
class Neighbour:
    """A book standing next to an uncertain one."""

    barcode: str
    call_number: str | None


@strawberry.type
class UncertainBook:
    """A book that may be out of order, within its uncertainty: check it by hand."""

    barcode: str
    call_number: str | None
    x: float
    x_interval: list[float] | None
    belongs_after: str | None
    belongs_after_call_number: str | None
    neighbours: list[Neighbour]

    @classmethod
    def of(cls, found: dict[str, Any]) -> UncertainBook:
        """From the report's entry."""
        return cls(**{**found, "neighbours": [Neighbour(**n) for n in found["neighbours"]]})


@strawberry.type
class MissingBook:
    """A book the shelf should hold that the scan did not see, and where it should stand."""

    barcode: str
    call_number: str | None
    expected_x: float | None = None
    belongs_after: str | None = None
    belongs_after_call_number: str | None = None


@strawberry.type
class UnlocalizedTag:
    """A tag the scan read too rarely to place."""

    epc: str
    reads: int
    barcode: str | None
    call_number: str | None


@strawberry.type
class UnknownTag:
    """A tag the catalog does not know."""

    epc: str
    x: float
    x_interval: list[float] | None = strawberry.field(
        default=None, description="90% interval of x, [low, high] in metres")
    y: float | None = None


@strawberry.type
class LocatedBook:
    """A book where the robot found it."""

    barcode: str
    call_number: str | None
    epc: str
    x: float
    x_interval: list[float] | None = strawberry.field(
        description="90% interval of x, [low, high] in metres")
    y: float
    confidence: float


@strawberry.type
class ScanReport:
    """What a scan tells about its shelf (also as CSV and as an SVG shelf map)."""

    misplaced: list[MisplacedBook]
    uncertain: list[UncertainBook]
    missing: list[MissingBook]
    unknown: list[UnknownTag]
    unlocalized: list[UnlocalizedTag]
    located: list[LocatedBook]
    csv: str
    svg: str

    @classmethod
    def of(cls, found: dict[str, Any]) -> ScanReport:
        """The report as the service computed it."""
        return cls(misplaced=[MisplacedBook(**m) for m in found["misplaced"]],
                   uncertain=[UncertainBook.of(m) for m in found["uncertain"]],
                   missing=[MissingBook(**m) for m in found["missing"]],
                   unknown=[UnknownTag(**u) for u in found["unknown"]],
                   unlocalized=[UnlocalizedTag(**u) for u in found["unlocalized"]],
                   located=[LocatedBook(**r) for r in found["located"]],
                   csv=report_csv(found), svg=report_svg(found))


@strawberry.type
class InventoryScan:
    """One shelf scan a robot uploaded."""

    id: strawberry.ID
    batch_id: str
    robot: str
    shelf: str
    status: str = strawberry.field(description="accepted, localizing, done or failed")
    reason: str | None
    reads: int
    tags: int
    report: ScanReport | None = strawberry.field(description="once the scan is done")


@strawberry.type
class ScanSummary:
    """A scan in the library's list."""

    id: strawberry.ID
    batch_id: str
    robot: str
    shelf: str
    status: str
    reads: int
    tags: int
    uploaded_at: datetime


@strawberry.type
class InventoryQueries:
    """A library's robot scans."""

    @strawberry.field(description="One of the library's scans, with its report when done.")  # type: ignore[untyped-decorator]
    async def inventory_scan(self, info: Info[Context, None],
                             id: strawberry.ID) -> InventoryScan:
        tenant = (await info.context.principal()).library("library:read")
        try:
            scan_id = uuid.UUID(str(id))
        except ValueError:
            raise GraphQLError(f"id: {id!r} is not a scan id",
                               extensions={"code": "INVALID_INPUT"}) from None
        services = info.context.services

        def read() -> InventoryScan:
            scope = services.scope(tenant)
            scan = scope.inventory.get(scan_id)
            found = report(scope, services.reads, scan) if scan.status == DONE else None
            return InventoryScan(id=strawberry.ID(str(scan.id)), batch_id=scan.batch_id,
                                 robot=scan.robot, shelf=scan.shelf, status=scan.status,
                                 reason=scan.reason, reads=scan.reads, tags=scan.tags,
                                 report=ScanReport.of(found) if found else None)

        return await run_in_threadpool(read)

    @strawberry.field(description="The library's scans, newest first.")  # type: ignore[untyped-decorator]
    async def inventory_scans(self, info: Info[Context, None],
                              first: int = 50) -> list[ScanSummary]:
        tenant = (await info.context.principal()).library("library:read")

        def read() -> list[ScanSummary]:
            with info.context.services.view(InventoryScansView) as view:
                rows = view.scans(tenant, max(1, min(first, 500)))
            current = statuses(info.context.services.scope(tenant),
                               [uuid.UUID(str(r["scan_id"])) for r in rows])
            # The scan's own events say how far it is; the view may lag.
            return [ScanSummary(id=strawberry.ID(str(r["scan_id"])), batch_id=r["batch_id"],
                                robot=r["robot"], shelf=r["shelf"],
                                status=current.get(uuid.UUID(str(r["scan_id"])), r["status"]),
                                reads=r["reads"], tags=r["tags"], uploaded_at=r["uploaded_at"])
                    for r in rows]

        return await run_in_threadpool(read)
