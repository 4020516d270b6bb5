"""Circulation mutations (scope library:write). Every one takes an idempotency key: a retry
with the same key answers as the first call did and records nothing new (the answer is
written with the command's events). Each answers once the circulation view shows the
change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.circulation.types import Hold, Loan, LoanPolicy, Patron
from api.graphql.commands import execute
from api.graphql.context import Context
from domain.circulation.application import Erasure
from domain.circulation.item_lending import ItemLending
from domain.circulation.policy import LoanPolicy as Policy
from domain.shared.application import Receipt
from tenants.commands import CIRCULATION_VIEWS
from tenants.desk import Desk

R = TypeVar("R")


@strawberry.input
class RegisterPatronInput:
    """A new patron."""

    barcode: str
    name: str
    email: str | None = None
    patron_group: str = strawberry.field(description="e.g. undergraduate, faculty, public")
    expires_on: date
    idempotency_key: str | None = None


@strawberry.input
class PatronInput:
    """A patron, by barcode."""

    barcode: str
    idempotency_key: str | None = None


@strawberry.input
class BlockPatronInput:
    """A patron to block, and why."""

    barcode: str
    reason: str
    idempotency_key: str | None = None


@strawberry.input
class CheckOutInput:
    """An item to lend to a patron."""

    item_barcode: str
    patron_barcode: str
    idempotency_key: str | None = None


@strawberry.input
class ItemActionInput:
    """An item to check in or renew: its barcode, or the id of its open loan."""

    item_barcode: str | None = None
    loan_id: strawberry.ID | None = None
    idempotency_key: str | None = None


def _barcode_of(desk: Desk, input: ItemActionInput) -> str:
    """The item the input names, by barcode or by its open loan."""
    if input.loan_id is None:
        if input.item_barcode is None:
            raise GraphQLError("give itemBarcode or loanId", extensions={"code": "INVALID_INPUT"})
        return input.item_barcode
    barcode = desk.item_on_loan(_uuid(str(input.loan_id), "loanId"))
    if input.item_barcode is not None and input.item_barcode.strip() != barcode:
        raise GraphQLError(f"loan {input.loan_id} is of item {barcode}, not "
                           f"{input.item_barcode!r}", extensions={"code": "INVALID_INPUT"})
    return barcode


@strawberry.input
class PlaceHoldInput:
    """A patron joining a title's queue."""

    record_id: strawberry.ID
    patron_barcode: str
    idempotency_key: str | None = None


@strawberry.input
class CancelHoldInput:
    """A hold to cancel."""

    record_id: strawberry.ID
    hold_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class LoanPolicyInput:
    """A loan policy for a patron group and a material type ('*' for any)."""

    patron_group: str = "*"
    material_type: str = "*"
    loan_days: int = 21
    max_renewals: int = 2
    max_loans: int = 10
    hold_blocks_renewal: bool = True
    hold_shelf_days: int = 7
    idempotency_key: str | None = None


@strawberry.type
class PatronPayload:
    """The patron as registered."""

    patron: Patron


@strawberry.type
class LoanPayload:
    """The loan as it now is."""

    loan: Loan


@strawberry.type
class CheckInItem:
    """An item just checked in."""

    barcode: str
    status: str = strawberry.field(description="AVAILABLE, ON_HOLD_SHELF for the next "
                                               "patron in the queue, or the catalog's status "
                                               "(WITHDRAWN, MISSING) of a copy that may no "
                                               "longer circulate; LOST once declared lost")


@strawberry.type
class HeldFor:
    """The hold a checked-in copy waits for on the hold shelf: what a hold slip prints."""

    hold_id: strawberry.ID
    patron_id: strawberry.ID | None = strawberry.field(
        description="the patron the copy waits for (patron(id:) gives their name and "
                    "barcode); null once the copy left the shelf or the patron was erased")
    pickup_until: datetime


@strawberry.type
class CheckInPayload:
    """The item, back."""

    item: CheckInItem
    held_for: HeldFor | None = strawberry.field(
        default=None, description="whom the copy now waits for on the hold shelf, if anyone")


@strawberry.type
class DeclareItemLostPayload:
    """The item declared lost (status LOST); its loan is closed."""

    item: CheckInItem


@strawberry.type
class CancelledHold:
    """A hold cancelled because its patron was erased."""

    hold_id: strawberry.ID
    record_id: strawberry.ID
    item_barcode: str | None = strawberry.field(
        description="the copy that waited on the hold shelf for it (it passes to the next "
                    "patron in the queue), if one did")


@strawberry.type
class HoldPayload:
    """The hold, with its place in the queue."""

    hold: Hold


@strawberry.type
class ErasePayload:
    """Whether the patron is erased, and the holds their erasure cancelled."""

    erased: bool
    cancelled_holds: list[CancelledHold] = strawberry.field(default_factory=list)


@strawberry.type
class LoanPolicyPayload:
    """The policy as set."""

    policy: LoanPolicy


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise GraphQLError(f"{field}: {value!r} is not an id of ours",
                           extensions={"code": "INVALID_INPUT"}) from None


def _item(lending: ItemLending) -> dict[str, Any]:
    """A copy's barcode and status as the desk sees it after a command."""
    known = lending.known_copy
    status = lending.status if known is None or known.lendable else known.catalog_status
    return {"barcode": lending.item_barcode, "status": status.upper()}


def _checked_in(lending: ItemLending) -> dict[str, Any]:
    """A check-in's answer: the item, and the hold it waits for on the hold shelf (the
    patron is looked up when answering, never kept under the key)."""
    held = lending.held_for
    return {"item": _item(lending), "held_for": None if held is None else {
        "hold_id": str(held.hold_id), "pickup_until": held.until.isoformat()}}


def _erased(erasure: Erasure) -> dict[str, Any]:
    return {"erased": True, "cancelled_holds": [
        {"hold_id": str(h.hold_id), "record_id": str(h.record_id),
         "item_barcode": h.item_barcode} for h in erasure.cancelled_holds]}


def _loan(lending: ItemLending) -> dict[str, Any]:
    return {"id": str(lending.loan_id), "due_at": lending.due_at.isoformat() if lending.due_at
            else None, "renewals": lending.renewals, "item_barcode": lending.item_barcode,
            "record_id": str(lending.record_id),
            "checked_out_at": lending.checked_out_at.isoformat() if lending.checked_out_at
            else None}


async def _run(info: Info[Context, None], operation: str, given: object,
               command: Callable[[Desk, Receipt | None], R],
               answer_of: Callable[[R], dict[str, Any]]) -> dict[str, Any]:
    """Runs a desk command through the command pipeline (once per idempotency key), then
    waits for the circulation view."""
    tenant = (await info.context.principal()).library("library:write")
    services = info.context.services
    desk = services.desk(tenant)
    return await execute(info, services.scope(tenant), operation, given,
                         run=lambda receipt: command(desk, receipt), answer=answer_of,
                         views=CIRCULATION_VIEWS)


def _patron_answer(patron: Any) -> dict[str, Any]:
    """A patron command's answer as kept under its idempotency key: the patron's id only
    (personal data is never kept outside the sealed events)."""
    return {"patron_id": str(patron.id)}


async def _patron_payload(info: Info[Context, None], answer: dict[str, Any]) -> PatronPayload:
    """The patron as they are now (erased, if they were since)."""
    tenant = (await info.context.principal()).library("library:write")
    desk = info.context.services.desk(tenant)
    patron_id = uuid.UUID(answer["patron_id"])
    return PatronPayload(patron=Patron.of(
        tenant, await run_in_threadpool(lambda: desk.patron(patron_id=patron_id))))


@strawberry.type
class CirculationMutations:
    """What a library's desk does."""

    @strawberry.mutation(description="Register a patron; name and e-mail are sealed with "  # type: ignore[untyped-decorator]
                         "the patron's own key.")
    async def register_patron(self, info: Info[Context, None],
                              input: RegisterPatronInput) -> PatronPayload:
        answer = await _run(info, "registerPatron", input, lambda desk, receipt:
                            desk.register_patron(input.barcode, input.name, input.email,
                                                 input.patron_group, input.expires_on,
                                                 receipt=receipt),
                            _patron_answer)
        return await _patron_payload(info, answer)

    @strawberry.mutation(description="Block a patron from borrowing, with the reason.")  # type: ignore[untyped-decorator]
    async def block_patron(self, info: Info[Context, None],
                           input: BlockPatronInput) -> PatronPayload:
        answer = await _run(info, "blockPatron", input, lambda desk, receipt:
                            desk.circulation.block_patron(desk.card(input.barcode).patron_id,
                                                          input.reason, receipt),
                            _patron_answer)
        return await _patron_payload(info, answer)

    @strawberry.mutation(description="Lift a patron's blocks.")  # type: ignore[untyped-decorator]
    async def unblock_patron(self, info: Info[Context, None],
                             input: PatronInput) -> PatronPayload:
        answer = await _run(info, "unblockPatron", input, lambda desk, receipt:
                            desk.circulation.unblock_patron(desk.card(input.barcode).patron_id,
                                                            receipt),
                            _patron_answer)
        return await _patron_payload(info, answer)

    @strawberry.mutation(description="Erase a patron for good: their key is destroyed, so "  # type: ignore[untyped-decorator]
                         "nobody can read who they were or which loans were theirs. Refused "
                         "while they have items on loan.")
    async def erase_patron(self, info: Info[Context, None],
                           input: PatronInput) -> ErasePayload:
        answer = await _run(info, "erasePatron", input, lambda desk, receipt:
                            desk.erase_patron(input.barcode, receipt), _erased)
        return ErasePayload(erased=True, cancelled_holds=[
            CancelledHold(hold_id=strawberry.ID(h["hold_id"]),
                          record_id=strawberry.ID(h["record_id"]),
                          item_barcode=h["item_barcode"])
            for h in answer.get("cancelled_holds", ())])

    @strawberry.mutation(description="Lend an item to a patron.")  # type: ignore[untyped-decorator]
    async def check_out(self, info: Info[Context, None], input: CheckOutInput) -> LoanPayload:
        answer = await _run(info, "checkOut", input, lambda desk, receipt:
                            desk.check_out(input.item_barcode, input.patron_barcode, receipt),
                            lambda lending: {"loan": _loan(lending)})
        return LoanPayload(loan=Loan.of(answer["loan"]))

    @strawberry.mutation(description="Take an item back (by barcode, or its loan's id); it "  # type: ignore[untyped-decorator]
                         "goes to the hold shelf when someone waits for its title.")
    async def check_in(self, info: Info[Context, None],
                       input: ItemActionInput) -> CheckInPayload:
        answer = await _run(info, "checkIn", input, lambda desk, receipt:
                            desk.check_in(_barcode_of(desk, input), receipt), _checked_in)
        item = CheckInItem(**answer.get("item", answer))  # answers kept before heldFor: flat
        held = answer.get("held_for")
        if held is None:
            return CheckInPayload(item=item)
        tenant = (await info.context.principal()).library("library:write")
        desk = info.context.services.desk(tenant)
        hold_id = uuid.UUID(held["hold_id"])
        patron_id = await run_in_threadpool(lambda: desk.patron_held_for(item.barcode, hold_id))
        return CheckInPayload(item=item, held_for=HeldFor(
            hold_id=strawberry.ID(str(hold_id)),
            patron_id=strawberry.ID(str(patron_id)) if patron_id else None,
            pickup_until=datetime.fromisoformat(held["pickup_until"])))

    @strawberry.mutation(description="Declare lost an item on loan that will not come back "  # type: ignore[untyped-decorator]
                         "(by barcode, or its loan's id): its loan closes and the copy is "
                         "lost; checking it in later finds it again.")
    async def declare_item_lost(self, info: Info[Context, None],
                                input: ItemActionInput) -> DeclareItemLostPayload:
        answer = await _run(info, "declareItemLost", input, lambda desk, receipt:
                            desk.declare_item_lost(_barcode_of(desk, input), receipt),
                            lambda lending: {"item": _item(lending)})
        return DeclareItemLostPayload(item=CheckInItem(**answer["item"]))

    @strawberry.mutation(description="Renew a loan, named by its item or its id.")  # type: ignore[untyped-decorator]
    async def renew(self, info: Info[Context, None], input: ItemActionInput) -> LoanPayload:
        answer = await _run(info, "renew", input, lambda desk, receipt:
                            desk.renew(_barcode_of(desk, input), receipt),
                            lambda lending: {"loan": _loan(lending)})
        return LoanPayload(loan=Loan.of(answer["loan"]))

    @strawberry.mutation(description="Put a patron in a title's queue.")  # type: ignore[untyped-decorator]
    async def place_hold(self, info: Info[Context, None], input: PlaceHoldInput) -> HoldPayload:
        record_id = _uuid(str(input.record_id), "recordId")

        answer = await _run(info, "placeHold", input, lambda desk, receipt:
                            desk.place_hold(record_id, input.patron_barcode, receipt),
                            lambda placed: {"id": str(placed[0]), "position": placed[1],
                                            "record_id": str(record_id)})
        return HoldPayload(hold=Hold(id=strawberry.ID(answer["id"]), position=answer["position"],
                                     status="WAITING",
                                     record_id=strawberry.ID(answer["record_id"])))

    @strawberry.mutation(description="Cancel a hold.")  # type: ignore[untyped-decorator]
    async def cancel_hold(self, info: Info[Context, None], input: CancelHoldInput) -> bool:
        record_id = _uuid(str(input.record_id), "recordId")
        hold_id = _uuid(str(input.hold_id), "holdId")
        await _run(info, "cancelHold", input, lambda desk, receipt:
                   desk.circulation.cancel_hold(record_id, hold_id, None, receipt),
                   lambda _: {})
        return True

    @strawberry.mutation(description="Set the loan policy of a patron group and a material "  # type: ignore[untyped-decorator]
                         "type ('*' for any).")
    async def set_loan_policy(self, info: Info[Context, None],
                              input: LoanPolicyInput) -> LoanPolicyPayload:
        policy = Policy(loan_days=input.loan_days, max_renewals=input.max_renewals,
                        max_loans=input.max_loans, hold_blocks_renewal=input.hold_blocks_renewal,
                        hold_shelf_days=input.hold_shelf_days)

        await _run(info, "setLoanPolicy", input, lambda desk, receipt:
                   desk.set_policy(input.patron_group, input.material_type, policy, receipt),
                   lambda _: {})
        return LoanPolicyPayload(policy=LoanPolicy(
            patron_group=input.patron_group.strip().lower(),
            material_type=input.material_type.strip().lower(), loan_days=policy.loan_days,
            max_renewals=policy.max_renewals, max_loans=policy.max_loans,
            hold_blocks_renewal=policy.hold_blocks_renewal,
            hold_shelf_days=policy.hold_shelf_days))
