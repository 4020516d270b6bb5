"""GraphQL types of interlibrary lending: a request as either end's staff see it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from api.graphql.catalog.types import PageInfo
from projections.lending.view import RequestRow


@strawberry.enum
class LendingSide(Enum):
    """Which end of a transaction the library is."""

    SUPPLIER = "SUPPLIER"
    REQUESTER = "REQUESTER"


@strawberry.enum
class LendingAnswer(Enum):
    """The supplier's answer to a request (ISO 18626 statuses)."""

    WILL_SUPPLY = "WillSupply"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    UNFILLED = "Unfilled"
    RETRY_POSSIBLE = "RetryPossible"


@strawberry.type
class LendingPeer:
    """An outside library (ISO 18626 agency)."""

    agency_id_type: str
    agency_id_value: str


@strawberry.type
class LendingPartner:
    """The other member library of the transaction."""

    slug: str


@strawberry.type
class LendingHistoryLine:
    """One step of a request: the state after it, when, by whom, what happened."""

    state: str
    at: datetime
    by: str | None = strawberry.field(description="who did it: the staff member's username "
                                                  '(signed in through the console; "staff" '
                                                  "once their account is gone), else the API "
                                                  "client; null for messages and automatic "
                                                  "steps")
    message: str


@strawberry.type
class LendingRequest:
    """An interlibrary request, from this library's end."""

    id: strawberry.ID
    side: LendingSide
    state: str = strawberry.field(description="the ISO 18626 status: RequestReceived, "
                                              "WillSupply, Loaned, LoanCompleted, Unfilled, ...")
    title: str
    requesting_agency_request_id: str
    peer: LendingPeer | None
    partner: LendingPartner | None
    union_catalog_entry_id: strawberry.ID | None
    history: list[LendingHistoryLine]

    @classmethod
    def of(cls, row: RequestRow, staff: Mapping[str, str] | None = None) -> LendingRequest:
        """A request from the lending read model; `staff`: the library's staff usernames by
        user id (`staff_names`), which name the steps its staff took."""
        return cls(
            id=strawberry.ID(str(row["id"])), side=LendingSide(row["side"]), state=row["state"],
            title=row["title"], requesting_agency_request_id=row["requesting_agency_request_id"],
            peer=LendingPeer(agency_id_type=row["peer_type"] or "",
                             agency_id_value=row["peer_value"] or "")
            if row["peer_value"] else None,
            partner=LendingPartner(slug=row["partner"]) if row["partner"] else None,
            union_catalog_entry_id=strawberry.ID(row["entry_id"]) if row["entry_id"] else None,
            history=[LendingHistoryLine(state=h["state"], at=h["at"],
                                        by=_named(h["actor"], staff or {}),
                                        message=h["message"]) for h in row["history"]])


STAFF_ACTOR = "staff:"  # a step by a signed-in staff member: "staff:<user id>", no name


def staff_actor(user_id: str | None, client_id: str) -> str:
    """How a lending step names who took it: a staff member by user id (their name stays in
    the staff directory, where erasure reaches it, never in the events), else the client."""
    return f"{STAFF_ACTOR}{user_id}" if user_id else client_id


def _named(actor: str | None, staff: Mapping[str, str]) -> str | None:
    if actor is None or not actor.startswith(STAFF_ACTOR):
        return actor
    return staff.get(actor.removeprefix(STAFF_ACTOR), "staff")


def staff_names(rows: Iterable[RequestRow],
                list_users: Callable[[], Iterable[Any]]) -> dict[str, str]:
    """The library's staff usernames by user id, when these requests' history names any
    (one look at the directory, none otherwise)."""
    if not any(str(h["actor"] or "").startswith(STAFF_ACTOR)
               for row in rows for h in row["history"]):
        return {}
    return {str(user.id): str(user.username) for user in list_users()}


@strawberry.type
class LendingRequestEdge:
    """A request and the cursor just after it."""

    cursor: str
    node: LendingRequest


@strawberry.type
class LendingRequestConnection:
    """A page of requests, newest first."""

    edges: list[LendingRequestEdge]
    page_info: PageInfo


@strawberry.type
class LendingSettingsType:
    """What the library lends to the consortium and how it answers."""

    material_types: list[str]
    loan_days: int
    auto_answer: bool
    answer_timeout_hours: int
