"""GraphQL types of the union catalog, built from its view's rows: an entry with its member
records, holdings and match reasons; a page of entries with facet counts."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.catalog.types import PageInfo
from api.graphql.context import Context
from projections.union_catalog.query import Filters
from projections.union_catalog.view import EntryRow, Facets, UnionCatalogView

T = TypeVar("T")
_CURSOR = "union:"


def encode_offset(offset: int) -> str:
    """An opaque cursor: how many entries came before the next page."""
    return base64.urlsafe_b64encode(f"{_CURSOR}{offset}".encode()).decode()


def decode_offset(cursor: str | None) -> int:
    """The offset a cursor names; ValueError when it is not one of ours."""
    if cursor is None:
        return 0
    refused = ValueError(f"after: {cursor[:100]!r} is not a cursor this API gave out")
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        offset = int(text[len(_CURSOR):]) if text.startswith(_CURSOR) else -1
    except (ValueError, TypeError, UnicodeDecodeError):
        raise refused from None
    if offset < 0:
        raise refused
    return offset


async def _per_entry(context: Context, name: str, entry_id: str,
                     read: Callable[[UnionCatalogView, Sequence[str]], dict[str, list[T]]]
                     ) -> list[T]:
    """One read for the entries of a whole page, off the event loop."""

    async def load(keys: list[str]) -> list[list[T]]:
        def run() -> list[list[T]]:
            with context.services.view(UnionCatalogView) as view:
                found = read(view, keys)
            return [found.get(key, []) for key in keys]

        return await run_in_threadpool(run)

    found: list[T] = await context.loader(name, load).load(entry_id)
    return found


@strawberry.type
class UnionTenant:
    """A member library."""

    slug: str
    name: str


@strawberry.type
class UnionRecord:
    """A member's record in an entry."""

    tenant: UnionTenant
    record_id: strawberry.ID


@strawberry.type
class UnionHolding:
    """A member's copies of an entry: held (not withdrawn), and on the shelf and lendable
    now."""

    tenant: UnionTenant
    items: int
    available: int


@strawberry.type
class UnionMatch:
    """Why a record is in its entry: the record it matched, the score, the evidence."""

    record: UnionRecord
    matched: UnionRecord
    score: float | None = strawberry.field(description="null for an office merge")
    reasons: list[str]


def _record(key: str, names: dict[str, str]) -> UnionRecord:
    tenant, record_id = key.split(":", 1)
    return UnionRecord(tenant=UnionTenant(slug=tenant, name=names.get(tenant, tenant)),
                       record_id=strawberry.ID(record_id))


@strawberry.type
class UnionEntry:
    """One edition across the consortium, shown by its first member record."""

    id: strawberry.ID
    title: str
    alt_titles: list[str]
    authors: list[str]
    isbns: list[str] = strawberry.field(description="every member's, as ISBN-10 and -13")
    issns: list[str]
    year: int | None
    language: str | None
    format: str = strawberry.field(description="the carrier: text/print, text/online, "
                                               "video/dvd, audio/cd...")
    edition: str | None
    _joins: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="the member records (of members in sight), by library")  # type: ignore[untyped-decorator]
    async def records(self, info: Info[Context, None]) -> list[UnionRecord]:
        rows = await _per_entry(info.context, "union-records", str(self.id),
                                lambda view, ids: view.records_of(ids))
        return [UnionRecord(tenant=UnionTenant(slug=r["tenant"], name=r["name"]),
                            record_id=strawberry.ID(r["record_id"])) for r in rows]

    @strawberry.field(description="per member: copies held and available now")  # type: ignore[untyped-decorator]
    async def holdings(self, info: Info[Context, None]) -> list[UnionHolding]:
        rows = await _per_entry(info.context, "union-holdings", str(self.id),
                                lambda view, ids: view.holdings_of(ids))
        return [UnionHolding(tenant=UnionTenant(slug=h["tenant"], name=h["name"]),
                             items=h["items"], available=h["available"]) for h in rows]

    @strawberry.field(description="how each record joined the entry (its record, the record "  # type: ignore[untyped-decorator]
                      "it matched, the score and the evidence)")
    async def matches(self, info: Info[Context, None]) -> list[UnionMatch]:
        records = await self.records(info)
        names = {r.tenant.slug: r.tenant.name for r in records}
        shown = {f"{r.tenant.slug}:{r.record_id}" for r in records}
        return [UnionMatch(record=_record(j["record"], names),
                           matched=_record(j["matched"], names), score=j["score"],
                           reasons=list(j["reasons"]))
                for j in self._joins if j["record"] in shown and j["matched"] in shown]

    @strawberry.field(description="why the records are in one entry, one line per record "  # type: ignore[untyped-decorator]
                      "joined: `library/record ~ library/record: evidence, ...`")
    async def match_reasons(self, info: Info[Context, None]) -> list[str]:
        return [f"{m.record.tenant.slug}/{m.record.record_id} ~ "
                f"{m.matched.tenant.slug}/{m.matched.record_id}: {', '.join(m.reasons)}"
                for m in await self.matches(info)]

    @classmethod
    def of(cls, row: EntryRow) -> UnionEntry:
        """The entry as the view has it."""
        return cls(id=strawberry.ID(row["id"]), title=row["title"], alt_titles=row["alt_titles"],
                   authors=row["authors"], isbns=row["isbns"], issns=row["issns"],
                   year=row["year"], language=row["language"], format=row["format"],
                   edition=row["edition"], _joins=row["joins"])


async def union_entry_of(context: Context, tenant: str, record_id: str) -> UnionEntry | None:
    """The entry a member's record is in, read with every other record's of the request."""

    async def load(keys: list[tuple[str, str]]) -> list[UnionEntry | None]:
        def run() -> list[UnionEntry | None]:
            with context.services.view(UnionCatalogView) as view:
                ids = [view.entry_of_record(t, r) for t, r in keys]
                rows = {row["id"]: row for row in view.entries([i for i in ids if i])}
            return [UnionEntry.of(rows[i]) if i in rows else None for i in ids]

        return await run_in_threadpool(run)

    found: UnionEntry | None = await context.loader("union-entry-of", load).load(
        (tenant, record_id))
    return found


@strawberry.type
class UnionCatalogEdge:
    """An entry and the cursor just after it."""

    cursor: str
    node: UnionEntry


@strawberry.type
class FacetCount:
    """How many entries found have this value."""

    value: str
    count: int


@strawberry.type
class LibraryFacetCount:
    """How many entries found a member holds."""

    tenant: UnionTenant
    count: int


@strawberry.type
class YearRange:
    """The first and last years among the entries found."""

    first: int | None
    last: int | None


@strawberry.type
class UnionCatalogFacets:
    """Counts over every entry the search found (not only the page)."""

    total: int
    languages: list[FacetCount]
    year_range: YearRange
    decades: list[FacetCount] = strawberry.field(description="value: the decade's first year")
    formats: list[FacetCount]
    holding_libraries: list[LibraryFacetCount]
    available_now: int = strawberry.field(
        description="entries with a copy on the shelf and lendable now")

    @classmethod
    def of(cls, facets: Facets) -> UnionCatalogFacets:
        """The facets as the view counts them."""
        return cls(
            total=facets["total"],
            languages=[FacetCount(**c) for c in facets["languages"]],
            year_range=YearRange(first=facets["first_year"], last=facets["last_year"]),
            decades=[FacetCount(**c) for c in facets["decades"]],
            formats=[FacetCount(**c) for c in facets["formats"]],
            holding_libraries=[LibraryFacetCount(
                tenant=UnionTenant(slug=c["tenant"], name=c["name"]), count=c["count"])
                for c in facets["holding_libraries"]],
            available_now=facets["available_now"])


@strawberry.type
class UnionCatalogConnection:
    """A page of union catalog entries (Relay-style), with facet counts."""

    edges: list[UnionCatalogEdge]
    page_info: PageInfo
    _query: strawberry.Private[str | None]
    _filters: strawberry.Private[Filters]

    @strawberry.field(description="counts over every entry found: language, year range, "  # type: ignore[untyped-decorator]
                      "format, holding library, available now")
    async def facets(self, info: Info[Context, None]) -> UnionCatalogFacets:
        def read() -> Facets:
            with info.context.services.view(UnionCatalogView) as view:
                return view.facets(self._query, self._filters)

        return UnionCatalogFacets.of(await run_in_threadpool(read))
