"""A robot's profile kept by the library: where its tags can be (its geometry), so that a
robot whose batches do not say it is searched where it scans. A batch header's own
`depth_m` / `window_m` win over the profile's; the profile's over the defaults."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.inventory.errors import RobotProfileInvalidError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:robot-profile")
GEOMETRY_FIELDS = ("depth_m", "window_m")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def check_geometry(depth_m: Any, window_m: Any) -> tuple[list[float] | None, float | None]:
    """The geometry as kept (None: the default), or RobotProfileInvalidError naming the
    field: `depth_m` [nearest, farthest] metres behind the antenna's path with
    0 < nearest < farthest <= 5, `window_m` metres along the shelf in [0.02, 5]."""
    if depth_m is not None and not (
            isinstance(depth_m, list | tuple) and len(depth_m) == 2
            and all(_finite(v) for v in depth_m) and 0 < depth_m[0] < depth_m[1] <= 5):
        raise RobotProfileInvalidError("depth_m", "[nearest, farthest] in metres, "
                                                  "0 < nearest < farthest <= 5")
    if window_m is not None and not (_finite(window_m) and 0.02 <= window_m <= 5):
        raise RobotProfileInvalidError("window_m", "a number of metres in [0.02, 5]")
    return ([float(v) for v in depth_m] if depth_m is not None else None,
            float(window_m) if window_m is not None else None)


class RobotProfile(Aggregate):
    """One robot's kept geometry (a field left None: the service's default)."""

    class Registered(Aggregate.Created):
        robot: str

    class GeometrySet(Aggregate.Event):
        depth_m: list[float] | None
        window_m: float | None
        set_at: datetime

    @staticmethod
    def create_id(robot: str) -> UUID:
        """One profile per robot of a library."""
        return uuid5(_NAMESPACE, robot)

    @event(Registered)
    def __init__(self, robot: str) -> None:
        self.robot = robot
        self.depth_m: list[float] | None = None
        self.window_m: float | None = None
        self.set_at: datetime | None = None

    def set_geometry(self, depth_m: Any, window_m: Any, at: datetime) -> None:
        """Keeps the robot's geometry (checked first: nothing invalid is recorded)."""
        depth, window = check_geometry(depth_m, window_m)
        self._geometry_set(depth, window, at)

    @event(GeometrySet)
    def _geometry_set(self, depth_m: list[float] | None, window_m: float | None,
                      set_at: datetime) -> None:
        self.depth_m, self.window_m, self.set_at = depth_m, window_m, set_at

    def header_fields(self) -> dict[str, Any]:
        """The kept geometry as batch header fields (those set only)."""
        return {k: v for k, v in (("depth_m", self.depth_m), ("window_m", self.window_m))
                if v is not None}
