"""Interlibrary lending mutations (scope ill). Every one takes an idempotency key and
answers once the lending read model (and circulation's, when a copy moved) shows the change.
`id` is always the library's own request id, whichever end it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.commands import execute
from api.graphql.context import Context
from api.graphql.lending.types import (
    LendingAnswer,
    LendingRequest,
    LendingSettingsType,
    staff_actor,
    staff_names,
)
from domain.lending.message import check_note
from domain.shared.application import Receipt
from projections.lending.view import LendingView
from tenants.commands import CIRCULATION_VIEWS
from tenants.lending import InterlibraryDesk

LENDING_VIEWS = ("lending", *CIRCULATION_VIEWS)


@strawberry.input
class LendingPeerInput:
    """An outside library registered with this one (ISO 18626)."""

    agency_id_type: str
    agency_id_value: str


@strawberry.input
class RequestLoanInput:
    """A patron's request for a title of the union catalog: down the consortium's rota, or
    to an outside library when `peer` names one."""

    union_catalog_entry_id: strawberry.ID
    patron_barcode: str
    pickup_location: str
    needed_by: datetime | None = None
    note: str | None = None
    peer: LendingPeerInput | None = None
    idempotency_key: str | None = None


@strawberry.input
class RespondToLendingRequestInput:
    """The supplier's answer; WILL_SUPPLY pulls the copy named (or one on the shelf)."""

    id: strawberry.ID
    answer: LendingAnswer
    reason: str | None = None
    note: str | None = None
    item_barcode: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class ShipLendingRequestInput:
    """The supplier ships the pulled copy (due in its consortium loan period unless given)."""

    id: strawberry.ID
    due_at: datetime | None = None
    idempotency_key: str | None = None


@strawberry.input
class ReceiveLendingRequestInput:
    """The requester received the copy; it is lent to the patron unless told not to."""

    id: strawberry.ID
    lend_to_patron: bool = True
    idempotency_key: str | None = None


@strawberry.input
class LendingRequestInput:
    """A request of the library's, by its id."""

    id: strawberry.ID
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class RenewLendingRequestInput:
    """The requester asks for a renewal; the supplier approves (default) or refuses one."""

    id: strawberry.ID
    approve: bool = True
    due_at: datetime | None = None
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class LendingSettingsInput:
    """What the library lends to the consortium and how it answers."""

    material_types: list[str] = strawberry.field(default_factory=lambda: ["*"])
    loan_days: int = 28
    auto_answer: bool = False
    answer_timeout_hours: int = 48
    idempotency_key: str | None = None


@strawberry.type
class LendingRequestPayload:
    """The request as it now is."""

    request: LendingRequest


@strawberry.type
class LendingSettingsPayload:
    """The settings as set."""

    settings: LendingSettingsType


def _id(value: strawberry.ID) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise GraphQLError(f"id: {value!r} is not a request id of ours",
                           extensions={"code": "INVALID_INPUT"}) from None


def _aware(value: datetime | None, field: str) -> datetime | None:
    """A date-time given with its UTC offset (one without cannot be compared with the
    clock's: it gave INTERNAL)."""
    if value is not None and value.utcoffset() is None:
        raise GraphQLError(f"{field}: give the date-time with its UTC offset, e.g. "
                           "2027-01-31T17:00:00Z", extensions={"code": "INVALID_INPUT"})
    return value


async def _run(info: Info[Context, None], operation: str, given: object,
               command: Callable[[InterlibraryDesk, str, Receipt | None], Any]
               ) -> LendingRequestPayload:
    """Runs a lending command through the pipeline; the request as the view shows it."""
    caller = await info.context.principal()
    tenant = caller.library("ill")
    services = info.context.services
    desk = services.lending_desk(tenant)
    answer = await execute(info, services.scope(tenant), operation, given,
                           run=lambda receipt: command(
                               desk, staff_actor(caller.user_id, caller.client_id), receipt),
                           answer=lambda request: {"id": str(request.id)}, views=LENDING_VIEWS)

    def read() -> LendingRequest:
        with services.view(LendingView) as view:
            row = view.request(tenant, answer["id"])
        if row is None:  # the view waited for the command's own events
            raise GraphQLError(f"request {answer['id']} is not in the lending view yet",
                               extensions={"code": "NOT_FOUND"})
        return LendingRequest.of(row, staff_names(
            [row], lambda: services.consortium.staff.list_users(tenant)))

    return LendingRequestPayload(request=await run_in_threadpool(read))


@strawberry.type
class LendingMutations:
    """What a library's interlibrary staff do, at either end."""

    @strawberry.mutation(description="Ask the consortium for a title of the union catalog "  # type: ignore[untyped-decorator]
                         "for a patron: it goes to the least loaded member holding an "
                         "available copy, then down the rota.")
    async def request_loan(self, info: Info[Context, None],
                           input: RequestLoanInput) -> LendingRequestPayload:
        services = info.context.services
        needed_by = _aware(input.needed_by, "neededBy")

        def run(desk: InterlibraryDesk, actor: str, receipt: Receipt | None) -> Any:
            return desk.request_loan(str(input.union_catalog_entry_id), input.patron_barcode,
                                     input.pickup_location, needed_by=needed_by,
                                     note=input.note, actor=actor, receipt=receipt,
                                     card_of=services.desk(desk.tenant).card,
                                     peer=(input.peer.agency_id_type, input.peer.agency_id_value)
                                     if input.peer else None)

        return await _run(info, "requestLoan", input, run)

    @strawberry.mutation(description="Answer a request received: WILL_SUPPLY (pulls the "  # type: ignore[untyped-decorator]
                         "copy), EXPECT_TO_SUPPLY, UNFILLED with a reason, RETRY_POSSIBLE "
                         "with the conditions.")
    async def respond_to_lending_request(self, info: Info[Context, None],
                                         input: RespondToLendingRequestInput
                                         ) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "respondToLendingRequest", input, lambda desk, actor, receipt:
                          desk.respond(request_id, input.answer.value, reason=input.reason,
                                       note=input.note, item_barcode=input.item_barcode,
                                       actor=actor, receipt=receipt))

    @strawberry.mutation(description="Ship the copy pulled for a request: it is checked "  # type: ignore[untyped-decorator]
                         "out to the borrowing library until the due date.")
    async def ship_lending_request(self, info: Info[Context, None],
                                   input: ShipLendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        due_at = _aware(input.due_at, "dueAt")
        return await _run(info, "shipLendingRequest", input, lambda desk, actor, receipt:
                          desk.ship(request_id, due_at=due_at, actor=actor, receipt=receipt))

    @strawberry.mutation(description="The copy arrived: Received, and lent to the patron "  # type: ignore[untyped-decorator]
                         "under a temporary item with the supplier's due date.")
    async def receive_lending_request(self, info: Info[Context, None],
                                      input: ReceiveLendingRequestInput
                                      ) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "receiveLendingRequest", input, lambda desk, actor, receipt:
                          desk.receive(request_id, lend_to_patron=input.lend_to_patron,
                                       actor=actor, receipt=receipt))

    @strawberry.mutation(description="Lend a copy received (with lendToPatron: false) to "  # type: ignore[untyped-decorator]
                         "the patron now, under a temporary item with the supplier's due "
                         "date.")
    async def lend_on_lending_request(self, info: Info[Context, None],
                                      input: LendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "lendOnLendingRequest", input, lambda desk, _, receipt:
                          desk.lend_on(request_id, receipt=receipt))

    @strawberry.mutation(description="Send the copy back to the supplier (the patron's loan "  # type: ignore[untyped-decorator]
                         "of the temporary item closes): ShippedReturn.")
    async def return_lending_request(self, info: Info[Context, None],
                                     input: LendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "returnLendingRequest", input, lambda desk, actor, receipt:
                          desk.return_copy(request_id, actor=actor, receipt=receipt))

    @strawberry.mutation(description="The supplier checks the returned copy in: "  # type: ignore[untyped-decorator]
                         "LoanCompleted.")
    async def complete_lending_request(self, info: Info[Context, None],
                                       input: LendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "completeLendingRequest", input, lambda desk, actor, receipt:
                          desk.complete(request_id, actor=actor, receipt=receipt))

    @strawberry.mutation(description="Requester: ask for a renewal. Supplier: answer one "  # type: ignore[untyped-decorator]
                         "(approve, or refuse with approve: false).")
    async def renew_lending_request(self, info: Info[Context, None],
                                    input: RenewLendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        due_at = _aware(input.due_at, "dueAt")
        return await _run(info, "renewLendingRequest", input, lambda desk, actor, receipt:
                          desk.renew(request_id, approve=input.approve, due_at=due_at,
                                     note=input.note, actor=actor, receipt=receipt))

    @strawberry.mutation(description="Supplier: recall a copy on loan before its due date.")  # type: ignore[untyped-decorator]
    async def recall_lending_request(self, info: Info[Context, None],
                                     input: LendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "recallLendingRequest", input, lambda desk, actor, receipt:
                          desk.lending.recall(request_id, check_note(input.note), actor,
                                              receipt))

    @strawberry.mutation(description="Requester: ask to cancel (before shipping). Supplier: "  # type: ignore[untyped-decorator]
                         "cancel a request not shipped yet; a pulled copy goes back.")
    async def cancel_lending_request(self, info: Info[Context, None],
                                     input: LendingRequestInput) -> LendingRequestPayload:
        request_id = _id(input.id)
        return await _run(info, "cancelLendingRequest", input, lambda desk, actor, receipt:
                          desk.cancel(request_id, note=input.note, actor=actor,
                                      receipt=receipt))

    @strawberry.mutation(description="Set what the library lends to the consortium, its "  # type: ignore[untyped-decorator]
                         "loan period, automatic answers and how long the rota waits.")
    async def set_lending_settings(self, info: Info[Context, None],
                                   input: LendingSettingsInput) -> LendingSettingsPayload:
        tenant = (await info.context.principal()).library("ill")
        scope = info.context.services.scope(tenant)
        await execute(info, scope, "setLendingSettings", input,
                      run=lambda receipt: scope.lending.set_settings(
                          input.material_types, input.loan_days,
                          auto_answer=input.auto_answer,
                          answer_timeout_hours=input.answer_timeout_hours, receipt=receipt),
                      answer=lambda _: {}, views=())
        found = await run_in_threadpool(scope.lending.settings)
        return LendingSettingsPayload(settings=LendingSettingsType(
            material_types=list(found.material_types), loan_days=found.loan_days,
            auto_answer=found.auto_answer, answer_timeout_hours=found.answer_timeout_hours))

