"""The consortium's figures, as the office and each member see them: per member, records,
items, active patrons, loans and returns per day, holds waiting, overdue loans, shared
records contributed, titles held and titles only it holds (unique holdings); and the
collection overlap of each pair of members — the classic consortium collection analysis.

A title is a union catalog entry; a member holds it when one of its records is in the
entry with at least one item. Only active members count (a suspended or archived member's
figures leave the consortium's). A member sees its own figures, the consortium's totals,
and the overlap of its collection with each other member's; the office sees everything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import combinations
from typing import Protocol

from projections.circulation_figures.view import TOTALS, Day

MAX_DAYS = 366
COLLECTION = ("titles_held", "unique_holdings")


class FiguresInvalidError(ValueError):
    """A period the figures cannot be given for (the message names the argument)."""


class CountsReads(Protocol):
    """What the figures ask of the circulation figures read model."""

    def totals(self, tenants: list[str], now: datetime) -> dict[str, dict[str, int]]: ...

    def daily(self, tenants: list[str], since: date, until: date) -> list[Day]: ...


class HoldersReads(Protocol):
    """What the figures ask of the union catalog."""

    def holder_sets(self) -> Iterable[frozenset[str]]:
        """For every entry, the members holding items of it."""


@dataclass
class Figures:
    """One member's figures, or the consortium's totals."""

    counts: dict[str, int]
    daily: list[tuple[date, int, int]]


@dataclass
class Overlap:
    """Titles two members both hold, beside how many each holds."""

    a: str
    b: str
    shared: int
    a_titles: int
    b_titles: int

    @property
    def jaccard(self) -> float:
        """Shared titles over titles either holds (0 when neither holds any)."""
        either = self.a_titles + self.b_titles - self.shared
        return self.shared / either if either else 0.0


@dataclass
class ConsortiumFigures:
    """The figures a caller may see, for a period of UTC days."""

    since: date
    until: date
    members: dict[str, Figures]
    totals: Figures
    overlap: list[Overlap] = field(default_factory=list)


def period(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The days asked for: the last 30 by default, at most MAX_DAYS, never reversed."""
    end = until or today
    start = since or end - timedelta(days=29)
    if start > end:
        raise FiguresInvalidError(f"since: {start} is after until ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise FiguresInvalidError(f"since: at most {MAX_DAYS} days at once, not "
                                  f"{(end - start).days + 1}")
    return start, end


def consortium_figures(counts: CountsReads, holders: HoldersReads, *, active: list[str],
                       viewer: str | None, since: date, until: date,
                       now: datetime) -> ConsortiumFigures:
    """The figures of every active member (the office) or of the viewer, with the totals of
    all active members and the pairwise overlaps the caller may see."""
    members = sorted(active)
    totals = counts.totals(members, now)
    collection, pairs, titles = _collection(holders, set(members))
    days = _series(counts.daily(members, since, until), members, since, until)
    every = {m: Figures({**totals[m], **collection[m]}, days[m]) for m in members}
    summed = Figures({name: sum(f.counts[name] for f in every.values())
                      for name in (*TOTALS, *COLLECTION)},
                     [(d, sum(every[m].daily[i][1] for m in members),
                       sum(every[m].daily[i][2] for m in members))
                      for i, d in enumerate(_days(since, until))])
    summed.counts["titles_held"] = titles  # a title two members hold counts once
    overlap = [Overlap(a, b, pairs.get((a, b), 0), collection[a]["titles_held"],
                       collection[b]["titles_held"]) for a, b in combinations(members, 2)]
    if viewer is not None:
        every = {viewer: every[viewer]} if viewer in every else {}
        overlap = [o for o in overlap if viewer in (o.a, o.b)]
    return ConsortiumFigures(since, until, every, summed, overlap)


def _collection(holders: HoldersReads, active: set[str]
                ) -> tuple[dict[str, dict[str, int]], dict[tuple[str, str], int], int]:
    """Per member, titles held and held by it alone; per pair, titles both hold; and the
    titles any member holds."""
    held: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    titles = 0
    for holding in holders.holder_sets():
        members = sorted(holding & active)
        if not members:
            continue
        titles += 1
        held.update(members)
        if len(members) == 1:
            alone[members[0]] += 1
        pairs.update(combinations(members, 2))
    found = {m: {"titles_held": held[m], "unique_holdings": alone[m]} for m in active}
    return found, dict(pairs), titles


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _series(rows: list[Day], members: list[str], since: date,
            until: date) -> dict[str, list[tuple[date, int, int]]]:
    """Each member's loans and returns on every day of the period (zero on quiet days)."""
    found = {(r.tenant, r.day): (r.loans, r.returns) for r in rows}
    return {m: [(d, *found.get((m, d), (0, 0))) for d in _days(since, until)]
            for m in members}
