"""Robots' scans: accepted (stored, then queued), localized by scan workers from a JetStream
work queue, and reported against the catalog.

A job names a tenant and a scan. A worker records `LocalizationStarted`, localizes the
stored batch with the Cython kernel, records `Localized` and acks; a worker that dies
leaves the job unacked, JetStream hands it to another after the ack wait, and a scan
already done is acked without work, so each scan is localized once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
import psycopg
from eventsourcing.persistence import IntegrityError
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig
from nats.js.errors import FetchTimeoutError, NotFoundError

from api.dependencies import Services
from domain.inventory.errors import ScanStateError
from domain.inventory.report import shelf_report
from domain.inventory.scan import ACCEPTED, LOCALIZING, InventoryScan
from infra.nats import log_error
from infra.scan_batch import ScanBatch, ScanBatchError, read_batch
from localization_ext import (
    Geometry,
    engines,
    localize_batch,
    offsets_by_frequency,
    scan_offsets,
)
from projections.circulation.postgres import CirculationView
from projections.local_catalog.postgres import LocalCatalog
from tenants.consortium import tenant_schema

__all__ = ["ScanBatchError", "ScanWorker", "accept", "queue", "report"]  # REST uses these
log = logging.getLogger(__name__)


def read_checked(path: Path) -> ScanBatch:
    """The batch in a file, checked line by line (ScanBatchError names the first bad one)."""
    with path.open(encoding="utf-8", errors="strict") as stream:
        try:
            return read_batch(stream)
        except UnicodeDecodeError as error:
            raise ScanBatchError(0, "body", f"not UTF-8 text ({error.reason})") from None


def accept(services: Services, tenant: str, path: Path) -> tuple[InventoryScan, bool]:
    """Checks and stores a batch and records the scan; the same scan again for a batch id
    uploaded before. True when it still needs localizing."""
    batch = read_checked(path)
    schema = tenant_schema(tenant)
    blob = services.blobs.put_file(schema, path)
    scan, _ = services.consortium.scope(tenant).inventory.accept(
        batch.header, blob, len(batch.tag), len(batch.epcs))
    return scan, scan.status in (ACCEPTED, LOCALIZING)


async def ensure_stream(js: Any, services: Services) -> None:
    """The work queue of scan jobs."""
    settings = services.settings
    try:
        await js.stream_info(settings.scans_stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=settings.scans_stream,
                                         subjects=[settings.scans_subject],
                                         retention=RetentionPolicy.WORK_QUEUE))


async def queue(services: Services, tenant: str, scan_id: uuid.UUID) -> None:
    """Hands a scan to the workers (once: the job's message id is the scan's)."""
    client = services.nats.client
    if client is None or not client.is_connected:
        raise ConnectionError("NATS is not reachable: the scan is stored and will be "
                              "localized once it is queued again (upload it again)")
    js = client.jetstream()
    await ensure_stream(js, services)
    await js.publish(services.settings.scans_subject,
                     json.dumps({"tenant": tenant, "scan_id": str(scan_id)}).encode(),
                     headers={"Nats-Msg-Id": f"{tenant}:{scan_id}"})


def report(services: Services, tenant: str, scan: InventoryScan) -> dict[str, Any]:
    """The scan's report, against the catalog and circulation as they are now."""
    epcs = [t["epc"] for t in scan.located]
    with services.view(LocalCatalog) as (view, cur):
        by_epc = {i["epc"]: i for i in view.items_where(cur, tenant, epcs=epcs)}
        on_shelf = view.items_where(cur, tenant, shelf=scan.shelf)
    with services.view(CirculationView) as (view, cur):
        lent = view.statuses(cur, tenant, [str(i["id"]) for i in on_shelf])
    for item in on_shelf:  # a book on loan or on the hold shelf is not missing
        if item["status"] == "available":
            item["status"] = lent.get(str(item["id"]), "available")
    return shelf_report(str(scan.id), scan.shelf, scan.located, by_epc, on_shelf)


class ScanWorker:
    """Pulls scan jobs and localizes them, one at a time."""

    def __init__(self, services: Services, engine: str | None = None) -> None:
        self.services = services
        self.engine = engine or engines()[0]
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.done = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Works until `stop` is set, reconnecting through outages."""
        while not stop.is_set():
            try:
                await self._consume(stop)
            except (OSError, psycopg.OperationalError, nats.errors.Error) as error:
                log.warning("scan worker interrupted (%s); retrying", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)

    async def _consume(self, stop: asyncio.Event) -> None:
        settings = self.services.settings
        nc = await nats.connect(str(settings.nats_url), connect_timeout=2,
                                allow_reconnect=False, error_cb=log_error)
        try:
            js = nc.jetstream()
            await ensure_stream(js, self.services)
            sub = await js.pull_subscribe(
                settings.scans_subject, durable="scan_workers", stream=settings.scans_stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT,
                                      ack_wait=settings.scan_ack_wait_s))
            while not stop.is_set():
                try:
                    [msg] = await sub.fetch(1, timeout=1)
                except (FetchTimeoutError, TimeoutError):
                    continue
                job = json.loads(msg.data)
                working = asyncio.create_task(asyncio.to_thread(
                    self.process, job["tenant"], uuid.UUID(job["scan_id"])))
                while not working.done():  # tell JetStream the job is alive
                    await asyncio.wait({working}, timeout=settings.scan_ack_wait_s / 3)
                    if not working.done():
                        await msg.in_progress()
                try:
                    working.result()
                except (psycopg.OperationalError, OSError):
                    await msg.nak(delay=5)
                    raise
                except (ScanStateError, IntegrityError):
                    log.info("scan %s was finished by another worker", job["scan_id"])
                except Exception:  # a bug must not stop the queue: the scan says it failed
                    log.exception("scan %s could not be localized", job["scan_id"])
                    await asyncio.to_thread(self._fail, job["tenant"],
                                            uuid.UUID(job["scan_id"]))
                await msg.ack()
        finally:
            await nc.close()

    def _fail(self, tenant: str, scan_id: uuid.UUID) -> None:
        with contextlib.suppress(ScanStateError, IntegrityError):
            self.services.consortium.scope(tenant).inventory.record_failed(
                scan_id, "the scan could not be localized (an internal error, logged)")

    def process(self, tenant: str, scan_id: uuid.UUID) -> None:
        """Localizes one scan, unless a worker before already did."""
        inventory = self.services.consortium.scope(tenant).inventory
        scan = inventory.get(scan_id)
        if scan.status not in (ACCEPTED, LOCALIZING):
            return  # redelivered after the work was recorded: nothing to do
        inventory.start(scan_id, self.name)
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "batch.ndjson"
            if not self.services.blobs.get_to_file(tenant_schema(tenant), scan.blob, path):
                inventory.record_failed(scan_id, f"the stored batch {scan.blob} is gone")
                return
            try:
                batch = read_checked(path)
            except ScanBatchError as error:
                inventory.record_failed(scan_id, str(error))
                return
        started = time.perf_counter()
        c = batch.columns
        order = c["t"].argsort(kind="stable")
        tag, t, phase, freq = batch.tag[order], c["t"][order], c["phase"][order], c["freq"][order]
        kept = inventory.calibration_of(scan.robot)
        own = scan_offsets(tag, t, phase, freq)
        found = localize_batch(tag, len(batch.epcs), t, phase, freq, c["ax"][order],
                               c["ay"][order], c["rssi"][order], engine=self.engine,
                               prior={float(f): o for f, o in kept.offsets.items()}
                               if kept else None, own=own,
                               geometry=Geometry.from_header(batch.header))
        inventory.improve_calibration(
            scan.robot, {str(f): o for f, o in offsets_by_frequency(freq, *own).items()},
            len(batch.epcs), scan_id)
        tags = [{"epc": batch.epcs[e.index], "x": round(e.x, 4), "y": round(e.y, 4),
                 "x_interval": [round(v, 4) for v in e.x_interval] if e.localized else None,
                 "reads": e.reads, "confidence": e.confidence, "localized": e.localized}
                for e in found]
        inventory.record_localized(scan_id, tags, self.engine,
                                   round(time.perf_counter() - started, 3))
        self.done += 1

