"""GraphQL types of circulation. Loans and holds name no patron; a patron's personal data is
opened from the event store with their key, and only for `library:read`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.context import Context
from projections.circulation.view import CirculationView


@strawberry.type
class Loan:
    """An item lent to a patron."""

    id: strawberry.ID
    due_at: datetime
    renewals: int
    checked_out_at: datetime | None = None
    checked_in_at: datetime | None = None
    item_barcode: str | None = None
    record_id: strawberry.ID | None = None

    @strawberry.field(description="due before now and not back yet")  # type: ignore[untyped-decorator]
    def overdue(self) -> bool:
        return self.checked_in_at is None and self.due_at < datetime.now(UTC)

    @classmethod
    def of(cls, row: dict[str, Any]) -> Loan:
        """A loan from the circulation view (or a mutation's answer)."""
        return cls(id=strawberry.ID(str(row["id"])), due_at=_when(row["due_at"]),
                   renewals=int(row.get("renewals") or 0),
                   checked_out_at=_when(row.get("checked_out_at")),
                   checked_in_at=_when(row.get("checked_in_at")),
                   item_barcode=row.get("item_barcode"),
                   record_id=strawberry.ID(str(row["record_id"])) if row.get("record_id")
                   else None)


def _when(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@strawberry.type
class Hold:
    """A patron's place in a title's queue, or a copy waiting on the hold shelf."""

    id: strawberry.ID
    position: int = strawberry.field(description="1 = next; 0 once a copy waits on the shelf")
    status: str = strawberry.field(description="WAITING or ON_SHELF")
    record_id: strawberry.ID | None = None
    pickup_until: datetime | None = None


@strawberry.type
class Patron:
    """A patron of the library (personal data needs library:read; erased patrons have none)."""

    id: strawberry.ID
    barcode: str | None
    name: str | None
    email: str | None
    patron_group: str
    expires_on: date
    blocks: list[str]
    erased: bool
    _tenant: strawberry.Private[str]
    _pseudonym: strawberry.Private[str | None]

    def _loans(self, info: Info[Context, None], open_only: bool) -> list[Loan]:
        if self._pseudonym is None:
            return []
        with info.context.services.view(CirculationView) as view:
            rows = view.loans(self._tenant, borrower=self._pseudonym, open_only=open_only)
        return [Loan.of(dict(row)) for row in rows]

    @strawberry.field(description="items on loan now")  # type: ignore[untyped-decorator]
    async def loans(self, info: Info[Context, None]) -> list[Loan]:
        return await run_in_threadpool(self._loans, info, True)

    @strawberry.field(description="every loan, newest first (kept only while the patron "  # type: ignore[untyped-decorator]
                      "exists: erasure drops it)")
    async def history(self, info: Info[Context, None]) -> list[Loan]:
        return await run_in_threadpool(self._loans, info, False)

    @strawberry.field(description="holds waiting, with their place in the queue")  # type: ignore[untyped-decorator]
    async def holds(self, info: Info[Context, None]) -> list[Hold]:
        def read() -> list[Hold]:
            if self._pseudonym is None:
                return []
            with info.context.services.view(CirculationView) as view:
                rows = view.holds(self._tenant, self._pseudonym)
            return [Hold(id=strawberry.ID(str(r["id"])),
                         position=int(r["position"]) if r["status"] == "waiting" else 0,
                         status=str(r["status"]).upper(),
                         record_id=strawberry.ID(str(r["record_id"])),
                         pickup_until=r["pickup_until"]) for r in rows]

        return await run_in_threadpool(read)

    @classmethod
    def of(cls, tenant: str, found: dict[str, Any]) -> Patron:
        """A patron as the desk opened them."""
        pseudonym = found.get("pseudonym")
        return cls(id=strawberry.ID(str(found["id"])), barcode=found["barcode"],
                   name=found["name"], email=found["email"],
                   patron_group=found["patron_group"], expires_on=found["expires_on"],
                   blocks=found["blocks"], erased=found["erased"], _tenant=tenant,
                   _pseudonym=str(pseudonym) if pseudonym else None)


@strawberry.type
class LoanPolicy:
    """How long, how often and how many, for a patron group and a material type."""

    patron_group: str
    material_type: str
    loan_days: int
    max_renewals: int
    max_loans: int
    hold_blocks_renewal: bool
    hold_shelf_days: int
