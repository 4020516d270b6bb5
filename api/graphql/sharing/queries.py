"""Shared records, as every member (library:read) and the consortium office see them."""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.auth import Principal
from api.graphql.catalog.queries import MAX_PAGE
from api.graphql.catalog.types import (
    PageInfo,
    SharedRecord,
    SharedRecordConnection,
    SharedRecordEdge,
)
from api.graphql.context import Context
from api.graphql.limits import TextInvalidError, check_search
from projections.local_catalog.view import LocalCatalogView, SharedRow, encode_cursor

OFFICE = "office"


def actor(caller: Principal, scope: str) -> str:
    """Who acts: a member library holding the scope, or the consortium office (admin)."""
    if caller.tenant is None:
        caller.require_admin()
        return OFFICE
    return caller.library(scope)


def read_shared(context: Context, shared_id: str) -> SharedRecord | None:
    """One shared record from the read model, or None."""
    try:
        uuid.UUID(shared_id)
    except ValueError:
        return None
    with context.services.view(LocalCatalogView) as view:
        row = view.shared_record(shared_id)
    return SharedRecord.of(row) if row else None


@strawberry.type
class SharingQueries:
    """The consortium's shared records."""

    @strawberry.field(description="A shared record; null if there is none with this id.")  # type: ignore[untyped-decorator]
    async def shared_record(self, info: Info[Context, None],
                            id: strawberry.ID) -> SharedRecord | None:
        actor(await info.context.principal(), "library:read")
        return await run_in_threadpool(read_shared, info.context, str(id))

    @strawberry.field(description="Search the shared records (merged ones left out), by "  # type: ignore[untyped-decorator]
                      "title, author, subject or ISBN; title order.")
    async def shared_records(self, info: Info[Context, None], query: str | None = None,
                             first: int = 20, after: str | None = None
                             ) -> SharedRecordConnection:
        actor(await info.context.principal(), "library:read")
        if not 1 <= first <= MAX_PAGE:
            raise GraphQLError(f"first: give 1 to {MAX_PAGE}, not {first}",
                               extensions={"code": "INVALID_INPUT"})
        try:
            check_search(query)
        except TextInvalidError as error:
            raise GraphQLError(str(error), extensions={"code": "INVALID_INPUT"}) from None

        def read() -> tuple[list[SharedRow], bool]:
            with info.context.services.view(LocalCatalogView) as view:
                page = view.search_shared(query, first, after)
            return page.rows, page.has_next

        try:
            rows, has_next = await run_in_threadpool(read)
        except ValueError as error:
            raise GraphQLError(str(error), extensions={"code": "INVALID_INPUT"}) from None
        edges = [SharedRecordEdge(cursor=encode_cursor(r["sort_key"], str(r["id"])),
                                  node=SharedRecord.of(r)) for r in rows]
        return SharedRecordConnection(edges=edges, page_info=PageInfo(
            has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None))
