"""Inventory's use cases: scans uploaded, taken by workers, localized or failed."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.inventory.calibration import ReaderCalibration
from domain.inventory.errors import ScanNotFoundError
from domain.inventory.profile import RobotProfile
from domain.inventory.scan import InventoryScan
from domain.shared.clock import Clock, utc_now


class Inventory(Application[UUID]):
    """One tenant's inventory scans."""

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock

    def accept(self, header: dict[str, Any], blob: str, reads: int,
               tags: int) -> tuple[InventoryScan, bool]:
        """Records an uploaded batch; the scan already there for a batch id seen before.
        True when it is new."""
        scan_id = InventoryScan.create_id(header["batch_id"])
        try:
            existing: InventoryScan = self.repository.get(scan_id)
        except AggregateNotFoundError:
            pass
        else:
            return existing, False
        scan = InventoryScan(batch_id=header["batch_id"], robot=header["robot"],
                             shelf=header["shelf"], layer=int(header["layer"]), blob=blob,
                             reads=reads, tags=tags, uploaded_at=self.clock())
        try:
            self.save(scan)
        except IntegrityError:  # the same batch, uploaded twice at once
            return self.get(scan_id), False
        return scan, True

    def get(self, scan_id: UUID) -> InventoryScan:
        """The scan with this id."""
        try:
            scan: InventoryScan = self.repository.get(scan_id)
        except AggregateNotFoundError:
            raise ScanNotFoundError(f"no scan {scan_id} in this library") from None
        if not isinstance(scan, InventoryScan):
            raise ScanNotFoundError(f"no scan {scan_id} in this library")
        return scan

    def start(self, scan_id: UUID, worker: str) -> InventoryScan:
        """A worker begins (or begins again) to localize the scan."""
        scan = self.get(scan_id)
        scan.start(worker, self.clock())
        self.save(scan)
        return scan

    def record_localized(self, scan_id: UUID, tags: list[dict[str, Any]], engine: str,
                         seconds: float) -> InventoryScan:
        """Records every tag's place."""
        scan = self.get(scan_id)
        scan.localize(tags, engine, seconds, self.clock())
        self.save(scan)
        return scan

    def profile_of(self, robot: str) -> RobotProfile | None:
        """The robot's kept profile, if the library set one."""
        try:
            found: RobotProfile = self.repository.get(RobotProfile.create_id(robot))
        except AggregateNotFoundError:
            return None
        return found

    def set_geometry(self, robot: str, depth_m: Any, window_m: Any) -> RobotProfile:
        """Keeps where the robot's tags can be (None: the default); checked before anything
        is recorded."""
        for _ in range(3):  # two set at once: the later one is kept, after the other
            profile = self.profile_of(robot) or RobotProfile(robot=robot)
            profile.set_geometry(depth_m, window_m, self.clock())
            try:
                self.save(profile)
            except IntegrityError:
                continue
            return profile
        raise IntegrityError(f"the profile of robot {robot!r} kept changing: set it again")

    def calibration_of(self, robot: str) -> ReaderCalibration | None:
        """The kept offsets of a robot's reader, if it scanned before."""
        try:
            found: ReaderCalibration = self.repository.get(ReaderCalibration.create_id(robot))
        except AggregateNotFoundError:
            return None
        return found

    def improve_calibration(self, robot: str, offsets: dict[str, float], tags: int,
                            scan_id: UUID) -> ReaderCalibration:
        """Averages a scan's estimate of the reader's offsets into the kept ones (once per
        scan, however often its job is delivered)."""
        calibration = self.calibration_of(robot) or ReaderCalibration(robot=robot)
        if calibration.improve(offsets, tags, str(scan_id), self.clock()):
            with contextlib.suppress(IntegrityError):  # two scans at once: the other counts
                self.save(calibration)
        return calibration

    def record_failed(self, scan_id: UUID, reason: str) -> InventoryScan:
        """Records why the scan could not be localized."""
        scan = self.get(scan_id)
        scan.fail(reason, self.clock())
        self.save(scan)
        return scan
