"""Circulation queries (scope library:read): patrons, overdue loans, loan policies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.circulation.types import Loan, LoanPolicy, Patron
from api.graphql.context import Context
from projections.circulation.view import CirculationView


@strawberry.type
class CirculationQueries:
    """What a library asks of its circulation."""

    @strawberry.field(description="A patron by barcode or id; an erased patron (by id) "  # type: ignore[untyped-decorator]
                      "shows as erased, without personal data.")
    async def patron(self, info: Info[Context, None], barcode: str | None = None,
                     id: strawberry.ID | None = None) -> Patron:
        tenant = (await info.context.principal()).library("library:read")
        if (barcode is None) == (id is None):
            raise GraphQLError("patron: give either barcode or id",
                               extensions={"code": "INVALID_INPUT"})
        try:
            patron_id = uuid.UUID(str(id)) if id is not None else None
        except ValueError:
            raise GraphQLError(f"id: {id!r} is not a patron id",
                               extensions={"code": "INVALID_INPUT"}) from None
        desk = info.context.services.desk(tenant)
        found = await run_in_threadpool(lambda: desk.patron(barcode=barcode,
                                                            patron_id=patron_id))
        return Patron.of(tenant, found)

    @strawberry.field(description="Loans past their due date, most overdue first: the "  # type: ignore[untyped-decorator]
                      "library's, or one patron's.")
    async def overdue_loans(self, info: Info[Context, None], first: int = 100,
                            patron_barcode: str | None = None) -> list[Loan]:
        tenant = (await info.context.principal()).library("library:read")
        desk = info.context.services.desk(tenant)

        def read() -> list[Loan]:
            borrower = (str(desk.key_of(patron_barcode).pseudonym)
                        if patron_barcode is not None else None)
            with info.context.services.view(CirculationView) as view:
                rows = view.loans(tenant, borrower=borrower, overdue_at=datetime.now(UTC),
                                  limit=max(1, min(first, 1000)))
            return sorted((Loan.of(dict(r)) for r in rows), key=lambda loan: loan.due_at)

        return await run_in_threadpool(read)

    @strawberry.field(description="The library's loan policies ('*' matches any).")  # type: ignore[untyped-decorator]
    async def loan_policies(self, info: Info[Context, None]) -> list[LoanPolicy]:
        tenant = (await info.context.principal()).library("library:read")
        desk = info.context.services.desk(tenant)
        policies = await run_in_threadpool(desk.circulation.policies)
        out = [LoanPolicy(patron_group=key.split("|")[0], material_type=key.split("|")[1],
                          **rule) for key, rule in sorted(policies.rules.items())]
        if "*|*" not in policies.rules:
            default = policies.for_loan("*", "*")
            out.append(LoanPolicy(patron_group="*", material_type="*",
                                  loan_days=default.loan_days,
                                  max_renewals=default.max_renewals,
                                  max_loans=default.max_loans,
                                  hold_blocks_renewal=default.hold_blocks_renewal,
                                  hold_shelf_days=default.hold_shelf_days))
        return out
