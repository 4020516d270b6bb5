"""The GraphQL shapes of staff users and of the audit trail (never a password or its hash)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.staff.user import StaffUser as StaffUserAggregate
from tenants.history import HistoryEntry as Entry
from tenants.history import HistoryPage as Page


@strawberry.type
class StaffUser:
    """A person who works for the library, with their roles and what those let them do."""

    username: str
    display_name: str
    roles: list[str]
    status: str = strawberry.field(description="active or disabled")
    scopes: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: StaffUserAggregate) -> StaffUser:
        """The shape of a staff user aggregate."""
        return cls(username=user.username, display_name=user.display_name, roles=user.roles,
                   status=user.status, scopes=sorted(user.scopes), created_at=user.created_at)


@strawberry.type
class HistoryEntry:
    """One thing that happened, by whom and when; what it carried is not shown."""

    position: int = strawberry.field(description="its place in the library's log")
    at: datetime | None
    actor: str | None = strawberry.field(description="client:<id>, staff:<username>@<library>, "
                                         "process:<name> or cli; null when not known")
    operation: str | None = strawberry.field(description="the mutation or command, when it "
                                             "had an idempotency key")
    aggregate: str
    aggregate_id: strawberry.ID
    event: str

    @classmethod
    def of(cls, entry: Entry) -> HistoryEntry:
        """The shape of an audit trail entry."""
        return cls(position=entry.position, at=entry.at, actor=entry.actor,
                   operation=entry.operation, aggregate=entry.aggregate,
                   aggregate_id=strawberry.ID(str(entry.aggregate_id)), event=entry.event)


@strawberry.type
class HistoryPage:
    """Entries newest first; pass `nextBefore` as `before` for the older ones."""

    entries: list[HistoryEntry]
    next_before: int | None

    @classmethod
    def of(cls, page: Page) -> HistoryPage:
        """The shape of a page of the audit trail."""
        return cls(entries=[HistoryEntry.of(e) for e in page.entries],
                   next_before=page.next_before)


@strawberry.type
class StaffUserPayload:
    """The staff user as the mutation left it."""

    staff_user: StaffUser
