"""Robots' scans: accepted (stored, then queued), localized by scan workers from a work
queue, and reported against the catalog and circulation.

A job names a tenant and a scan. A worker records `LocalizationStarted`, localizes the
stored batch with the Cython kernel, records `Localized` and acks; a worker that dies
leaves the job unacked, JetStream hands it to another after the ack wait, and a scan
already done is acked without work, so each scan is localized once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError
from nats.aio.client import Client

from domain.inventory.errors import RobotProfileInvalidError, ScanStateError
from domain.inventory.profile import GEOMETRY_FIELDS, RobotProfile
from domain.inventory.report import shelf_report
from domain.inventory.scan import ACCEPTED, LOCALIZING, InventoryScan
from domain.shared.loading import load_many
from infra.scan_batch import ScanBatch, ScanBatchError, read_batch
from infra.scan_upload import (
    CheckedBatch,
    ScanEncodingError,
    ScanTooLargeError,
    ScanUpload,
    check_file,
)
from infra.work_queue import JobDone, WorkQueue
from localization_ext import (
    Geometry,
    engines,
    localize_batch,
    offsets_by_frequency,
    scan_offsets,
)
from tenants.scope import TenantScope

# the faces use these
__all__ = ["RobotProfileInvalidError", "ScanBatchError", "ScanEncodingError",
           "ScanTooLargeError", "ScanUpload", "ScanWorker", "accept", "accept_file",
           "queue", "report", "robot_profile", "set_robot_geometry", "statuses"]
MAX_ROBOT_NAME = 200  # as a batch header's `robot`


class ShelfReads(Protocol):
    """What a report reads of the local catalog and circulation views."""

    def items_where(self, tenant: str, *, epcs: list[str] | None = None,
                    shelf: str | None = None) -> list[dict[str, Any]]:
        """Items of the tenant with these EPCs, or on this shelf."""

    def lending_statuses(self, tenant: str, item_ids: list[str]) -> dict[str, str]:
        """The lending status of each of these items that circulation knows."""


def read_checked(path: Path) -> ScanBatch:
    """The batch in a file, checked line by line (ScanBatchError names the first bad one)."""
    with path.open(encoding="utf-8", errors="strict") as stream:
        try:
            return read_batch(stream)
        except UnicodeDecodeError as error:
            raise ScanBatchError(0, "body", f"not UTF-8 text ({error.reason})") from None


def _profile_answer(robot: str, profile: RobotProfile | None) -> dict[str, Any]:
    kept = profile.header_fields() if profile else {}
    used = Geometry.from_header(kept)
    return {"robot": robot, "depth_m": kept.get("depth_m"), "window_m": kept.get("window_m"),
            "used": {"depth_m": list(used.depth_m), "window_m": used.window_m},
            "set_at": profile.set_at.isoformat() if profile and profile.set_at else None}


def check_robot(robot: str) -> str:
    """A robot's name as a batch header gives it (RobotProfileInvalidError otherwise)."""
    if not 0 < len(robot) <= MAX_ROBOT_NAME or not robot.isprintable():
        raise RobotProfileInvalidError("robot", f"1-{MAX_ROBOT_NAME} printable characters, "
                                                "as the batches' header names it")
    return robot


def robot_profile(scope: TenantScope, robot: str) -> dict[str, Any]:
    """A robot's kept geometry (null fields: the defaults) and the geometry its batches are
    searched with when their header says nothing."""
    return _profile_answer(robot, scope.inventory.profile_of(check_robot(robot)))


def set_robot_geometry(scope: TenantScope, robot: str, depth_m: Any,
                       window_m: Any) -> dict[str, Any]:
    """Keeps a robot's geometry (null: the default), checked before it is recorded."""
    return _profile_answer(robot, scope.inventory.set_geometry(check_robot(robot), depth_m,
                                                               window_m))


def accept(scope: TenantScope, batch: CheckedBatch) -> tuple[InventoryScan, bool]:
    """Stores a checked batch and records the scan; the same scan again for a batch id
    uploaded before. True when it still needs localizing."""
    blob = scope.blobs.put_gzip(batch.sha256, batch.size, batch.spool)
    scan, _ = scope.inventory.accept(batch.header, blob, batch.reads, batch.tags)
    return scan, scan.status in (ACCEPTED, LOCALIZING)


def accept_file(scope: TenantScope, path: Path, max_reads: int) -> tuple[InventoryScan, bool]:
    """A batch in a file (NDJSON, not gzip), checked and accepted like an upload."""
    with tempfile.TemporaryDirectory() as work:
        batch = check_file(path, Path(work) / "batch.ndjson.gz",
                           max_bytes=path.stat().st_size, max_reads=max_reads)
        return accept(scope, batch)


async def queue(jobs: WorkQueue, client: Client | None, tenant: str,
                scan_id: uuid.UUID) -> None:
    """Hands a scan to the workers (once: the job's message id is the scan's)."""
    try:
        await jobs.publish(client, {"tenant": tenant, "scan_id": str(scan_id)},
                           f"{tenant}:{scan_id}")
    except ConnectionError:
        raise ConnectionError("NATS is not reachable: the scan is stored and will be "
                              "localized once it is queued again (upload it again)") from None


def report(scope: TenantScope, reads: ShelfReads, scan: InventoryScan) -> dict[str, Any]:
    """The scan's report, against the catalog and circulation as they are now."""
    tenant = scope.slug
    epcs = [t["epc"] for t in scan.located]
    by_epc = {i["epc"]: i for i in reads.items_where(tenant, epcs=epcs)}
    on_shelf = reads.items_where(tenant, shelf=scan.shelf)
    lent = reads.lending_statuses(tenant, [str(i["id"]) for i in on_shelf])
    for item in on_shelf:  # a book on loan or on the hold shelf is not missing
        if item["status"] == "available":
            item["status"] = lent.get(str(item["id"]), "available")
    return shelf_report(str(scan.id), scan.shelf, scan.located, by_epc, on_shelf)


def statuses(scope: TenantScope, scan_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The scans' statuses from their own events, in one read: the one source of a scan's
    status, so a list never shows a scan behind what the scan itself says."""
    found = load_many(scope.inventory, scan_ids)
    return {i: s.status for i, s in found.items() if isinstance(s, InventoryScan)}


class ScanWorker:
    """Takes scan jobs from the work queue and localizes them, one at a time."""

    def __init__(self, scope_of: Callable[[str], TenantScope], jobs: WorkQueue,
                 engine: str | None = None) -> None:
        self.scope_of = scope_of
        self.jobs = jobs
        self.engine = engine or engines()[0]
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.done = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Works until `stop` is set, reconnecting through outages."""
        await self.jobs.serve(stop, self._work, self._fail)

    def _work(self, job: dict[str, Any]) -> None:
        try:
            self.process(job["tenant"], uuid.UUID(job["scan_id"]))
        except (ScanStateError, IntegrityError):
            raise JobDone from None

    def _fail(self, job: dict[str, Any]) -> None:
        with contextlib.suppress(ScanStateError, IntegrityError):
            self.scope_of(job["tenant"]).inventory.record_failed(
                uuid.UUID(job["scan_id"]),
                "the scan could not be localized (an internal error, logged)")

    def process(self, tenant: str, scan_id: uuid.UUID) -> None:
        """Localizes one scan, unless a worker before already did."""
        scope = self.scope_of(tenant)
        inventory = scope.inventory
        scan = inventory.get(scan_id)
        if scan.status not in (ACCEPTED, LOCALIZING):
            return  # redelivered after the work was recorded: nothing to do
        inventory.start(scan_id, self.name)
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "batch.ndjson"
            if not scope.blobs.get_to_file(scan.blob, path):
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
        profile = inventory.profile_of(scan.robot)
        geometry = Geometry.from_header({  # the batch's own geometry, else the robot's kept
            **(profile.header_fields() if profile else {}),
            **{k: batch.header[k] for k in GEOMETRY_FIELDS if batch.header.get(k) is not None}})
        own = scan_offsets(tag, t, phase, freq)
        found = localize_batch(tag, len(batch.epcs), t, phase, freq, c["ax"][order],
                               c["ay"][order], c["rssi"][order], engine=self.engine,
                               prior={float(f): o for f, o in kept.offsets.items()}
                               if kept else None, own=own,
                               geometry=geometry)
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
