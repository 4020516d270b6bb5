"""Robots upload shelf scans: `POST /robots/scans` (NDJSON, optionally gzip) answers 202
with the scan's id before any localization; `GET /robots/scans/{scan_id}` reports the
status and, once done, the report. `/robots/profiles/{robot}` keeps where a robot's tags
can be, for batches whose header does not say."""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import AuthError, Principal
from api.dependencies import PrincipalDep, ServicesDep
from api.report_formats import report_csv, report_svg
from api.rest.paging import MAX_LIMIT, decode_cursor, encode_cursor
from api.rest.uploads import spool_file
from domain.inventory.scan import ACCEPTED, DONE, FAILED, LOCALIZING
from projections.inventory.view import InventoryScansView, ScanRow
from tenants.scans import (
    RobotProfileInvalidError,
    ScanBatchError,
    ScanEncodingError,
    ScanTooLargeError,
    ScanUpload,
    accept,
    queue,
    report,
    robot_profile,
    set_robot_geometry,
    statuses,
)

router = APIRouter(prefix="/robots", tags=["inventory robots"])
_STATUSES = (ACCEPTED, LOCALIZING, DONE, FAILED)
# what a lagging list may still show of a scan in each status
_BEHIND = {ACCEPTED: (ACCEPTED,), LOCALIZING: (ACCEPTED, LOCALIZING),
           DONE: (ACCEPTED, LOCALIZING, DONE), FAILED: (ACCEPTED, LOCALIZING, FAILED)}


def _tenant(caller: Principal, *scopes: str) -> str:
    """The caller's library, if the token holds one of the scopes."""
    if caller.tenant is None or not set(scopes) & caller.scopes:
        raise AuthError(403, "FORBIDDEN", f"this needs a library's token with one of {scopes}")
    return caller.tenant


@router.post("/scans", status_code=202, openapi_extra={"requestBody": {
    "description": "a scan batch: NDJSON, a header line then one line per read; "
                   "Content-Encoding: gzip accepted",
    "content": {"application/x-ndjson": {}}}})
async def upload_scan(request: Request, response: Response, svc: ServicesDep,
                      caller: PrincipalDep,
                      content_encoding: Annotated[str | None, Header()] = None
                      ) -> Any:
    """Checks, stores and queues a batch (scope inventory:upload); the same batch id again
    answers with the same scan."""
    tenant = _tenant(caller, "inventory:upload")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise HTTPException(415, f"Content-Encoding {content_encoding!r}: send the batch "
                                 "gzipped or uncompressed")
    spool = Path(await run_in_threadpool(spool_file, ".ndjson.gz"))
    upload = await run_in_threadpool(partial(
        ScanUpload, spool, gzipped=encoding == "gzip",
        max_bytes=svc.settings.max_scan_bytes, max_reads=svc.settings.max_scan_reads))
    try:
        async for chunk in request.stream():  # checked and spooled as it comes
            await run_in_threadpool(upload.feed, chunk)
        batch = await run_in_threadpool(upload.finish)
        scan, pending = await run_in_threadpool(accept, svc.scope(tenant), batch)
    except ScanBatchError as error:
        return JSONResponse({"detail": str(error), "code": "INVALID_SCAN",
                             "line": error.line, "field": error.field}, 422)
    except ScanTooLargeError as error:
        return JSONResponse({"detail": str(error), "code": "TOO_LARGE", "limit": error.limit,
                             "max": error.value, "line": error.line}, 413)
    except ScanEncodingError as error:
        raise HTTPException(400, str(error)) from None
    finally:
        await run_in_threadpool(upload.close)
        await anyio.Path(spool).unlink(missing_ok=True)
    if pending:
        try:
            await queue(svc.scan_jobs, svc.nats.client, tenant, scan.id)
        except ConnectionError as error:
            raise HTTPException(503, str(error)) from None
    response.headers["Location"] = f"/robots/scans/{scan.id}"
    return {"scan_id": str(scan.id), "status": scan.status}


@router.get("/scans")
async def list_scans(
    *, svc: ServicesDep, caller: PrincipalDep,
    shelf: str | None = None,
    status: Annotated[str | None, Query(
        description="accepted, localizing, done or failed")] = None,
    robot: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    after: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """The library's scans, newest first, `limit` a page; only a shelf's, a status's or a
    robot's when asked (inventory:upload or library:read)."""
    tenant = _tenant(caller, "inventory:upload", "library:read")
    if status is not None and status not in _STATUSES:
        raise HTTPException(422, f"status: {status!r} is not one of {list(_STATUSES)}")
    before = decode_cursor(after)

    def read() -> tuple[list[ScanRow], dict[uuid.UUID, str]]:
        with svc.view(InventoryScansView) as view:  # it may show a scan in an earlier status
            rows = view.scans(tenant, limit + 1, shelf=shelf, robot=robot, before=before,
                              status=_BEHIND[status] if status else None)
        return rows, statuses(svc.scope(tenant), [uuid.UUID(str(r["scan_id"])) for r in rows])

    rows, current = await run_in_threadpool(read)
    page = rows[:limit]
    # the scan's own events say how far it is (as GET /robots/scans/{id} does); the view may lag
    scans = [{**row, "scan_id": str(row["scan_id"]),
              "status": current.get(uuid.UUID(str(row["scan_id"])), row["status"]),
              "uploaded_at": row["uploaded_at"].isoformat()} for row in page]
    if status is not None:  # a scan that moved on since the view saw it is no longer one
        scans = [s for s in scans if s["status"] == status]  # (a page may hold fewer)
    more = len(rows) > limit
    return {"scans": scans,
            "next_cursor": encode_cursor(page[-1]["uploaded_at"], page[-1]["scan_id"])
            if more else None}


@router.get("/scans/{scan_id}")
async def scan_status(scan_id: str, svc: ServicesDep, caller: PrincipalDep) -> dict[str, Any]:
    """The scan's status; with the report once it is done (inventory:upload or
    library:read, the library's own scans only)."""
    tenant = _tenant(caller, "inventory:upload", "library:read")
    try:
        scan_uuid = uuid.UUID(scan_id)
    except ValueError:
        raise HTTPException(404, f"no scan {scan_id!r}") from None
    inventory = svc.consortium.scope(tenant).inventory
    scan = await run_in_threadpool(inventory.get, scan_uuid)
    out: dict[str, Any] = {"scan_id": str(scan.id), "status": scan.status,
                           "batch_id": scan.batch_id, "robot": scan.robot, "shelf": scan.shelf,
                           "reads": scan.reads, "tags": scan.tags, "reason": scan.reason}
    if scan.status == DONE:  # the report, also at the top level for pollers
        out["report"] = await run_in_threadpool(report, svc.scope(tenant), svc.reads, scan)
        out.update({k: v for k, v in out["report"].items() if k not in out})
    return out


@router.get("/scans/{scan_id}/report.{fmt}")
async def scan_report(scan_id: str, fmt: str, svc: ServicesDep,
                      caller: PrincipalDep) -> Response:
    """A done scan's report as `report.json`, `report.csv` or `report.svg` (a shelf map)."""
    answer = await scan_status(scan_id, svc, caller)
    if "report" not in answer:
        raise HTTPException(409, f"scan {scan_id} is {answer['status']}: no report yet")
    report_ = answer["report"]
    if fmt == "csv":
        return Response(report_csv(report_), media_type="text/csv")
    if fmt == "svg":
        return Response(report_svg(report_), media_type="image/svg+xml")
    if fmt == "json":
        return JSONResponse(report_)
    raise HTTPException(404, f"no report format {fmt!r}: json, csv or svg")


class RobotGeometry(BaseModel):
    """Where a robot's tags can be; a field left out or null: the service's default."""

    model_config = ConfigDict(extra="forbid")
    depth_m: list[float] | None = Field(
        None, description="[nearest, farthest] a tag may stand behind the antenna's path, "
                          "metres: 0 < nearest < farthest <= 5 (default [0.05, 0.80])")
    window_m: float | None = Field(
        None, description="how far along the shelf from the centre of a tag's strongest "
                          "reads it may be, metres: 0.02-5 (default 0.20)")


def _invalid_profile(error: RobotProfileInvalidError) -> JSONResponse:
    return JSONResponse({"detail": str(error), "code": "INVALID_PROFILE",
                         "field": error.field}, 422)


@router.get("/profiles/{robot:path}")
async def get_robot_profile(robot: str, svc: ServicesDep, caller: PrincipalDep) -> Any:
    """A robot's kept geometry (null: the default) and the geometry its batches are searched
    with when their header says nothing (scope inventory:upload or library:read)."""
    tenant = _tenant(caller, "inventory:upload", "library:read")
    try:
        return await run_in_threadpool(robot_profile, svc.scope(tenant), robot)
    except RobotProfileInvalidError as error:
        return _invalid_profile(error)


@router.put("/profiles/{robot:path}")
async def put_robot_profile(robot: str, geometry: RobotGeometry, svc: ServicesDep,
                            caller: PrincipalDep) -> Any:
    """Keeps where a robot's tags can be (scope inventory:upload or library:write); a batch
    header's own `depth_m` / `window_m` still win. Answers as GET does."""
    tenant = _tenant(caller, "inventory:upload", "library:write")
    try:
        return await run_in_threadpool(set_robot_geometry, svc.scope(tenant), robot,
                                       geometry.depth_m, geometry.window_m)
    except RobotProfileInvalidError as error:
        return _invalid_profile(error)
