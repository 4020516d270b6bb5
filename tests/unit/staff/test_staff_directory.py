"""The staff directory on an in-memory event store: usernames unique, users listed from their
own events, disabling recorded once."""

from __future__ import annotations

import pytest

from domain.staff.application import StaffDirectory
from domain.staff.errors import StaffUsernameTakenError, StaffUserNotFoundError


def test_usernames_are_unique_and_users_listed_by_name() -> None:
    directory = StaffDirectory()
    directory.create_user("zoe", "Zoë", ["ill"], office=False)
    directory.create_user("ann", "Ann", ["cataloguer", "circulation"], office=False)
    with pytest.raises(StaffUsernameTakenError, match="'ann' is taken"):
        directory.create_user("ann", "Another Ann", ["ill"], office=False)
    assert [(u.username, u.roles) for u in directory.list_users()] == [
        ("ann", ["cataloguer", "circulation"]), ("zoe", ["ill"])]


def test_disable_is_recorded_once_and_reset_is_noted() -> None:
    directory = StaffDirectory()
    user = directory.create_user("ann", "Ann", ["ill"], office=False)
    directory.disable_user("ann")
    directory.disable_user("ann")
    directory.note_password_reset("ann")
    stored = directory.get_user("ann")
    assert stored.status == "disabled"
    assert stored.password_reset_at is not None
    assert stored.version == user.version + 2  # created, disabled once, reset
    assert directory.enable_user("ann").active


def test_unknown_users_are_not_found() -> None:
    directory = StaffDirectory()
    with pytest.raises(StaffUserNotFoundError, match="no staff user 'nobody'"):
        directory.get_user("nobody")
