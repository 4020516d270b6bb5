"""The StaffUser aggregate: a person who works for a library (or the office), with roles.
Its password hash is not an event (events are never forgotten): it is kept beside the
store, where it is erased with the user; the events only say when a password was reset."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.shared.text import text_problem
from domain.staff.errors import StaffFieldInvalidError, StaffUserDisabledError
from domain.staff.roles import check_roles, scopes_of

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:staff")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ACTIVE = "active"
DISABLED = "disabled"


def check_username(username: str) -> str:
    """A username: 2-64 lowercase letters, digits, dots, hyphens and underscores."""
    if not USERNAME.match(username):
        raise StaffFieldInvalidError(
            f"username {username[:80]!r}: use 2-64 lowercase letters, digits, '.', '-' or '_', "
            "starting with a letter or digit")
    return username


def check_display_name(name: str) -> str:
    """A display name: 1-200 characters of text, not blank."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise StaffFieldInvalidError("displayName: give 1-200 characters, not blank")
    problem = text_problem(cleaned)
    if problem:
        raise StaffFieldInvalidError(f"displayName: {problem}")
    return cleaned


class StaffUser(Aggregate):
    """A staff user: username, display name, roles and status; disabled until enabled."""

    class Created(Aggregate.Created):
        username: str
        display_name: str
        roles: list[str]
        office: bool
        created_at: datetime

    class Disabled(Aggregate.Event):
        disabled_at: datetime

    class Enabled(Aggregate.Event):
        enabled_at: datetime

    class PasswordReset(Aggregate.Event):
        reset_at: datetime

    class RolesChanged(Aggregate.Event):
        roles: list[str]
        changed_at: datetime

    @event(Created)
    def __init__(self, username: str, display_name: str, roles: list[str], office: bool,
                 created_at: datetime) -> None:
        self.username = username
        self.display_name = display_name
        self.roles = roles
        self.office = office
        self.created_at = created_at
        self.status = ACTIVE
        self.password_reset_at: datetime | None = None

    @classmethod
    def register(cls, username: str, display_name: str, roles: list[str], office: bool,
                 at: datetime) -> StaffUser:
        """A new staff user, its fields checked."""
        return cls(username=check_username(username),
                   display_name=check_display_name(display_name),
                   roles=check_roles(roles, office), office=office, created_at=at)

    @staticmethod
    def create_id(username: str, **_: object) -> UUID:
        """A staff user's id follows from its username (unique within its tenant's store)."""
        return uuid5(_NAMESPACE, username)

    @property
    def active(self) -> bool:
        """Whether the account may sign in."""
        return self.status == ACTIVE

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the user's roles grant."""
        return scopes_of(self.roles, self.office)

    def check_active(self) -> None:
        """Refuses a disabled account."""
        if not self.active:
            raise StaffUserDisabledError(f"staff user {self.username!r} is disabled; an "
                                         "administrator of its library can enable it")

    def disable(self, at: datetime) -> bool:
        """Disables the account; False when it already was."""
        if not self.active:
            return False
        self._disable(at)
        return True

    @event(Disabled)
    def _disable(self, disabled_at: datetime) -> None:
        self.status = DISABLED

    def enable(self, at: datetime) -> bool:
        """Lets a disabled account sign in again; False when it was active."""
        if self.active:
            return False
        self._enable(at)
        return True

    @event(Enabled)
    def _enable(self, enabled_at: datetime) -> None:
        self.status = ACTIVE

    def reset_password(self, at: datetime) -> None:
        """Notes that the password was replaced (its sessions end)."""
        self._reset(at)

    @event(PasswordReset)
    def _reset(self, reset_at: datetime) -> None:
        self.password_reset_at = reset_at

    def change_roles(self, roles: list[str], at: datetime) -> bool:
        """Gives the user other roles; False when they are the same."""
        checked = check_roles(roles, self.office)
        if checked == self.roles:
            return False
        self._change_roles(checked, at)
        return True

    @event(RolesChanged)
    def _change_roles(self, roles: list[str], changed_at: datetime) -> None:
        self.roles = roles
