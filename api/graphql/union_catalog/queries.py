"""Union catalog queries: every member (library:read) and the consortium office read the
same union catalog."""

from __future__ import annotations

import uuid

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.catalog.queries import MAX_PAGE
from api.graphql.catalog.types import PageInfo
from api.graphql.context import Context
from api.graphql.limits import TextInvalidError, check_search, check_text
from api.graphql.sharing.queries import actor
from api.graphql.union_catalog.types import (
    UnionCatalogConnection,
    UnionCatalogEdge,
    UnionEntry,
    decode_offset,
    encode_offset,
)
from projections.union_catalog.query import Filters
from projections.union_catalog.view import Page, UnionCatalogView

MAX_OFFSET = 10_000  # deeper than anyone pages: narrow the search instead
MAX_FILTER_CHARS = 100
YEARS = (0, 9999)


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_INPUT"})


@strawberry.input
class UnionCatalogFilters:
    """What to narrow a union catalog search to; a filter left out does not narrow."""

    language: str | None = strawberry.field(default=None,
                                            description="MARC language code, e.g. eng, chi")
    year_from: int | None = None
    year_to: int | None = None
    format: str | None = strawberry.field(default=None,
                                          description="a carrier as entries give it, e.g. "
                                                      "text/print, text/online, video/dvd")
    holding_library: str | None = strawberry.field(default=None,
                                                   description="a member's slug")
    available_now: bool | None = strawberry.field(
        default=None, description="true: a copy on the shelf and lendable now; false: none")

    def checked(self) -> Filters:
        """The filters, or INVALID_INPUT naming the first that cannot be."""
        for name, value in (("language", self.language), ("format", self.format),
                            ("holdingLibrary", self.holding_library)):
            try:
                check_text(value, f"filters.{name}")
            except TextInvalidError as error:
                raise _invalid(str(error)) from None
            if value is not None and not 1 <= len(value) <= MAX_FILTER_CHARS:
                raise _invalid(f"filters.{name}: 1 to {MAX_FILTER_CHARS} characters")
        for name, year in (("yearFrom", self.year_from), ("yearTo", self.year_to)):
            if year is not None and not YEARS[0] <= year <= YEARS[1]:
                raise _invalid(f"filters.{name}: a year from {YEARS[0]} to {YEARS[1]}, "
                               f"not {year}")
        if (self.year_from is not None and self.year_to is not None
                and self.year_from > self.year_to):
            raise _invalid(f"filters.yearFrom: {self.year_from} is after yearTo "
                           f"{self.year_to}")
        return Filters(language=self.language, format=self.format, year_from=self.year_from,
                       year_to=self.year_to, holding_library=self.holding_library,
                       available_now=self.available_now)


def read_entry(context: Context, entry_id: str) -> UnionEntry | None:
    """One entry of the union catalog, or None."""
    with context.services.view(UnionCatalogView) as view:
        row = view.entry(entry_id)
    return UnionEntry.of(row) if row else None


@strawberry.type
class UnionCatalogQueries:
    """The consortium's union catalog."""

    @strawberry.field(description="Search the union catalog: one entry per edition across "  # type: ignore[untyped-decorator]
                      "the members, by title, author, subject or ISBN (an exact ISBN first; "
                      "titles and authors above the rest); every term must be found. "
                      "Chinese (simplified or traditional) and Japanese need no spaces; "
                      "diacritics may be left out.")
    async def union_catalog(self, info: Info[Context, None], query: str | None = None,
                            first: int | None = 20, after: str | None = None,
                            filters: UnionCatalogFilters | None = None
                            ) -> UnionCatalogConnection:
        actor(await info.context.principal(), "library:read")
        first = 20 if first is None else first
        if not 1 <= first <= MAX_PAGE:
            raise _invalid(f"first: give 1 to {MAX_PAGE}, not {first}")
        try:
            check_search(query)
            offset = decode_offset(after)
        except ValueError as error:
            raise _invalid(str(error)) from None
        if offset > MAX_OFFSET:
            raise _invalid(f"after: at most {MAX_OFFSET:,} entries deep; narrow the search")
        chosen = filters.checked() if filters is not None else Filters()

        def read() -> Page:
            with info.context.services.view(UnionCatalogView) as view:
                return view.search(query, first, offset, chosen)

        page = await run_in_threadpool(read)
        edges = [UnionCatalogEdge(cursor=encode_offset(offset + i + 1), node=UnionEntry.of(row))
                 for i, row in enumerate(page.entries)]
        return UnionCatalogConnection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next,
                                            end_cursor=edges[-1].cursor if edges else None),
            _query=query, _filters=chosen)

    @strawberry.field(description="One union catalog entry; null if there is none in sight.")  # type: ignore[untyped-decorator]
    async def union_catalog_entry(self, info: Info[Context, None],
                                  id: strawberry.ID) -> UnionEntry | None:
        actor(await info.context.principal(), "library:read")
        try:
            uuid.UUID(str(id))
        except ValueError:
            raise _invalid(f"id: {str(id)[:100]!r} is not a union catalog entry id") from None
        return await run_in_threadpool(read_entry, info.context, str(id))
