"""Acquisition mutations: a library suggests a purchase, places, cancels and receives
orders; the office decides whether members see each other's prices. Each goes through the
command pipeline and answers once the shared acquisition view shows it."""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.dependencies import Services
from api.graphql.acquisition.queries import (
    consortium_holdings,
    order_of,
    suggestion_of,
    union_reads,
)
from api.graphql.acquisition.types import (
    AcquisitionSettings,
    ConsortiumHoldings,
    PurchaseOrder,
    PurchaseSuggestion,
)
from api.graphql.catalog.mutations import LocationInput, parse_id
from api.graphql.commands import execute
from api.graphql.context import Context
from domain.acquisition.order import Order
from domain.catalog.item import Location
from tenants.acquisition import (
    Delivery,
    WantedInput,
    cancel_order,
    place_order,
    receive_order,
    set_price_sharing,
    suggest_purchase,
)
from tenants.commands import CATALOG_VIEWS

ACQUISITION_VIEWS = ("shared_acquisition",)


@strawberry.input
class WantedTitleInput:
    """A union catalog entry, or — when the consortium has none — a title and/or ISBN."""

    entry_id: strawberry.ID | None = None
    title: str | None = None
    isbn: str | None = strawberry.field(default=None, description="ISBN-10 or ISBN-13")
    authors: list[str] | None = None
    year: str | None = None


@strawberry.input
class MoneyInput:
    """A price for one copy: amount (decimal string, at most two places) and currency."""

    amount: str
    currency: str


@strawberry.input
class SuggestPurchaseInput:
    """A title to suggest buying; on a patron's behalf, their barcode (only their pseudonym
    is kept)."""

    wanted: WantedTitleInput
    patron_barcode: str | None = None
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class PlaceOrderInput:
    """Copies of a title to order."""

    wanted: WantedTitleInput
    copies: int
    price: MoneyInput | None = None
    vendor: str | None = None
    suggestion_ids: list[strawberry.ID] | None = None
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class CancelOrderInput:
    """An open order to cancel."""

    order_id: strawberry.ID
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class ReceiveOrderInput:
    """An open order's copies, arrived: one barcode each, where they go, and the record
    they are copies of (left out: the library's record in the order's union entry, or a
    new record catalogued from the order)."""

    order_id: strawberry.ID
    barcodes: list[str]
    location: LocationInput
    record_id: strawberry.ID | None = None
    material_type: str = "book"
    idempotency_key: str | None = None


@strawberry.input
class SetPriceSharingInput:
    """Whether members see the prices of each other's orders."""

    enabled: bool
    idempotency_key: str | None = None


@strawberry.type
class SuggestPurchasePayload:
    """The suggestion recorded."""

    suggestion: PurchaseSuggestion


@strawberry.type
class PlaceOrderPayload:
    """The order placed, and what the consortium already has of the title."""

    order: PurchaseOrder
    consortium: ConsortiumHoldings


@strawberry.type
class OrderPayload:
    """The order as it now is."""

    order: PurchaseOrder


def _wanted(given: WantedTitleInput) -> WantedInput:
    return WantedInput(entry_id=str(given.entry_id) if given.entry_id else None,
                       title=given.title, isbn=given.isbn,
                       authors=tuple(given.authors or ()), year=given.year)


def _order_answer(order: Order) -> dict[str, Any]:
    return {"order_id": str(order.id)}


async def _order(info: Info[Context, None], tenant: str, answer: dict[str, Any]
                 ) -> PurchaseOrder:
    services: Services = info.context.services
    return await run_in_threadpool(order_of, services.scope(tenant),
                                   parse_id(answer["order_id"], "orderId"))


@strawberry.type
class AcquisitionMutations:
    """What member libraries and the office do about buying."""

    @strawberry.mutation(description="Suggest buying a title (staff, or on a patron's "  # type: ignore[untyped-decorator]
                         "behalf: only the patron's pseudonym is kept).")
    async def suggest_purchase(self, info: Info[Context, None],
                               input: SuggestPurchaseInput) -> SuggestPurchasePayload:
        tenant = (await info.context.principal()).library("library:write")
        scope = info.context.services.scope(tenant)
        wanted = _wanted(input.wanted)
        answer = await execute(
            info, scope, "suggestPurchase", input,
            run=lambda receipt: union_reads(info.context, lambda reads: suggest_purchase(
                scope, reads, wanted, patron_barcode=input.patron_barcode, note=input.note,
                receipt=receipt)),
            answer=lambda done: {"suggestion_id": str(done.id)}, views=ACQUISITION_VIEWS)
        suggestion = await run_in_threadpool(
            suggestion_of, scope, parse_id(answer["suggestion_id"], "suggestionId"))
        return SuggestPurchasePayload(suggestion=suggestion)

    @strawberry.mutation(description="Place an order; the answer shows what the consortium "  # type: ignore[untyped-decorator]
                         "already holds and has on order (a warning, not a refusal).")
    async def place_order(self, info: Info[Context, None],
                          input: PlaceOrderInput) -> PlaceOrderPayload:
        tenant = (await info.context.principal()).library("library:write")
        scope = info.context.services.scope(tenant)
        wanted = _wanted(input.wanted)
        price = (input.price.amount, input.price.currency) if input.price else None
        suggestions = [parse_id(str(s), "suggestionIds") for s in input.suggestion_ids or []]
        answer = await execute(
            info, scope, "placeOrder", input,
            run=lambda receipt: union_reads(info.context, lambda reads: place_order(
                scope, reads, wanted, copies=input.copies, price=price, vendor=input.vendor,
                suggestion_ids=suggestions, note=input.note, receipt=receipt)),
            answer=_order_answer, views=ACQUISITION_VIEWS)
        order = await _order(info, tenant, answer)
        return PlaceOrderPayload(order=order, consortium=await consortium_holdings(
            info.context, tenant, order))

    @strawberry.mutation(description="Cancel an open order (a received one cannot be).")  # type: ignore[untyped-decorator]
    async def cancel_order(self, info: Info[Context, None],
                           input: CancelOrderInput) -> OrderPayload:
        tenant = (await info.context.principal()).library("library:write")
        scope = info.context.services.scope(tenant)
        order_id = parse_id(str(input.order_id), "orderId")
        answer = await execute(
            info, scope, "cancelOrder", input,
            run=lambda receipt: cancel_order(scope, order_id, input.reason, receipt),
            answer=_order_answer, views=ACQUISITION_VIEWS)
        return OrderPayload(order=await _order(info, tenant, answer))

    @strawberry.mutation(description="Receive an open order: its record is found or "  # type: ignore[untyped-decorator]
                         "catalogued, and each copy becomes an item.")
    async def receive_order(self, info: Info[Context, None],
                            input: ReceiveOrderInput) -> OrderPayload:
        tenant = (await info.context.principal()).library("library:write")
        scope = info.context.services.scope(tenant)
        order_id = parse_id(str(input.order_id), "orderId")
        record_id = parse_id(str(input.record_id)) if input.record_id else None
        delivery = Delivery(barcodes=list(input.barcodes), record_id=record_id,
                            location=Location(input.location.branch, input.location.collection,
                                              input.location.shelf),
                            material_type=input.material_type)
        answer = await execute(
            info, scope, "receiveOrder", input,
            run=lambda receipt: union_reads(info.context, lambda reads: receive_order(
                scope, reads, order_id, delivery, receipt)),
            answer=_order_answer, views=ACQUISITION_VIEWS + CATALOG_VIEWS)
        return OrderPayload(order=await _order(info, tenant, answer))

    @strawberry.mutation(description="Let members see each other's order prices, or not "  # type: ignore[untyped-decorator]
                         "(the consortium office only).")
    async def set_acquisition_price_sharing(self, info: Info[Context, None],
                                            input: SetPriceSharingInput
                                            ) -> AcquisitionSettings:
        (await info.context.principal()).require_admin()
        office = info.context.services.office
        answer = await execute(
            info, office, "setAcquisitionPriceSharing", input,
            run=lambda receipt: set_price_sharing(office, input.enabled, receipt),
            answer=lambda setting: {"enabled": setting.enabled}, views=ACQUISITION_VIEWS)
        return AcquisitionSettings(prices_shared=bool(answer["enabled"]))
