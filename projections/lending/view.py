"""What others may ask of the interlibrary-lending read model: a tenant's requests (one side
or both, by state, a page at a time) with their history; the requests waiting for an answer
(the rota's clock); each member's recent load (the rota's ranking)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID

from projections.framework import View
from projections.lending.postgres import HISTORY_COLUMNS, NAME, REQUEST_COLUMNS, LendingTables


class HistoryRow(TypedDict):
    """One line of a request's history."""

    state: str
    at: datetime
    actor: str | None
    message: str


class RequestRow(TypedDict):
    """A request as a library's staff see it."""

    id: UUID
    side: str
    state: str
    title: str
    requesting_agency_request_id: str
    peer_type: str | None
    peer_value: str | None
    partner: str | None
    entry_id: str | None
    attempt: int
    sent_at: datetime
    created_at: datetime
    updated_at: datetime
    seq: int
    history: list[HistoryRow]


class FiguresRow(TypedDict):
    """What consortia report of a member's interlibrary requests."""

    member: str
    requests: int
    filled: int
    unfilled: int
    turnaround_hours: float | None


class LendingView(View):
    """Interlibrary requests; every query of a tenant's own names the tenant."""

    name = NAME

    @property
    def _tables(self) -> LendingTables:
        return LendingTables(self.generation)

    def requests(self, tenant: str, *, side: str | None = None, state: str | None = None,
                 after: int | None = None, limit: int = 50,
                 ids: list[str] | None = None) -> list[RequestRow]:
        """The tenant's requests, newest first, with their history."""
        rows = [dict(zip(REQUEST_COLUMNS, r, strict=True)) for r in self._tables.requests_of(
            self.cur, tenant, side=side, state=state, after=after, limit=limit, ids=ids)]
        history: dict[str, list[HistoryRow]] = {}
        for line in self._tables.history_of(self.cur, tenant, [str(r["id"]) for r in rows]):
            found: dict[str, Any] = dict(zip(("request_id", *HISTORY_COLUMNS[1:]), line,
                                             strict=True))
            history.setdefault(found["request_id"], []).append(HistoryRow(
                state=found["state"], at=found["at"], actor=found["actor"],
                message=found["message"]))
        return [RequestRow(**r, history=history.get(str(r["id"]), []))  # type: ignore[typeddict-item]
                for r in rows]

    def request(self, tenant: str, request_id: str) -> RequestRow | None:
        """One of the tenant's requests, or None."""
        found = self.requests(tenant, ids=[request_id], limit=1)
        return found[0] if found else None

    def waiting(self, state: str) -> list[tuple[str, UUID, str | None, datetime]]:
        """(tenant, id, supplier, sent at) of every requester's request in this state (the
        rota's clock reads it; every tenant's)."""
        return [(str(r[0]), r[1], r[2], r[3]) for r in self._tables.waiting(self.cur, state)]

    def load(self, members: list[str], requester: str,
             since: datetime) -> dict[str, tuple[int, int]]:
        """Each member's loans shipped since then, and shipped to this requester ever."""
        recent = self._tables.supplied_since(self.cur, members, since)
        to_requester = self._tables.supplied_to(self.cur, members, requester)
        return {m: (recent.get(m, 0), to_requester.get(m, 0)) for m in members}

    def overdue(self, state: str, now: datetime) -> list[tuple[str, UUID]]:
        """(tenant, id) of suppliers' requests in this state past their due date."""
        return [(str(r[0]), r[1]) for r in self._tables.overdue(self.cur, state, now)]

    def figures(self, since: datetime | None = None,
                until: datetime | None = None) -> list[FiguresRow]:
        """Per member, of its requests made in the period (all, unless given): requests,
        filled, unfilled, mean hours to shipping."""
        return [FiguresRow(member=str(r[0]), requests=int(r[1]), filled=int(r[2]),
                           unfilled=int(r[3]),
                           turnaround_hours=None if r[4] is None else float(r[4]))
                for r in self._tables.figures(self.cur, since, until)]
