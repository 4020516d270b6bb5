"""The GraphQL types of shared acquisition."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from api.graphql.catalog.types import PageInfo
from tenants.acquisition_analysis import Candidate
from tenants.acquisition_analysis import MemberOrder as VisibleOrder


@strawberry.type
class ConsortiumMember:
    """A member library, by slug and name."""

    slug: str
    name: str


@strawberry.type
class Money:
    """An amount in an ISO 4217 currency (a decimal string, two places)."""

    amount: str
    currency: str


@strawberry.type
class WantedTitle:
    """What a suggestion or order asks for: a union catalog entry, or a title and ISBN."""

    entry_id: strawberry.ID | None
    title: str | None
    isbn: str | None
    authors: list[str]
    year: str | None

    @classmethod
    def of(cls, fields: dict[str, Any]) -> WantedTitle:
        """From a recorded title wanted."""
        return cls(entry_id=fields.get("entry_id"), title=fields.get("title"),
                   isbn=fields.get("isbn"), authors=list(fields.get("authors") or []),
                   year=fields.get("year"))


@strawberry.enum
class OrderStatus(Enum):
    """Where an order is."""

    OPEN = "open"
    CANCELLED = "cancelled"
    RECEIVED = "received"


@strawberry.type
class PurchaseSuggestion:
    """A suggestion to buy a title (a patron is never named: only whether one asked)."""

    id: strawberry.ID
    wanted: WantedTitle
    on_behalf_of_patron: bool
    note: str | None
    suggested_at: datetime


@strawberry.type
class PurchaseOrder:
    """One of the library's orders."""

    id: strawberry.ID
    wanted: WantedTitle
    copies: int
    price: Money | None
    vendor: str | None
    status: OrderStatus
    note: str | None
    suggestion_ids: list[strawberry.ID]
    placed_at: datetime
    changed_at: datetime
    record_id: strawberry.ID | None = strawberry.field(
        description="the library's record its copies became, once received")
    barcodes: list[str] = strawberry.field(description="the items received, once received")


@strawberry.type
class MemberHolding:
    """What a member holds of a title: items, and how many are on the shelf now."""

    member: ConsortiumMember
    items: int
    available: int


@strawberry.type
class MemberOrder:
    """A member's open order for a title; its price only if it is the caller's own or the
    office shares prices."""

    member: ConsortiumMember
    copies: int
    placed_at: datetime
    price: Money | None


@strawberry.type
class MemberCount:
    """How many of something one member has (suggestions of a title)."""

    member: ConsortiumMember
    count: int


@strawberry.type
class ConsortiumHoldings:
    """What the consortium already has of a title: holders with copies and availability,
    and members' open orders — a warning before buying, never a refusal."""

    holders: list[MemberHolding]
    copies: int
    available: int
    open_orders: list[MemberOrder]
    warning: str | None


@strawberry.type
class AcquisitionCandidate:
    """A title in the consortium's acquisition analysis."""

    id: strawberry.ID = strawberry.field(description=(
        "`entry:<union entry id>`, or `isbn:<ISBN-13>` / `title:<folded title>` for a "
        "suggested title the union catalog has no entry for"))
    entry_id: strawberry.ID | None
    title: str | None
    isbn: str | None
    authors: list[str]
    holders: list[MemberHolding]
    holding_members: int
    copies: int
    available: int
    holds_waiting: int
    loans_last_year: int
    interlibrary_requests: int
    interlibrary_unfilled: int = strawberry.field(description=(
        "interlibrary requests the rota could not fill (no member supplied the title)"))
    suggestions: int
    suggestions_by_member: list[MemberCount]
    open_orders: list[MemberOrder]
    demand: int = strawberry.field(description=(
        "holds waiting + loans in the last 365 days + suggestions + unfilled requests"))
    demand_per_copy: float = strawberry.field(description=(
        "demand / copies held in the consortium (a title nobody holds: demand)"))
    held_by_me: bool


@strawberry.type
class AcquisitionCandidateEdge:
    """A candidate and its cursor."""

    cursor: str
    node: AcquisitionCandidate


@strawberry.type
class AcquisitionCandidateConnection:
    """A page of the analysis."""

    edges: list[AcquisitionCandidateEdge]
    page_info: PageInfo
    total_count: int


@strawberry.enum
class AcquisitionCandidateSort(Enum):
    """What the analysis ranks by, highest first."""

    DEMAND_PER_COPY = "DEMAND_PER_COPY"
    DEMAND = "DEMAND"
    HOLDS_WAITING = "HOLDS_WAITING"
    LOANS_LAST_YEAR = "LOANS_LAST_YEAR"
    SUGGESTIONS = "SUGGESTIONS"


@strawberry.input
class AcquisitionCandidateFilters:
    """Which titles to keep; a filter left out keeps every title."""

    held_by_me: bool | None = strawberry.field(
        default=None, description="true: titles the caller holds; false: titles it lacks")
    on_order: bool | None = strawberry.field(
        default=None, description="true: titles some member has on open order")
    suggested: bool | None = strawberry.field(
        default=None, description="true: titles some member suggested")
    min_demand: int = 0


@strawberry.type
class AcquisitionSettings:
    """The office's acquisition settings."""

    prices_shared: bool = strawberry.field(
        description="members see the prices of each other's orders")


def member(slug: str, names: dict[str, str]) -> ConsortiumMember:
    """A member by slug, with its name from the directory."""
    return ConsortiumMember(slug=slug, name=names.get(slug, slug))


def money(price: tuple[Any, str] | None) -> Money | None:
    """A price as GraphQL shows it (two decimal places)."""
    if price is None:
        return None
    return Money(amount=f"{Decimal(str(price[0])):.2f}", currency=price[1])


def member_order(order: VisibleOrder, names: dict[str, str]) -> MemberOrder:
    """A member's open order as the caller may see it."""
    return MemberOrder(member=member(order.tenant, names), copies=order.copies,
                       placed_at=order.placed_at, price=money(order.price))


def holdings_of(holders: list[dict[str, Any]], names: dict[str, str]) -> list[MemberHolding]:
    """Per member holding a title, its items and how many are on the shelf."""
    return [MemberHolding(member=member(h["tenant"], names), items=int(h["items"]),
                          available=int(h["available"])) for h in holders]


def candidate_of(found: Candidate, viewer: str | None,
                 names: dict[str, str]) -> AcquisitionCandidate:
    """A candidate as GraphQL shows it."""
    return AcquisitionCandidate(
        id=strawberry.ID(found.id),
        entry_id=strawberry.ID(found.entry_id) if found.entry_id else None, title=found.title,
        isbn=found.isbn, authors=found.authors, holders=holdings_of(found.holders, names),
        holding_members=sum(1 for h in found.holders if int(h["items"]) > 0),
        copies=found.copies, available=found.available, holds_waiting=found.holds_waiting,
        loans_last_year=found.loans_last_year,
        interlibrary_requests=found.interlibrary_requests,
        interlibrary_unfilled=found.interlibrary_unfilled, suggestions=found.suggestions,
        suggestions_by_member=[MemberCount(member=member(slug, names), count=count)
                               for slug, count in sorted(found.suggested_by.items())],
        open_orders=[member_order(o, names) for o in found.open_orders],
        demand=found.demand, demand_per_copy=round(found.demand_per_copy, 4),
        held_by_me=viewer is not None and found.held_by(viewer))

