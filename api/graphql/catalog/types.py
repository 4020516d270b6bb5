"""GraphQL types of the catalog, built from the local catalog read model's rows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.circulation.types import Loan
from api.graphql.context import Context
from domain.catalog.item import LOST, MISSING, WITHDRAWN
from projections.circulation.view import CirculationView, LendingRow
from projections.local_catalog.view import ItemRow, LocalCatalogView
from tenants.sharing import record_marcxml, shared_marcxml

if TYPE_CHECKING:
    from api.graphql.union_catalog.types import UnionEntry

T = TypeVar("T")
Key = tuple[str, str]  # (tenant, id)


async def _batched(keys: list[Key],
                   read: Callable[[str, list[str]], dict[str, T]]) -> list[T | None]:
    """One read per tenant for a whole batch of (tenant, id) keys, off the event loop."""

    def run() -> list[T | None]:
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for tenant, key in keys:
            by_tenant[tenant].append(key)
        found = {(tenant, key): value for tenant, ids in by_tenant.items()
                 for key, value in read(tenant, ids).items()}
        return [found.get(key) for key in keys]

    return await run_in_threadpool(run)


async def lending_of(context: Context, tenant: str, item_id: str) -> LendingRow | None:
    """An item's lending state, read with every other item of the request at once."""

    async def load(keys: list[Key]) -> list[LendingRow | None]:
        def read(tenant: str, ids: list[str]) -> dict[str, LendingRow]:
            with context.services.view(CirculationView) as view:
                return view.lendings(tenant, ids)

        return await _batched(keys, read)

    found: LendingRow | None = await context.loader("lending", load).load((tenant, item_id))
    return found


async def items_of(context: Context, tenant: str, record_id: str) -> list[ItemRow]:
    """A record's items, read with every other record's of the request at once."""

    async def load(keys: list[Key]) -> list[list[ItemRow] | None]:
        def read(tenant: str, ids: list[str]) -> dict[str, list[ItemRow]]:
            with context.services.view(LocalCatalogView) as view:
                return view.items_of_records(tenant, ids)

        return await _batched(keys, read)

    found: list[ItemRow] | None = await context.loader("items", load).load(
        (tenant, record_id))
    return found or []


async def queue_length_of(context: Context, tenant: str, record_id: str) -> int:
    """How many patrons wait for a record, read with every other record's at once."""

    async def load(keys: list[Key]) -> list[int | None]:
        def read(tenant: str, ids: list[str]) -> dict[str, int]:
            with context.services.view(CirculationView) as view:
                return view.queue_lengths(tenant, ids)

        return await _batched(keys, read)

    found: int | None = await context.loader("queue", load).load((tenant, record_id))
    return found or 0


@strawberry.enum
class ItemStatus(Enum):
    """Where a copy stands."""

    AVAILABLE = "available"
    CHECKED_OUT = "checked_out"
    ON_HOLD_SHELF = "on_hold_shelf"
    IN_TRANSIT = "in_transit"
    MISSING = "missing"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


@strawberry.type
class Author:
    """A main (1XX) or added (7XX) entry."""

    name: str
    role: str = strawberry.field(description="main or added")
    tag: str


@strawberry.type
class OtherClassification:
    """A classification number from 084 with its source ($2)."""

    number: str
    source: str | None


@strawberry.type
class Classification:
    """Classification numbers: LC (050), Dewey (082), Chinese Library Classification (084
    $2 clc), and others (084)."""

    lc: str | None
    dewey: str | None
    clc: str | None
    other: list[OtherClassification]


@strawberry.type
class Location:
    """Where an item belongs."""

    branch: str
    collection: str | None
    shelf: str | None


@strawberry.type
class Item:
    """A copy of a record."""

    id: strawberry.ID
    barcode: str
    epc: str | None
    call_number: str | None
    call_number_scheme: str | None
    location: Location
    material_type: str
    record_id: strawberry.ID
    _catalog_status: strawberry.Private[str]
    _tenant: strawberry.Private[str]

    @strawberry.field(description="withdrawn, missing or lost as catalogued; otherwise where "  # type: ignore[untyped-decorator]
                      "circulation has it (available, checked out, on the hold shelf)")
    async def status(self, info: Info[Context, None]) -> ItemStatus:
        if self._catalog_status in (MISSING, LOST, WITHDRAWN):
            return ItemStatus(self._catalog_status)
        lending = await lending_of(info.context, self._tenant, str(self.id))
        return ItemStatus(lending["status"] if lending else self._catalog_status)

    @strawberry.field(description="the current loan, if the item is on loan")  # type: ignore[untyped-decorator]
    async def loan(self, info: Info[Context, None]) -> Loan | None:
        lending = await lending_of(info.context, self._tenant, str(self.id))
        if not lending or lending["loan_id"] is None or lending["due_at"] is None:
            return None
        return Loan(id=strawberry.ID(str(lending["loan_id"])), due_at=lending["due_at"],
                    renewals=lending["renewals"], item_barcode=self.barcode,
                    record_id=self.record_id)

    @classmethod
    def of(cls, tenant: str, row: Mapping[str, Any]) -> Item:
        """The item as the read model has it."""
        return cls(id=strawberry.ID(str(row["id"])), barcode=row["barcode"], epc=row["epc"],
                   call_number=row["call_number"],
                   call_number_scheme=row["call_number_scheme"],
                   location=Location(branch=row["branch"], collection=row["collection"],
                                     shelf=row["shelf"]),
                   material_type=row["material_type"],
                   record_id=strawberry.ID(str(row["record_id"])),
                   _catalog_status=row["status"], _tenant=tenant)


@strawberry.type
class PageInfo:
    """Where a page ends and whether another follows."""

    has_next_page: bool
    end_cursor: str | None


@strawberry.interface
class Bibliographic:
    """What describes a work: the fields a librarian needs from MARC 21."""

    id: strawberry.ID
    title: str = strawberry.field(description="245 $a $b $n $p, as displayed")
    isbns: list[str]
    authors: list[str]
    year: str | None
    language: str | None = strawberry.field(description="the first language (008/35-37, 041)")
    languages: list[str]
    subjects: list[str]
    alt_titles: list[str] = strawberry.field(
        description="the title in other scripts (880 linked to 245)")
    alt_authors: list[str]
    subtitle: str | None
    responsibility: str | None
    edition: str | None
    place: str | None
    publisher: str | None
    extent: str | None
    series: list[str]
    control_number: str | None
    control_source: str | None
    lccn: str | None
    cancelled_isbns: list[str]
    issns: list[str]
    system_numbers: list[str]
    author_entries: list[Author]
    classification: Classification
    original_format: str | None = strawberry.field(
        description="marc21 or marcxml when imported; null when catalogued by hand")


def described(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Bibliographic fields of a read-model row."""
    d = row["description"]
    c = d.get("classification") or {}
    return {
        "id": strawberry.ID(str(row["id"])), "title": row["title"],
        "isbns": d.get("isbns") or [], "authors": row["authors"], "year": row["year"],
        "language": row["languages"][0] if row["languages"] else None,
        "languages": row["languages"], "subjects": row["subjects"],
        "alt_titles": d.get("alt_titles") or [], "alt_authors": d.get("alt_authors") or [],
        "subtitle": d.get("subtitle"), "responsibility": d.get("responsibility"),
        "edition": d.get("edition"), "place": d.get("place"), "publisher": d.get("publisher"),
        "extent": d.get("extent"), "series": d.get("series") or [],
        "control_number": d.get("control_number"), "control_source": d.get("control_source"),
        "lccn": d.get("lccn"), "cancelled_isbns": d.get("cancelled_isbns") or [],
        "issns": d.get("issns") or [], "system_numbers": d.get("system_numbers") or [],
        "author_entries": [Author(**a) for a in d.get("authors") or []],
        "classification": Classification(
            lc=c.get("lc"), dewey=c.get("dewey"), clc=c.get("clc"),
            other=[OtherClassification(**o) for o in c.get("other") or []]),
        "original_format": row["original_format"],
    }


@strawberry.type
class Record(Bibliographic):
    """A bibliographic record of the library (showing a shared record's metadata when it
    is linked to one)."""

    catalogued_at: datetime
    revised_at: datetime
    shared_record_id: strawberry.ID | None = strawberry.field(
        description="the shared record whose metadata this record shows (after a merge: the "
                    "survivor); null for a record with its own metadata")
    _tenant: strawberry.Private[str]

    @strawberry.field(description="the record as MARCXML: the original as imported (or as "  # type: ignore[untyped-decorator]
                      "shared, for a record showing a shared one); null if catalogued by hand")
    async def marcxml(self, info: Info[Context, None]) -> str | None:
        services = info.context.services
        return await run_in_threadpool(record_marcxml, services.scope(self._tenant),
                                       services.office, uuid.UUID(str(self.id)))

    @strawberry.field(description="how many patrons wait for this title")  # type: ignore[untyped-decorator]
    async def hold_queue_length(self, info: Info[Context, None]) -> int:
        return await queue_length_of(info.context, self._tenant, str(self.id))

    @strawberry.field(description="the record's items, by barcode")  # type: ignore[untyped-decorator]
    async def items(self, info: Info[Context, None]) -> list[Item]:
        rows = await items_of(info.context, self._tenant, str(self.id))
        return [Item.of(self._tenant, row) for row in rows]

    @strawberry.field(description="the union catalog entry this record is in (null until "  # type: ignore[untyped-decorator]
                      "the union catalog has it)")
    async def union_entry(self, info: Info[Context, None]) -> Annotated[
            UnionEntry, strawberry.lazy("api.graphql.union_catalog.types")] | None:
        from api.graphql.union_catalog.types import union_entry_of  # noqa: PLC0415 (a cycle)

        return await union_entry_of(info.context, self._tenant, str(self.id))

    @classmethod
    def of(cls, tenant: str, row: Mapping[str, Any]) -> Record:
        """The record as the read model has it."""
        shared = row.get("shared_record_id")
        return cls(**described(row), catalogued_at=row["catalogued_at"],
                   revised_at=row["revised_at"],
                   shared_record_id=strawberry.ID(str(shared)) if shared else None,
                   _tenant=tenant)


@strawberry.type
class SharedRecord(Bibliographic):
    """A record a member shared with the consortium; members may show it instead of keeping
    their own copy of the metadata."""

    contributor: str = strawberry.field(description="the slug of the library that shared it")
    contributed_at: datetime
    edited_at: datetime
    merged_into: strawberry.ID | None = strawberry.field(
        description="set once the consortium office merged it into another (the survivor)")

    @strawberry.field(description="the shared record as MARCXML (the original as shared)")  # type: ignore[untyped-decorator]
    async def marcxml(self, info: Info[Context, None]) -> str | None:
        return await run_in_threadpool(shared_marcxml, info.context.services.office,
                                       uuid.UUID(str(self.id)))

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> SharedRecord:
        """The shared record as the read model has it."""
        merged = row.get("merged_into")
        return cls(**described(row), contributor=row["contributor"],
                   contributed_at=row["catalogued_at"], edited_at=row["revised_at"],
                   merged_into=strawberry.ID(str(merged)) if merged else None)


@strawberry.type
class SharedRecordEdge:
    """A shared record and the cursor just after it."""

    cursor: str
    node: SharedRecord


@strawberry.type
class SharedRecordConnection:
    """A page of shared records (Relay-style)."""

    edges: list[SharedRecordEdge]
    page_info: PageInfo


@strawberry.type
class RecordEdge:
    """A record and the cursor just after it."""

    cursor: str
    node: Record


@strawberry.type
class RecordConnection:
    """A page of records (Relay-style)."""

    edges: list[RecordEdge]
    page_info: PageInfo
