"""Interlibrary lending queries (scope library:read, or ill): the library's requests, of
either end, a page at a time or one by id; its lending settings."""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.auth import AuthError, Principal
from api.graphql.catalog.types import PageInfo
from api.graphql.context import Context
from api.graphql.lending.types import (
    LendingRequest,
    LendingRequestConnection,
    LendingRequestEdge,
    LendingSettingsType,
    LendingSide,
    staff_names,
)
from projections.lending.view import LendingView

MAX_PAGE = 100


def viewer_library(caller: Principal) -> str:
    """The caller's library, for a token that may view interlibrary requests."""
    try:
        return caller.library("library:read")
    except AuthError as error:
        if "ill" not in caller.scopes:
            raise GraphQLError(error.message, extensions={"code": error.code}) from None
        return caller.library("ill")


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_INPUT"})


@strawberry.type
class LendingQueries:
    """What a library asks of its interlibrary requests."""

    @strawberry.field(description="The library's interlibrary requests, newest first: as "  # type: ignore[untyped-decorator]
                      "supplier, as requester, or both; in one ISO 18626 state if given.")
    async def lending_requests(self, info: Info[Context, None],
                               side: LendingSide | None = None, state: str | None = None,
                               first: int | None = 20,
                               after: str | None = None) -> LendingRequestConnection:
        tenant = viewer_library(await info.context.principal())
        first = 20 if first is None else first
        if not 1 <= first <= MAX_PAGE:
            raise _invalid(f"first: give 1 to {MAX_PAGE}, not {first}")
        try:
            before = int(after) if after is not None else None
        except ValueError:
            raise _invalid(f"after: {after!r} is not a cursor of this list") from None

        def read() -> list[LendingRequestEdge]:
            with info.context.services.view(LendingView) as view:
                rows = view.requests(tenant, side=side.value if side else None, state=state,
                                     after=before, limit=first + 1)
            staff = staff_names(rows, lambda: info.context.services.consortium.staff
                                .list_users(tenant))
            return [LendingRequestEdge(cursor=str(r["seq"]), node=LendingRequest.of(r, staff))
                    for r in rows]

        edges = await run_in_threadpool(read)
        page = edges[:first]
        return LendingRequestConnection(edges=page, page_info=PageInfo(
            has_next_page=len(edges) > first, end_cursor=page[-1].cursor if page else None))

    @strawberry.field(description="One of the library's interlibrary requests, either end, "  # type: ignore[untyped-decorator]
                      "by its id (NOT_FOUND for any other library's).")
    async def lending_request(self, info: Info[Context, None],
                              id: strawberry.ID) -> LendingRequest:
        tenant = viewer_library(await info.context.principal())
        try:
            request_id = str(uuid.UUID(str(id)))
        except ValueError:
            raise _invalid(f"id: {id!r} is not a request id") from None

        def read() -> LendingRequest | None:
            with info.context.services.view(LendingView) as view:
                row = view.request(tenant, request_id)
            if row is None:
                return None
            return LendingRequest.of(row, staff_names([row], lambda: info.context.services
                                                      .consortium.staff.list_users(tenant)))

        found = await run_in_threadpool(read)
        if found is None:
            raise GraphQLError(f"id: no interlibrary request {request_id} in this library",
                               extensions={"code": "NOT_FOUND"})
        return found

    @strawberry.field(description="The library's consortium lending settings.")  # type: ignore[untyped-decorator]
    async def lending_settings(self, info: Info[Context, None]) -> LendingSettingsType:
        tenant = viewer_library(await info.context.principal())
        scope = info.context.services.scope(tenant)
        found = await run_in_threadpool(scope.lending.settings)
        return LendingSettingsType(material_types=list(found.material_types),
                                   loan_days=found.loan_days, auto_answer=found.auto_answer,
                                   answer_timeout_hours=found.answer_timeout_hours)
