"""Catalog queries: a library reads its own records and items (scope library:read)."""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.catalog.types import Item, PageInfo, Record, RecordConnection, RecordEdge
from api.graphql.context import Context
from api.graphql.limits import TextInvalidError, check_search
from projections.local_catalog.view import LocalCatalogView, RecordRow, encode_cursor

MAX_PAGE = 100


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_INPUT"})


def read_record(context: Context, tenant: str, record_id: str) -> Record | None:
    """One of the tenant's records from the local catalog, or None."""
    try:
        uuid.UUID(record_id)
    except ValueError:
        return None
    with context.services.view(LocalCatalogView) as view:
        row = view.record(tenant, record_id)
    return Record.of(tenant, row) if row else None


def read_item(context: Context, tenant: str, barcode: str | None,
              epc: str | None) -> Item | None:
    """One of the tenant's items by barcode or EPC, or None."""
    with context.services.view(LocalCatalogView) as view:
        row = view.item(tenant, barcode=barcode, epc=epc.upper() if epc else None)
    return Item.of(tenant, row) if row else None


@strawberry.type
class CatalogQueries:
    """What a library asks of its catalog."""

    @strawberry.field(description="Search the library's records by title, author, subject or "  # type: ignore[untyped-decorator]
                      "ISBN (10 or 13, hyphens or not); every word must match. Title order.")
    async def records(self, info: Info[Context, None], query: str | None = None,
                      first: int = 20, after: str | None = None) -> RecordConnection:
        tenant = (await info.context.principal()).library("library:read")
        if not 1 <= first <= MAX_PAGE:
            raise _invalid(f"first: give 1 to {MAX_PAGE}, not {first}")
        try:
            check_search(query)
        except TextInvalidError as error:
            raise _invalid(str(error)) from None

        def read() -> tuple[list[RecordRow], bool]:
            with info.context.services.view(LocalCatalogView) as view:
                page = view.search(tenant, query, first, after)
            return page.rows, page.has_next

        try:
            rows, has_next = await run_in_threadpool(read)
        except ValueError as error:
            raise _invalid(str(error)) from None
        edges = [RecordEdge(cursor=encode_cursor(r["sort_key"], str(r["id"])),
                            node=Record.of(tenant, r)) for r in rows]
        return RecordConnection(edges=edges, page_info=PageInfo(
            has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="One of the library's records; null if it has no such one.")  # type: ignore[untyped-decorator]
    async def record(self, info: Info[Context, None], id: strawberry.ID) -> Record | None:
        tenant = (await info.context.principal()).library("library:read")
        try:
            uuid.UUID(str(id))
        except ValueError:
            raise _invalid(f"id: {id!r} is not a record id") from None
        return await run_in_threadpool(read_record, info.context, tenant, str(id))

    @strawberry.field(description="One of the library's items, by barcode or by RFID EPC.")  # type: ignore[untyped-decorator]
    async def item(self, info: Info[Context, None], barcode: str | None = None,
                   epc: str | None = None) -> Item | None:
        tenant = (await info.context.principal()).library("library:read")
        if (barcode is None) == (epc is None):
            raise _invalid("item: give either barcode or epc")
        return await run_in_threadpool(read_item, info.context, tenant, barcode, epc)
