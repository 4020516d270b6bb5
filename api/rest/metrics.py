"""Prometheus exposition: counters of the process and the pipeline's positions and lag.

`/metrics` on the service's port answers only a consortium office token with the `metrics`
scope. A process started with `--metrics-port` also serves them, without a token, on that
port of 127.0.0.1 (or `--metrics-host`), for a Prometheus beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import psycopg
from fastapi import APIRouter, FastAPI, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from api.dependencies import ServicesDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
METRICS_SCOPE = "metrics"
LAG_CACHE_S = 5.0  # a scrape reuses figures this young (they cost a query per log)


class PipelineCollector(Collector):
    """Projection positions and lag per tenant, read from PostgreSQL at most once every
    few seconds however often Prometheus (or several) scrape."""

    def __init__(self, status: Callable[[], list[dict[str, object]]],
                 max_age_s: float = LAG_CACHE_S) -> None:
        self.status = status
        self.max_age_s = max_age_s
        self._rows: list[dict[str, object]] = []
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metrics' names without reading PostgreSQL (registering would otherwise
        collect, at startup, before the projections' tables need exist)."""
        yield GaugeMetricFamily("commonshelf_projection_position",
                                "Last event position applied", labels=["projection", "tenant"])
        yield GaugeMetricFamily("commonshelf_projection_lag_events",
                                "Events recorded but not yet applied",
                                labels=["projection", "tenant"])

    def rows(self) -> list[dict[str, object]]:
        """The figures, read again only when older than `max_age_s` (one reader at a time;
        scrapes that arrive meanwhile get the figures it reads). While PostgreSQL cannot be
        read, the last figures stand: the process's other metrics are still served."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.max_age_s:
                try:
                    self._rows = self.status()
                except psycopg.Error as e:
                    log.warning("projection figures not read (%s): /metrics keeps the last "
                                "ones", type(e).__name__)
                self._read_at = time.monotonic()
            return self._rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        position = GaugeMetricFamily("commonshelf_projection_position",
                                     "Last event position applied", labels=["projection", "tenant"])
        lag = GaugeMetricFamily("commonshelf_projection_lag_events",
                                "Events recorded but not yet applied (read at most every "
                                f"{self.max_age_s:g} s)", labels=["projection", "tenant"])
        for row in self.rows():
            labels = [str(row["name"]), str(row["tenant"])]
            position.add_metric(labels, float(str(row["position"])))
            lag.add_metric(labels, float(str(row["lag"])))
        yield position
        yield lag


async def _exposition() -> Response:
    body = await run_in_threadpool(generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/metrics", include_in_schema=False)
async def metrics(svc: ServicesDep,
                  authorization: Annotated[str | None, Header()] = None) -> Response:
    """Every metric of this process, in Prometheus text format, for the office's monitoring
    (a token with the `metrics` scope)."""
    tokens = svc.tokens
    caller = tokens.authenticate_known(authorization)
    if caller is None:
        caller = await run_in_threadpool(tokens.authenticate, authorization)
    caller.require_office(METRICS_SCOPE)
    return await _exposition()


def metrics_app() -> FastAPI:
    """What a `--metrics-port` serves: the metrics without a token (bind it to a private
    address), and `/healthz`."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/metrics")
    async def open_metrics() -> Response:
        return await _exposition()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
