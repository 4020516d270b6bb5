"""The consortium's acquisition analysis: every title with demand — a union entry whose
members' records have holds waiting, loans in the last year or interlibrary requests, or a
title suggested or on order — ranked by demand per copy held across the consortium.

Demand is holds waiting + loans in the last 365 days + suggestions + interlibrary requests
that went unfilled; copies are the items members hold (at least one, so a title nobody
holds ranks by its demand). A member sees other members' holdings and open orders, never
their patrons, and their prices only when the office shares prices."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from projections.circulation_figures.view import RecordDemand
from projections.shared_acquisition.view import OrderRow, Requested, Titled

YEAR = timedelta(days=365)
SORTS: dict[str, Callable[[Candidate], float]] = {
    "DEMAND_PER_COPY": lambda c: c.demand_per_copy,
    "DEMAND": lambda c: float(c.demand),
    "HOLDS_WAITING": lambda c: float(c.holds_waiting),
    "LOANS_LAST_YEAR": lambda c: float(c.loans_last_year),
    "SUGGESTIONS": lambda c: float(c.suggestions),
}


class CandidateInvalidError(ValueError):
    """A sort, filter or cursor of the analysis is not one it knows."""


class HoldingsReads(Protocol):
    """What the analysis asks of the union catalog."""

    def entry_with_isbn(self, isbn: str) -> str | None:
        """The entry an ISBN belongs to."""

    def entries_of_records(self, records: list[tuple[str, UUID]]
                           ) -> dict[tuple[str, UUID], str]:
        """The entries of member records (tenant, record id), in one query."""

    def described(self, entry_ids: list[str]
                  ) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Entries (title, authors, isbns) with their holdings per member (tenant, items,
        available), in one query each; entries not in sight left out."""


class AcquisitionReads(Protocol):
    """What the analysis asks of the shared acquisition read model."""

    def prices_shared(self) -> bool: ...

    def open_orders(self, wanted_keys: list[str]) -> list[OrderRow]: ...

    def suggestions(self) -> list[tuple[Titled, str, int]]: ...

    def titles_on_order(self) -> list[Titled]: ...

    def interlibrary(self) -> list[Requested]: ...


class DemandReads(Protocol):
    """What the analysis asks of the circulation figures."""

    def record_demand(self, since: datetime) -> list[RecordDemand]: ...


@dataclass(frozen=True)
class MemberOrder:
    """A member's open order for a title, as the viewer may see it."""

    tenant: str
    copies: int
    placed_at: datetime
    price: tuple[Decimal, str] | None


@dataclass
class Candidate:
    """One title's place in the analysis."""

    id: str
    entry_id: str | None
    title: str | None = None
    isbn: str | None = None
    authors: list[str] = field(default_factory=list)
    holders: list[dict[str, Any]] = field(default_factory=list)
    holds_waiting: int = 0
    loans_last_year: int = 0
    interlibrary_requests: int = 0
    interlibrary_unfilled: int = 0
    suggestions: int = 0
    suggested_by: dict[str, int] = field(default_factory=dict)
    open_orders: list[MemberOrder] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    @property
    def copies(self) -> int:
        """Items held across the consortium."""
        return sum(int(h["items"]) for h in self.holders)

    @property
    def available(self) -> int:
        """Items on the shelf now across the consortium."""
        return sum(int(h["available"]) for h in self.holders)

    @property
    def demand(self) -> int:
        """Holds waiting, loans in the last year, suggestions, unfilled requests."""
        return (self.holds_waiting + self.loans_last_year + self.suggestions
                + self.interlibrary_unfilled)

    @property
    def demand_per_copy(self) -> float:
        """Demand for each copy held (a title nobody holds counts as one copy)."""
        return self.demand / max(self.copies, 1)

    def held_by(self, tenant: str) -> bool:
        """True if the member holds items of it."""
        return any(h["tenant"] == tenant and int(h["items"]) > 0 for h in self.holders)


@dataclass(frozen=True)
class Filters:
    """Which candidates to keep."""

    held_by_me: bool | None = None
    on_order: bool | None = None
    suggested: bool | None = None
    min_demand: int = 0

    def keep(self, candidate: Candidate, viewer: str | None) -> bool:
        """True if the candidate passes every filter given."""
        checks = [candidate.demand >= self.min_demand]
        if self.held_by_me is not None and viewer is not None:
            checks.append(candidate.held_by(viewer) == self.held_by_me)
        if self.on_order is not None:
            checks.append(bool(candidate.open_orders) == self.on_order)
        if self.suggested is not None:
            checks.append((candidate.suggestions > 0) == self.suggested)
        return all(checks)


def candidates(holdings: HoldingsReads, acquisition: AcquisitionReads, demand: DemandReads,
               *, viewer: str | None, active: set[str], now: datetime) -> list[Candidate]:
    """Every title with demand, orders or suggestions, as the viewer (a member, or None for
    the office) may see it; members not active (suspended, archived) are left out."""
    found: dict[str, Candidate] = {}
    resolved: dict[str, str] = {}

    def of(titled: Titled) -> Candidate:
        key = resolved.get(titled.key)
        if key is None:
            entry_id = titled.entry_id
            if entry_id is None and titled.isbn is not None:
                entry_id = holdings.entry_with_isbn(titled.isbn)
            key = resolved[titled.key] = f"entry:{entry_id}" if entry_id else titled.key
        candidate = found.get(key)
        if candidate is None:
            entry_id = key.removeprefix("entry:") if key.startswith("entry:") else None
            candidate = found[key] = Candidate(id=key, entry_id=entry_id, title=titled.title,
                                               isbn=titled.isbn)
        candidate.keys.add(titled.key)
        return candidate

    demand_rows = [r for r in demand.record_demand(now - YEAR) if r.tenant in active]
    requested = [r for r in acquisition.interlibrary() if r.tenant in active]
    entry_of = holdings.entries_of_records(sorted(
        {(r.tenant, r.record_id) for r in demand_rows}
        | {(r.tenant, r.record_id) for r in requested}))

    def of_record(tenant: str, record_id: UUID) -> Candidate | None:
        entry_id = entry_of.get((tenant, record_id))
        return of(Titled(f"entry:{entry_id}", entry_id, None, None)) if entry_id else None

    for row in demand_rows:
        candidate = of_record(row.tenant, row.record_id)
        if candidate is not None:
            candidate.holds_waiting += row.holds_waiting
            candidate.loans_last_year += row.loans
    for request in requested:
        candidate = of_record(request.tenant, request.record_id)
        if candidate is not None:
            candidate.interlibrary_requests += request.requests
            candidate.interlibrary_unfilled += request.unfilled
    for titled, tenant, count in acquisition.suggestions():
        if tenant in active:
            candidate = of(titled)
            candidate.suggestions += count
            candidate.suggested_by[tenant] = candidate.suggested_by.get(tenant, 0) + count
    for titled in acquisition.titles_on_order():
        of(titled)
    _add_orders(found.values(), acquisition, viewer, active)
    _describe(found.values(), holdings, active)
    return [c for c in found.values() if c.demand or c.open_orders]


def _add_orders(found: Iterable[Candidate], acquisition: AcquisitionReads,
                viewer: str | None, active: set[str]) -> None:
    by_key: dict[str, Candidate] = {key: c for c in found for key in c.keys}
    shared = acquisition.prices_shared()
    grouped: dict[str, list[OrderRow]] = defaultdict(list)
    for order in acquisition.open_orders(sorted(by_key)):
        grouped[order["wanted_key"]].append(order)
    for key, orders in grouped.items():
        by_key[key].open_orders += [visible_order(o, viewer, shared) for o in orders
                                    if o["tenant"] in active]


def visible_order(order: OrderRow, viewer: str | None, prices_shared: bool) -> MemberOrder:
    """An open order as the viewer may see it: its price only if it is the viewer's own, the
    office asks, or the office shares prices."""
    price = None
    see_price = viewer is None or order["tenant"] == viewer or prices_shared
    if see_price and order["price_amount"] is not None and order["price_currency"]:
        price = (order["price_amount"], order["price_currency"])
    return MemberOrder(order["tenant"], order["copies"], order["placed_at"], price)


def _describe(found: Iterable[Candidate], holdings: HoldingsReads, active: set[str]) -> None:
    """Fills in the entries' titles and holders, in one round of queries."""
    with_entries = [c for c in found if c.entry_id is not None]
    described = holdings.described(sorted({str(c.entry_id) for c in with_entries}))
    for candidate in with_entries:
        entry, holders = described.get(str(candidate.entry_id), ({}, []))
        candidate.title = entry.get("title") or candidate.title
        isbns = [i for i in entry.get("isbns") or [] if len(i) == 13]
        candidate.isbn = isbns[0] if isbns else candidate.isbn
        candidate.authors = list(entry.get("authors") or [])
        candidate.holders = [h for h in holders if h["tenant"] in active]


def ranked(found: list[Candidate], *, sort: str, filters: Filters, viewer: str | None,
           first: int, after: str | None) -> tuple[list[tuple[str, Candidate]], bool]:
    """One page of candidates, highest first by the sort (ties by id): (cursor, candidate)
    pairs, and whether more follow."""
    if sort not in SORTS:
        raise CandidateInvalidError(f"sort: {sort!r} is not one of {sorted(SORTS)}")
    key = SORTS[sort]
    kept = sorted((c for c in found if filters.keep(c, viewer)),
                  key=lambda c: (-key(c), c.id))
    start = _offset(after)
    page = kept[start:start + first]
    return ([(_cursor(start + i + 1), c) for i, c in enumerate(page)],
            start + first < len(kept))


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"candidates:{offset}".encode()).decode()


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        offset = int(number)
    except (ValueError, UnicodeDecodeError):
        raise CandidateInvalidError(f"after: {after!r} is not a cursor of this list") from None
    if kind != "candidates" or offset < 0:
        raise CandidateInvalidError(f"after: {after!r} is not a cursor of this list")
    return offset
