"""MARC imports over REST: `POST /catalog/imports` takes the file as the body and answers at
once with a job id; `GET /catalog/imports/{id}` reports progress and, when done, the result."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.dependencies import PrincipalDep, ServicesDep
from api.rest.paging import MAX_LIMIT, decode_cursor, encode_cursor
from api.rest.uploads import spool_file
from tenants.imports import check_format, run_import_job

router = APIRouter(prefix="/catalog", tags=["catalog"])
_HEAD = 1 << 16  # enough of the body to tell MARC 21 from MARCXML


def _format_of(head: bytes, size: int, fmt: str) -> str:
    """The body's MARC format; 400 for an empty body, 415 for one that is not MARC."""
    try:
        return check_format(head, fmt)
    except ValueError as error:
        raise HTTPException(400 if size == 0 else 415, str(error)) from None


def _job_json(job: dict[str, Any]) -> dict[str, Any]:
    total = int(job["bytes_total"]) or 1
    return {
        "import_id": str(job["id"]), "status": job["status"], "format": job["format"],
        "progress": round(min(int(job["bytes_read"]) / total, 1.0), 4),
        "bytes_total": job["bytes_total"], "bytes_read": job["bytes_read"],
        "result": job["summary"], "error": job["error"],
        "started_at": job["started_at"].isoformat(), "updated_at": job["updated_at"].isoformat(),
    }


@router.post("/imports", status_code=202, openapi_extra={"requestBody": {
    "description": "a MARC 21 (ISO 2709, MARC-8 or UTF-8) or MARCXML file",
    "content": {"application/marc": {}, "application/marcxml+xml": {},
                "application/octet-stream": {}}}})
async def start_import(
    request: Request, response: Response, svc: ServicesDep, caller: PrincipalDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(auto|marc21|marcxml)$")] = "auto",
) -> dict[str, Any]:
    """Stores the body, checks it is MARC, and starts importing it (scope library:write)."""
    tenant = caller.library("library:write")
    spool = anyio.Path(await run_in_threadpool(spool_file, ".marc"))
    handed_over = False  # to the import job, which removes the file when it is done
    try:
        size, head = 0, b""
        async with await anyio.open_file(spool, "wb") as out:
            async for chunk in request.stream():
                if len(head) < _HEAD:
                    head += chunk[:_HEAD - len(head)]
                size += len(chunk)
                await out.write(chunk)
        detected = _format_of(head, size, fmt)
        job_id = uuid.uuid4()
        scope = svc.consortium.scope(tenant)
        await run_in_threadpool(scope.import_jobs.start, job_id, caller.client_id,
                                detected, size)
        svc.background.submit(run_import_job, scope, job_id, path=Path(spool), fmt=detected,
                              actor=caller.actor)
        handed_over = True
    finally:
        if not handed_over:
            await spool.unlink(missing_ok=True)
    response.headers["Location"] = f"/catalog/imports/{job_id}"
    return {"import_id": str(job_id), "status": "running", "format": detected, "bytes": size}


def _listed_json(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the list shows it: its result's counts, not its lists of problems."""
    out = _job_json(job)
    result = out.pop("result") or {}
    out["counts"] = {key: len(value) if isinstance(value, list) else value
                     for key, value in result.items()}
    return out


@router.get("/imports")
async def list_imports(
    svc: ServicesDep, caller: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    after: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """The library's imports, newest first, `limit` a page (scope library:read); each with
    its result's counts (`GET /catalog/imports/{id}` lists the errors and warnings)."""
    tenant = caller.library("library:read")
    before = decode_cursor(after)
    jobs = await run_in_threadpool(svc.consortium.scope(tenant).import_jobs.list, limit + 1,
                                   before)
    page = jobs[:limit]
    more = len(jobs) > limit
    return {"imports": [_listed_json(job) for job in page],
            "next_cursor": encode_cursor(page[-1]["started_at"], page[-1]["id"])
            if more else None}


@router.get("/imports/{import_id}")
async def import_status(import_id: str, svc: ServicesDep,
                        caller: PrincipalDep) -> dict[str, Any]:
    """An import's progress and result (scope library:read); only the tenant's own."""
    tenant = caller.library("library:read")
    try:
        job_id = uuid.UUID(import_id)
    except ValueError:
        raise HTTPException(404, f"no import {import_id!r}") from None
    job = await run_in_threadpool(svc.consortium.scope(tenant).import_jobs.get, job_id)
    if job is None:
        raise HTTPException(404, f"no import {import_id!r} for this library")
    return _job_json(job)
