"""What others may ask of the circulation figures: each member's totals now, loans and
returns per day, and the demand each member record sees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from projections.circulation_figures.postgres import NAME, CirculationFiguresTables
from projections.framework import View

TOTALS = ("records", "items", "active_patrons", "holds_waiting", "overdue_loans",
          "shared_records")


class Day(NamedTuple):
    """One member's loans and returns on one UTC day."""

    tenant: str
    day: date
    loans: int
    returns: int


class RecordDemand(NamedTuple):
    """A member record's holds waiting and loans since a date."""

    tenant: str
    record_id: UUID
    holds_waiting: int
    loans: int


class CirculationFiguresView(View):
    """Members' figures."""

    name = NAME

    def __init__(self, cur: Any, generation: int = 1) -> None:
        super().__init__(cur, generation)
        self._tables = CirculationFiguresTables(generation)

    def totals(self, tenants: list[str], now: datetime) -> dict[str, dict[str, int]]:
        """Per member, each of TOTALS (zero when none): active patrons hold a card valid
        today and were not erased; an overdue loan is open past its due time."""
        found = self._tables.totals(self.cur, tenants, now.date(), now)
        return {t: {name: found.get(t, {}).get(name, 0) for name in TOTALS} for t in tenants}

    def daily(self, tenants: list[str], since: date, until: date) -> list[Day]:
        """Loans and returns of each member per UTC day with any, from since to until."""
        return [Day(*row) for row in self._tables.daily(self.cur, tenants, since, until)]

    def record_demand(self, since: datetime) -> list[RecordDemand]:
        """Every member record with holds waiting or loans since `since`."""
        return [RecordDemand(str(r[0]), r[1], int(r[2]), int(r[3]))
                for r in self._tables.record_demand(self.cur, since)]
