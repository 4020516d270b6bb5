"""Acquisition queries: the library's own orders, what the consortium has of a title, and
the consortium's acquisition analysis (members with library:read, and the office)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.acquisition.reads import UnionCatalogReads
from api.graphql.acquisition.types import (
    AcquisitionCandidateConnection,
    AcquisitionCandidateEdge,
    AcquisitionCandidateFilters,
    AcquisitionCandidateSort,
    AcquisitionSettings,
    ConsortiumHoldings,
    Money,
    OrderStatus,
    PurchaseOrder,
    PurchaseSuggestion,
    WantedTitle,
    candidate_of,
    holdings_of,
    member_order,
)
from api.graphql.catalog.queries import MAX_PAGE
from api.graphql.catalog.types import PageInfo
from api.graphql.context import Context
from api.graphql.sharing.queries import actor
from domain.acquisition.errors import OrderNotFoundError
from domain.acquisition.wanted import Wanted, wanted_key
from projections.circulation_figures.view import CirculationFiguresView
from projections.shared_acquisition.view import SharedAcquisitionView
from projections.union_catalog.view import UnionCatalogView
from tenants.acquisition import WantedInput, resolve_wanted
from tenants.acquisition_analysis import (
    CandidateInvalidError,
    Filters,
    candidates,
    ranked,
    visible_order,
)
from tenants.scope import TenantScope

T = TypeVar("T")
ACTIVE = "active"


def union_reads(context: Context, work: Callable[[UnionCatalogReads], T]) -> T:
    """Runs work (in a worker thread) with the union catalog's reads."""
    with context.services.view(UnionCatalogView) as view:
        return work(UnionCatalogReads(view))


def order_of(scope: TenantScope, order_id: uuid.UUID) -> PurchaseOrder:
    """One of the library's orders, from its own log."""
    order = scope.acquisitions.get_order(order_id)
    return PurchaseOrder(
        id=strawberry.ID(str(order.id)), wanted=WantedTitle.of(order.wanted.as_fields()),
        copies=order.copies,
        price=Money(amount=order.price.amount, currency=order.price.currency)
        if order.price else None,
        vendor=order.vendor, status=OrderStatus(order.status), note=order.note,
        suggestion_ids=[strawberry.ID(str(s)) for s in order.suggestion_ids],
        placed_at=order.placed_at, changed_at=order.changed_at,
        record_id=strawberry.ID(str(order.record_id)) if order.record_id else None,
        barcodes=list(order.barcodes))


def suggestion_of(scope: TenantScope, suggestion_id: uuid.UUID) -> PurchaseSuggestion:
    """One of the library's suggestions, from its own log."""
    found = scope.acquisitions.get_suggestion(suggestion_id)
    return PurchaseSuggestion(id=strawberry.ID(str(found.id)),
                              wanted=WantedTitle.of(found.wanted.as_fields()),
                              on_behalf_of_patron=found.for_patron is not None,
                              note=found.note, suggested_at=found.suggested_at)


def _members(context: Context) -> tuple[dict[str, str], set[str]]:
    """Every member's name by slug, and the slugs of the active ones."""
    listed = context.services.tenant_directory()
    return ({t["slug"]: t["name"] for t in listed},
            {t["slug"] for t in listed if t["status"] == ACTIVE})


def _holdings_now(context: Context, tenant: str, wanted: Wanted) -> ConsortiumHoldings:
    names, active = _members(context)
    keys = sorted({wanted_key(wanted)} | ({f"isbn:{wanted.isbn}"} if wanted.isbn else set()))
    holders: list[dict[str, Any]] = []
    if wanted.entry_id is not None:
        holders = union_reads(context, lambda reads: reads.holdings(str(wanted.entry_id)))
        holders = [h for h in holders if h["tenant"] in active]
    with context.services.view(SharedAcquisitionView) as view:
        shared = view.prices_shared()
        orders = [visible_order(o, tenant, shared) for o in view.open_orders(keys)
                  if o["tenant"] != tenant and o["tenant"] in active]
    shown = holdings_of(holders, names)
    copies = sum(h.items for h in shown)
    warning = None
    if copies or orders:
        warning = (f"the consortium holds {copies} copies of this title "
                   f"({sum(h.available for h in shown)} available now) at {len(shown)} "
                   f"libraries, and {len(orders)} other libraries have it on order")
    return ConsortiumHoldings(holders=shown, copies=copies,
                              available=sum(h.available for h in shown),
                              open_orders=[member_order(o, names) for o in orders],
                              warning=warning)


async def consortium_holdings(context: Context, tenant: str,
                              order: PurchaseOrder) -> ConsortiumHoldings:
    """What the consortium has of an order's title, other than the library's own orders."""
    w = order.wanted
    wanted = Wanted(str(w.entry_id) if w.entry_id else None, w.title, w.isbn,
                    tuple(w.authors), w.year)
    return await run_in_threadpool(_holdings_now, context, tenant, wanted)


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_INPUT"})


@strawberry.type
class AcquisitionQueries:
    """Orders, and the consortium's shared acquisition view."""

    @strawberry.field(description="One of the library's orders; null if it has none with "  # type: ignore[untyped-decorator]
                      "this id.")
    async def purchase_order(self, info: Info[Context, None],
                             id: strawberry.ID) -> PurchaseOrder | None:
        tenant = (await info.context.principal()).library("library:read")
        try:
            order_id = uuid.UUID(str(id))
        except ValueError:
            return None
        scope = info.context.services.scope(tenant)
        try:
            return await run_in_threadpool(order_of, scope, order_id)
        except OrderNotFoundError:
            return None

    @strawberry.field(description="The library's orders, newest first.")  # type: ignore[untyped-decorator]
    async def purchase_orders(self, info: Info[Context, None], status: OrderStatus | None = None,
                              first: int = 50) -> list[PurchaseOrder]:
        tenant = (await info.context.principal()).library("library:read")
        if not 1 <= first <= MAX_PAGE:
            raise _invalid(f"first: give 1 to {MAX_PAGE}, not {first}")
        scope = info.context.services.scope(tenant)

        def read() -> list[PurchaseOrder]:
            with info.context.services.view(SharedAcquisitionView) as view:
                rows = view.orders(tenant=tenant, status=status.value if status else None,
                                   limit=first)
            return [order_of(scope, row["order_id"]) for row in rows]

        return await run_in_threadpool(read)

    @strawberry.field(description="What the consortium holds and has on order of a title "  # type: ignore[untyped-decorator]
                      "(other members' orders; prices only if the office shares them).")
    async def consortium_holdings(self, info: Info[Context, None], entry_id: strawberry.ID |
                                  None = None, isbn: str | None = None,
                                  title: str | None = None) -> ConsortiumHoldings:
        tenant = (await info.context.principal()).library("library:read")
        given = WantedInput(str(entry_id) if entry_id else None, title, isbn)
        wanted = await run_in_threadpool(
            union_reads, info.context, lambda reads: resolve_wanted(reads, given))
        return await run_in_threadpool(_holdings_now, info.context, tenant, wanted)

    @strawberry.field(description="Titles ranked by demand per copy across the consortium: "  # type: ignore[untyped-decorator]
                      "union entries with holds, loans or requests, and titles suggested or "
                      "on order.")
    async def acquisition_candidates(
        self, info: Info[Context, None],
        sort: AcquisitionCandidateSort = AcquisitionCandidateSort.DEMAND_PER_COPY,
        filters: AcquisitionCandidateFilters | None = None, first: int = 20,
        after: str | None = None,
    ) -> AcquisitionCandidateConnection:
        who = actor(await info.context.principal(), "library:read")
        viewer = None if who == "office" else who
        if not 1 <= first <= MAX_PAGE:
            raise _invalid(f"first: give 1 to {MAX_PAGE}, not {first}")
        given = filters or AcquisitionCandidateFilters()
        if given.min_demand < 0:
            raise _invalid(f"filters.minDemand: give 0 or more, not {given.min_demand}")
        keep = Filters(held_by_me=given.held_by_me, on_order=given.on_order,
                       suggested=given.suggested, min_demand=given.min_demand)

        def read() -> AcquisitionCandidateConnection:
            names, active = _members(info.context)
            services = info.context.services
            with services.view(SharedAcquisitionView) as acquisition, \
                    services.view(CirculationFiguresView) as figures:
                found = union_reads(info.context, lambda reads: candidates(
                    reads, acquisition, figures, viewer=viewer, active=active,
                    now=datetime.now(UTC)))
            total = sum(1 for c in found if keep.keep(c, viewer))
            page, has_next = ranked(found, sort=sort.value, filters=keep, viewer=viewer,
                                    first=first, after=after)
            edges = [AcquisitionCandidateEdge(cursor=cursor,
                                              node=candidate_of(c, viewer, names))
                     for cursor, c in page]
            return AcquisitionCandidateConnection(edges=edges, total_count=total,
                                                  page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None))

        try:
            return await run_in_threadpool(read)
        except CandidateInvalidError as error:
            raise _invalid(str(error)) from None

    @strawberry.field(description="The office's acquisition settings.")  # type: ignore[untyped-decorator]
    async def acquisition_settings(self, info: Info[Context, None]) -> AcquisitionSettings:
        actor(await info.context.principal(), "library:read")

        def read() -> bool:
            with info.context.services.view(SharedAcquisitionView) as view:
                return view.prices_shared()

        return AcquisitionSettings(prices_shared=await run_in_threadpool(read))
