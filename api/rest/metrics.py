"""Prometheus exposition: counters of the process and the pipeline's positions and lag."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["operations"])


class PipelineCollector(Collector):
    """Projection positions and lag per tenant, read from PostgreSQL at scrape time."""

    def __init__(self, status: Callable[[], list[dict[str, object]]]) -> None:
        self.status = status

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metrics' names without reading PostgreSQL (registering would otherwise
        collect, at startup, before the projections' tables need exist)."""
        yield GaugeMetricFamily("commonshelf_projection_position",
                                "Last event position applied", labels=["projection", "tenant"])
        yield GaugeMetricFamily("commonshelf_projection_lag_events",
                                "Events recorded but not yet applied",
                                labels=["projection", "tenant"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        position = GaugeMetricFamily("commonshelf_projection_position",
                                     "Last event position applied", labels=["projection", "tenant"])
        lag = GaugeMetricFamily("commonshelf_projection_lag_events",
                                "Events recorded but not yet applied",
                                labels=["projection", "tenant"])
        for row in self.status():
            labels = [str(row["name"]), str(row["tenant"])]
            position.add_metric(labels, float(str(row["position"])))
            lag.add_metric(labels, float(str(row["lag"])))
        yield position
        yield lag


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Every metric of this process, in Prometheus text format."""
    body = await run_in_threadpool(generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
