"""A library's staff (for its administrators) and its audit trail: a record's, an item's,
the whole library's history."""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.context import Context
from api.graphql.lending.queries import viewer_library
from api.graphql.staff.types import HistoryPage, StaffUser

DEFAULT_PAGE = 50


def _uuid(given: strawberry.ID, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(given))
    except ValueError:
        raise GraphQLError(f"id: {given!r} is not {what}'s id",
                           extensions={"code": "INVALID_INPUT"}) from None


@strawberry.type
class StaffQueries:
    """Staff and history queries."""

    @strawberry.field(description="The library's staff users (scope library:admin).")  # type: ignore[untyped-decorator]
    async def staff_users(self, info: Info[Context, None]) -> list[StaffUser]:
        tenant = (await info.context.principal()).library("library:admin")
        users = await run_in_threadpool(info.context.services.consortium.staff.list_users,
                                        tenant)
        return [StaffUser.of(u) for u in users]

    @strawberry.field(description="The signed-in staff user (through the console); null for "
                      "an API client's token.")  # type: ignore[untyped-decorator]
    async def current_staff_user(self, info: Info[Context, None]) -> StaffUser | None:
        caller = await info.context.principal()
        if caller.username is None:
            return None
        directory = info.context.services.consortium.staff.directory
        user = await run_in_threadpool(lambda: directory(caller.tenant).get_user(
            str(caller.username)))
        return StaffUser.of(user)

    @strawberry.field(description="Who did what to a record (and its holds queue), and when, "
                      "newest first.")  # type: ignore[untyped-decorator]
    async def record_history(self, info: Info[Context, None], id: strawberry.ID,
                             first: int = DEFAULT_PAGE, before: int | None = None
                             ) -> HistoryPage:
        tenant = (await info.context.principal()).library("library:read")
        page = await run_in_threadpool(info.context.services.consortium.audit.of_record,
                                       tenant, _uuid(id, "a record"), first, before)
        return HistoryPage.of(page)

    @strawberry.field(description="Who did what to an item (and its loans), and when, newest "
                      "first.")  # type: ignore[untyped-decorator]
    async def item_history(self, info: Info[Context, None], barcode: str,
                           first: int = DEFAULT_PAGE, before: int | None = None) -> HistoryPage:
        tenant = (await info.context.principal()).library("library:read")
        page = await run_in_threadpool(info.context.services.consortium.audit.of_item,
                                       tenant, barcode, first, before)
        return HistoryPage.of(page)

    @strawberry.field(description="Who did what to an interlibrary request on this library's "
                      "side, and when, newest first (scope library:read or ill).")  # type: ignore[untyped-decorator]
    async def lending_request_history(self, info: Info[Context, None], id: strawberry.ID,
                                      first: int = DEFAULT_PAGE, before: int | None = None
                                      ) -> HistoryPage:
        tenant = viewer_library(await info.context.principal())
        page = await run_in_threadpool(info.context.services.consortium.audit.of_lending_request,
                                       tenant, _uuid(id, "an interlibrary request"), first,
                                       before)
        return HistoryPage.of(page)

    @strawberry.field(description="Everything the library recorded, who did it and when, "
                      "newest first (scope library:admin).")  # type: ignore[untyped-decorator]
    async def library_history(self, info: Info[Context, None], first: int = DEFAULT_PAGE,
                              before: int | None = None) -> HistoryPage:
        tenant = (await info.context.principal()).library("library:admin")
        page = await run_in_threadpool(info.context.services.consortium.audit.of_tenant,
                                       tenant, first, before)
        return HistoryPage.of(page)
