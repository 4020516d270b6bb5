"""The consortium's figures: the office (consortium:admin) sees every active member's, a
member (library:read) its own; both get the consortium's totals and the collection overlap
they may see (a member: its own collection with each other member's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.acquisition.queries import ACTIVE, union_reads
from api.graphql.acquisition.types import ConsortiumMember, member
from api.graphql.context import Context
from api.graphql.sharing.queries import actor
from projections.circulation_figures.view import CirculationFiguresView
from projections.lending.view import FiguresRow, LendingView
from tenants.figures import (
    ConsortiumFigures,
    Figures,
    FiguresInvalidError,
    consortium_figures,
    period,
)


@strawberry.type
class DailyCirculation:
    """Loans and returns on one UTC day."""

    day: date
    loans: int
    returns: int


@strawberry.type
class FigureCounts:
    """A member's figures, or the consortium's totals."""

    records: int
    items: int = strawberry.field(description="items not withdrawn")
    active_patrons: int = strawberry.field(
        description="patrons with a card valid today, not erased")
    holds_waiting: int
    overdue_loans: int = strawberry.field(description="open loans past their due time")
    shared_records_contributed: int
    titles_held: int = strawberry.field(description=(
        "union catalog entries with a copy held (totals: each title once)"))
    unique_holdings: int = strawberry.field(
        description="titles no other active member holds a copy of")
    daily: list[DailyCirculation] = strawberry.field(
        description="every day of the period, oldest first (zero on quiet days)")

    @classmethod
    def of(cls, figures: Figures) -> FigureCounts:
        """From the use case's figures."""
        c = figures.counts
        return cls(records=c["records"], items=c["items"],
                   active_patrons=c["active_patrons"], holds_waiting=c["holds_waiting"],
                   overdue_loans=c["overdue_loans"],
                   shared_records_contributed=c["shared_records"],
                   titles_held=c["titles_held"], unique_holdings=c["unique_holdings"],
                   daily=[DailyCirculation(day=d, loans=loans, returns=returns)
                          for d, loans, returns in figures.daily])


@strawberry.type
class InterlibraryFigures:
    """Interlibrary requests a member made in the period (as requester): the figure
    consortia report."""

    requests: int
    filled: int = strawberry.field(description="a copy was shipped")
    unfilled: int = strawberry.field(description="the rota ran out")
    turnaround_hours: float | None = strawberry.field(
        description="mean hours from the request to the copy shipped, of those filled")

    @classmethod
    def of(cls, row: FiguresRow | None) -> InterlibraryFigures:
        """From the lending read model (none made: zeros)."""
        if row is None:
            return cls(requests=0, filled=0, unfilled=0, turnaround_hours=None)
        hours = row["turnaround_hours"]
        return cls(requests=row["requests"], filled=row["filled"], unfilled=row["unfilled"],
                   turnaround_hours=None if hours is None else round(hours, 2))


@strawberry.type
class MemberFigures:
    """One member's figures."""

    member: ConsortiumMember
    figures: FigureCounts
    interlibrary: InterlibraryFigures


@strawberry.type
class CollectionOverlap:
    """Titles two members both hold a copy of, beside how many each holds."""

    a: ConsortiumMember
    b: ConsortiumMember
    shared_titles: int
    a_titles: int
    b_titles: int
    jaccard: float = strawberry.field(
        description="shared titles / titles either holds (0 when neither holds any)")


@strawberry.type
class ConsortiumFiguresResult:
    """The figures for a period of UTC days."""

    since: date
    until: date
    as_of: datetime
    members: list[MemberFigures] = strawberry.field(
        description="the office: every active member; a member: itself")
    totals: FigureCounts = strawberry.field(description="all active members together")
    overlap: list[CollectionOverlap] = strawberry.field(
        description="the office: every pair of active members; a member: its pairs")


def _shown(found: ConsortiumFigures, names: dict[str, str], now: datetime,
           interlibrary: dict[str, FiguresRow]) -> ConsortiumFiguresResult:
    return ConsortiumFiguresResult(
        since=found.since, until=found.until, as_of=now,
        members=[MemberFigures(member=member(slug, names), figures=FigureCounts.of(f),
                               interlibrary=InterlibraryFigures.of(interlibrary.get(slug)))
                 for slug, f in found.members.items()],
        totals=FigureCounts.of(found.totals),
        overlap=[CollectionOverlap(a=member(o.a, names), b=member(o.b, names),
                                   shared_titles=o.shared, a_titles=o.a_titles,
                                   b_titles=o.b_titles, jaccard=round(o.jaccard, 4))
                 for o in found.overlap])


@strawberry.type
class FiguresQueries:
    """The consortium's figures."""

    @strawberry.field(description="Consortium figures for a period of UTC days (default: "  # type: ignore[untyped-decorator]
                      "the last 30; at most 366): per member, totals and collection overlap.")
    async def consortium_figures(self, info: Info[Context, None], since: date | None = None,
                                 until: date | None = None) -> ConsortiumFiguresResult:
        who = actor(await info.context.principal(), "library:read")
        viewer = None if who == "office" else who
        now = datetime.now(UTC)
        try:
            start, end = period(since, until, now.date())
        except FiguresInvalidError as error:
            raise GraphQLError(str(error), extensions={"code": "INVALID_INPUT"}) from None

        def read() -> ConsortiumFiguresResult:
            services = info.context.services
            listed = services.tenant_directory()
            names = {t["slug"]: t["name"] for t in listed}
            active = [t["slug"] for t in listed if t["status"] == ACTIVE]
            with services.view(CirculationFiguresView) as counts:
                found = union_reads(info.context, lambda holders: consortium_figures(
                    counts, holders, active=active, viewer=viewer, since=start, until=end,
                    now=now))
            with services.view(LendingView) as lending:
                interlibrary = {row["member"]: row for row in lending.figures(
                    datetime.combine(start, time.min, UTC),
                    datetime.combine(end + timedelta(days=1), time.min, UTC))}
            return _shown(found, names, now, interlibrary)

        return await run_in_threadpool(read)
