"""The Tenant aggregate: a member library's life in the consortium."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.shared.text import text_problem
from tenants.errors import TenantFieldInvalidError, TenantSlugInvalidError, TenantStatusError

SLUG_RULE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
RESERVED_SLUGS = frozenset({"office", "admin", "consortium"})
ISIL_RULE = re.compile(r"^[A-Za-z0-9]{1,4}-[A-Za-z0-9:/-]{1,11}$")
_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:tenant")

ACTIVE, SUSPENDED, ARCHIVED = "active", "suspended", "archived"


def check_slug(slug: str) -> str:
    """Slugs are 2-40 lowercase letters, digits and hyphens, not starting or ending with one."""
    if len(slug) < 2 or not SLUG_RULE.match(slug):
        raise TenantSlugInvalidError(
            f"slug {slug!r} is invalid: use 2-40 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    if slug in RESERVED_SLUGS:
        raise TenantSlugInvalidError(f"slug {slug!r} is reserved for the consortium office")
    return slug


def check_name(name: str) -> str:
    """A display name is 1-200 characters, not all blank."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise TenantFieldInvalidError("name must be 1-200 characters, not blank")
    problem = text_problem(cleaned)
    if problem is not None:
        raise TenantFieldInvalidError(f"name: {problem}")
    return cleaned


def check_isil(isil: str | None) -> str | None:
    """An ISIL (ISO 15511) is a prefix, a hyphen and an identifier, 16 characters at most."""
    if isil is None:
        return None
    if len(isil) > 16 or not ISIL_RULE.match(isil):
        raise TenantFieldInvalidError(
            f"isil {isil!r} is not an ISO 15511 identifier (e.g. 'US-DLC', 'DE-101'; "
            "at most 16 characters)"
        )
    return isil


class Tenant(Aggregate):
    """A member library: registered, then active, suspended or archived (final)."""

    class Registered(Aggregate.Created):
        slug: str
        name: str
        isil: str | None
        registered_at: datetime

    class Suspended(Aggregate.Event):
        reason: str
        suspended_at: datetime

    class Reactivated(Aggregate.Event):
        reactivated_at: datetime

    class Archived(Aggregate.Event):
        archived_at: datetime

    class DetailsChanged(Aggregate.Event):
        """What the office changed: only the fields that changed are not None (an ISIL
        removed is `isil_removed`)."""

        name: str | None
        isil: str | None
        isil_removed: bool
        changed_at: datetime

    @event(Registered)
    def __init__(self, slug: str, name: str, isil: str | None, registered_at: datetime) -> None:
        self.slug = slug
        self.name = name
        self.isil = isil
        self.registered_at = registered_at
        self.status = ACTIVE
        self.suspension_reason: str | None = None
        self.changed_at = registered_at

    @staticmethod
    def create_id(slug: str, **_: object) -> UUID:
        """A tenant's id follows from its slug, so a slug can be registered once only."""
        return uuid5(_NAMESPACE, slug)

    @classmethod
    def register(cls, slug: str, name: str, isil: str | None, at: datetime) -> Tenant:
        """Registers a new member library, active at once."""
        return cls(slug=check_slug(slug), name=check_name(name), isil=check_isil(isil),
                   registered_at=at)

    def suspend(self, reason: str, at: datetime) -> None:
        """Only an active tenant can be suspended, and only with a reason."""
        if self.status != ACTIVE:
            raise TenantStatusError(f"tenant {self.slug!r} is {self.status}, not active")
        if not reason.strip():
            raise TenantFieldInvalidError("a suspension needs a reason")
        if len(reason) > 2000 or text_problem(reason):
            raise TenantFieldInvalidError(
                f"reason: {text_problem(reason) or 'at most 2,000 characters'}")
        self._suspend(reason.strip(), at)

    @event(Suspended)
    def _suspend(self, reason: str, suspended_at: datetime) -> None:
        self.status = SUSPENDED
        self.suspension_reason = reason
        self.changed_at = suspended_at

    def reactivate(self, at: datetime) -> None:
        """Only a suspended tenant can be reactivated."""
        if self.status != SUSPENDED:
            raise TenantStatusError(f"tenant {self.slug!r} is {self.status}, not suspended")
        self._reactivate(at)

    @event(Reactivated)
    def _reactivate(self, reactivated_at: datetime) -> None:
        self.status = ACTIVE
        self.suspension_reason = None
        self.changed_at = reactivated_at

    def archive(self, at: datetime) -> None:
        """Archiving is final; an archived tenant keeps its slug and its events."""
        if self.status == ARCHIVED:
            raise TenantStatusError(f"tenant {self.slug!r} is already archived")
        self._archive(at)

    @event(Archived)
    def _archive(self, archived_at: datetime) -> None:
        self.status = ARCHIVED
        self.changed_at = archived_at

    def change_details(self, at: datetime, *, name: str | None = None,
                       isil: str | None = None, remove_isil: bool = False) -> bool:
        """Renames the library or changes its ISIL (not once archived); False when nothing
        changes."""
        if self.status == ARCHIVED:
            raise TenantStatusError(f"tenant {self.slug!r} is archived; its details are final")
        if name is None and isil is None and not remove_isil:
            raise TenantFieldInvalidError("give name or isil (or isil null to remove it)")
        if isil is not None and remove_isil:
            raise TenantFieldInvalidError("isil: give an ISIL or remove it, not both")
        new_name = check_name(name) if name is not None else None
        new_isil = check_isil(isil)
        changed_name = new_name if new_name not in (None, self.name) else None
        changed_isil = new_isil if new_isil not in (None, self.isil) else None
        isil_removed = remove_isil and self.isil is not None
        if changed_name is None and changed_isil is None and not isil_removed:
            return False
        self._change_details(changed_name, changed_isil, isil_removed, at)
        return True

    @event(DetailsChanged)
    def _change_details(self, name: str | None, isil: str | None, isil_removed: bool,
                        changed_at: datetime) -> None:
        if name is not None:
            self.name = name
        if isil is not None:
            self.isil = isil
        if isil_removed:
            self.isil = None
        self.changed_at = changed_at
