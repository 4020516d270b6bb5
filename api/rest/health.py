"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.dependencies import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: ServicesDep, request: Request) -> JSONResponse:
    """PostgreSQL and NATS both answer and the process is not draining; 503 names what
    is not ready."""
    checks: dict[str, str] = {}
    draining = getattr(request.app.state, "draining", None)
    if draining is not None and draining.is_set():
        checks["process"] = "draining: shutting down"
    try:
        await run_in_threadpool(svc.database.ping)
        checks["postgres"] = "ok"
    except Exception as error:  # noqa: BLE001 (reported to the caller)
        checks["postgres"] = f"unreachable: {error}"
    checks["nats"] = "ok" if await svc.nats.ready() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)
