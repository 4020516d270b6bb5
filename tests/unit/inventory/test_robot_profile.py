"""A robot's kept geometry: checked before anything is recorded, each field naming itself;
a field left out is the service's default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.inventory.application import Inventory
from domain.inventory.errors import RobotProfileInvalidError
from domain.inventory.profile import RobotProfile, check_geometry

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("depth", "window", "field"), [
    ([0.8, 0.4], None, "depth_m"), ([0.0, 0.4], None, "depth_m"), ([0.1, 6], None, "depth_m"),
    ([0.1], None, "depth_m"), ("0.1-0.5", None, "depth_m"), ([True, 0.5], None, "depth_m"),
    ([0.1, float("nan")], None, "depth_m"), (None, 0.01, "window_m"), (None, 6, "window_m"),
    (None, "0.3", "window_m"), (None, float("inf"), "window_m")])
def test_a_geometry_out_of_range_is_refused_naming_its_field(depth: object, window: object,
                                                            field: str) -> None:
    with pytest.raises(RobotProfileInvalidError) as refused:
        check_geometry(depth, window)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


def test_a_kept_geometry_gives_the_header_fields_it_sets_and_no_others() -> None:
    profile = RobotProfile(robot="r-7")
    assert profile.header_fields() == {}
    profile.set_geometry([0.3, 1.2], None, NOW)
    assert profile.header_fields() == {"depth_m": [0.3, 1.2]}
    profile.set_geometry(None, 0.35, NOW)
    assert profile.header_fields() == {"window_m": 0.35}
    assert RobotProfile.create_id("r-7") == profile.id != RobotProfile.create_id("r-8")


def test_the_inventory_keeps_a_profile_per_robot_and_records_nothing_invalid() -> None:
    inventory = Inventory(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)
    assert inventory.profile_of("r-1") is None
    with pytest.raises(RobotProfileInvalidError):
        inventory.set_geometry("r-1", [1.0, 0.5], None)
    assert inventory.profile_of("r-1") is None  # nothing recorded
    inventory.set_geometry("r-1", [0.4, 1.4], 0.3)
    kept = inventory.profile_of("r-1")
    assert kept is not None
    assert (kept.depth_m, kept.window_m, kept.set_at) == ([0.4, 1.4], 0.3, NOW)
    assert inventory.profile_of("r-2") is None


def test_two_settings_at_once_keep_the_later_instead_of_failing() -> None:
    inventory = Inventory(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)
    inventory.set_geometry("r-1", [0.1, 0.5], None)
    loaded = inventory.profile_of

    def raced(robot: str) -> RobotProfile | None:
        found = loaded(robot)
        if found is not None and found.depth_m == [0.1, 0.5]:  # another request wins the race
            inventory.profile_of = loaded  # type: ignore[method-assign]
            inventory.set_geometry(robot, [0.2, 0.6], None)
        return found

    inventory.profile_of = raced  # type: ignore[method-assign]
    kept = inventory.set_geometry("r-1", [0.3, 0.9], 0.4)
    assert (kept.depth_m, kept.window_m) == ([0.3, 0.9], 0.4)
    again = loaded("r-1")
    assert again is not None
    assert (again.depth_m, again.window_m, again.version) == ([0.3, 0.9], 0.4, 4)
