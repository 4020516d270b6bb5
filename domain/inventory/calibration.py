"""A reader's per-channel phase offsets, kept per robot and improved by every scan.

Offsets are known only up to one common rotation (each scan ties its channels to its own
first one), so a new estimate is turned onto the kept one over the channels both know,
then averaged in, weighted by how many tags each rests on.
"""

from __future__ import annotations

import cmath
import math
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:reader-calibration")
MAX_WEIGHT = 5000  # old scans fade: the reader's offsets may drift over months


def align(kept: dict[str, float], new: dict[str, float]) -> dict[str, float]:
    """The new offsets turned by the rotation that best matches them to the kept ones."""
    common = set(kept) & set(new)
    if not common:
        return dict(new)
    turn = cmath.phase(sum(cmath.exp(1j * (kept[c] - new[c])) for c in common))
    return {c: (v + turn) % (2 * math.pi) for c, v in new.items()}


class ReaderCalibration(Aggregate):
    """The offsets of one robot's reader, by channel (frequency in Hz, as text)."""

    class Started(Aggregate.Created):
        robot: str

    class Calibrated(Aggregate.Event):
        offsets: dict[str, float]
        weight: int
        scan: str  # the scan that taught it (a redelivered job teaches nothing twice)
        calibrated_at: datetime

    @staticmethod
    def create_id(robot: str) -> UUID:
        """One calibration per robot."""
        return uuid5(_NAMESPACE, robot)

    @event(Started)
    def __init__(self, robot: str) -> None:
        self.robot = robot
        self.offsets: dict[str, float] = {}
        self.weight = 0
        self.scans: list[str] = []  # the latest scans counted in

    def improve(self, offsets: dict[str, float], tags: int, scan: str, at: datetime) -> bool:
        """Averages a scan's own estimate into the kept offsets; False when there is
        nothing to learn (no offsets, or this scan was counted already)."""
        if not offsets or tags <= 0 or scan in self.scans:
            return False
        turned = align(self.offsets, offsets)
        merged = {}
        for channel in set(self.offsets) | set(turned):
            old = cmath.exp(1j * self.offsets[channel]) * self.weight if (
                channel in self.offsets) else 0
            new = cmath.exp(1j * turned[channel]) * tags if channel in turned else 0
            merged[channel] = cmath.phase(old + new) % (2 * math.pi)
        self._calibrated(merged, min(self.weight + tags, MAX_WEIGHT), scan, at)
        return True

    @event(Calibrated)
    def _calibrated(self, offsets: dict[str, float], weight: int, scan: str,
                    calibrated_at: datetime) -> None:
        self.offsets = offsets
        self.weight = weight
        self.scans = [*self.scans[-99:], scan]
