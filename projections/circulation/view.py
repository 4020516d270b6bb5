"""What others may ask of the circulation read model: lending states, loans and holds, by
pseudonym (never a patron's name). Every query names the tenant."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID

from domain.circulation.item_lending import ON_HOLD_SHELF
from projections.circulation.postgres import NAME, ON_SHELF, WAITING, CirculationTables
from projections.framework import View


class LendingRow(TypedDict):
    """An item's lending state."""

    status: str
    loan_id: UUID | None
    due_at: datetime | None
    renewals: int
    pickup_until: datetime | None


class LoanRow(TypedDict):
    """A loan, open or closed."""

    id: UUID
    item_barcode: str
    record_id: UUID
    borrower: UUID | None
    checked_out_at: datetime
    due_at: datetime
    renewals: int
    checked_in_at: datetime | None
    was_overdue: bool | None


class HoldRow(TypedDict):
    """A patron's hold with its place in the queue (1 = next)."""

    id: UUID
    record_id: UUID
    status: str
    pickup_until: datetime | None
    placed_at: datetime
    position: int


class CirculationView(View):
    """Lending states, loans and holds of a tenant."""

    name = NAME

    @property
    def _tables(self) -> CirculationTables:
        return CirculationTables(self.generation)

    def lendings(self, tenant: str, item_ids: list[str]) -> dict[str, LendingRow]:
        """The lending states of those of these items that were ever lent, in one query."""
        return {str(r[0]): LendingRow(status=r[1], loan_id=r[2], due_at=r[3],
                                      renewals=int(r[4]), pickup_until=r[5])
                for r in self._tables.lendings(self.cur, tenant, item_ids)}

    def lending(self, tenant: str, item_id: str) -> LendingRow | None:
        """An item's lending state, if it was ever lent."""
        return self.lendings(tenant, [item_id]).get(item_id)

    def statuses(self, tenant: str, item_ids: list[str]) -> dict[str, str]:
        """The lending status of those items that were ever lent."""
        return {item: row["status"] for item, row in self.lendings(tenant, item_ids).items()}

    def item_on_loan(self, tenant: str, loan_id: str) -> str | None:
        """The barcode of the item an open loan lends, if the loan is open."""
        return self._tables.open_loan_item(self.cur, tenant, loan_id)

    def loans(self, tenant: str, *, borrower: str | None = None, open_only: bool = True,
              overdue_at: datetime | None = None, limit: int = 500) -> list[LoanRow]:
        """Loans of the tenant (a borrower's; open ones; overdue ones), newest first."""
        rows = self._tables.loans_of(self.cur, tenant, borrower=borrower, open_only=open_only,
                                     overdue_at=overdue_at, limit=limit)
        return [LoanRow(id=r[0], item_barcode=r[1], record_id=r[2], borrower=r[3],
                        checked_out_at=r[4], due_at=r[5], renewals=int(r[6]),
                        checked_in_at=r[7], was_overdue=r[8]) for r in rows]

    def holds(self, tenant: str, borrower: str) -> list[HoldRow]:
        """A borrower's current holds with their place in the queue (1 = next)."""
        rows = self._tables.holds_of(self.cur, tenant, borrower, WAITING, ON_SHELF)
        return [HoldRow(id=r[0], record_id=r[1], status=r[2], pickup_until=r[3],
                        placed_at=r[4], position=int(r[5])) for r in rows]

    def queue_lengths(self, tenant: str, record_ids: list[str]) -> dict[str, int]:
        """How many patrons wait for each of these records, in one query."""
        found = self._tables.queue_lengths(self.cur, tenant, record_ids, WAITING)
        return {record_id: found.get(record_id, 0) for record_id in record_ids}

    def queue_length(self, tenant: str, record_id: str) -> int:
        """How many patrons wait for a record."""
        return self.queue_lengths(tenant, [record_id])[record_id]

    def expired_pickups(self, now: datetime) -> list[tuple[str, str]]:
        """(tenant, item id) of copies whose hold was not collected in time (every tenant's:
        the sweeper's question)."""
        return self._tables.expired_pickups(self.cur, now, ON_HOLD_SHELF)
