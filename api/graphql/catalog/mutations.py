"""Catalog mutations (scope library:write): records catalogued and edited, items added,
moved and withdrawn. Each returns once the local catalog shows the change (read-your-writes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.graphql.catalog.types import Item, Record
from api.graphql.commands import execute
from api.graphql.context import Context
from domain.catalog.application import Catalog
from domain.catalog.item import Item as ItemAggregate
from domain.catalog.item import ItemDetails, Location
from domain.catalog.record import Record as RecordAggregate
from domain.shared.application import Receipt
from projections.local_catalog.view import record_row
from tenants.catalog import withdraw_item
from tenants.commands import CATALOG_VIEWS
from tenants.scope import TenantScope

_TEXT_FIELDS = ("title", "subtitle", "responsibility", "edition", "place", "publisher", "year",
                "extent", "control_number", "control_source", "lccn")
T = TypeVar("T")
_LIST_FIELDS = ("isbns", "subjects", "series", "languages", "alt_titles")


@strawberry.input
class RecordInput:
    """A record catalogued by hand: a title at least."""

    title: str
    subtitle: str | None = None
    responsibility: str | None = None
    authors: list[str] | None = strawberry.field(
        default=None, description="the first is the main entry (100), the rest added (700)")
    isbns: list[str] | None = None
    year: str | None = None
    publisher: str | None = None
    place: str | None = None
    edition: str | None = None
    extent: str | None = None
    subjects: list[str] | None = None
    series: list[str] | None = None
    languages: list[str] | None = strawberry.field(default=None,
                                                   description="MARC language codes, e.g. eng")
    alt_titles: list[str] | None = None
    control_number: str | None = None
    control_source: str | None = None
    lccn: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class EditRecordInput:
    """Fields to change on a record; a field left out stays as it is."""

    id: strawberry.ID
    title: str | None = strawberry.UNSET
    subtitle: str | None = strawberry.UNSET
    responsibility: str | None = strawberry.UNSET
    authors: list[str] | None = strawberry.UNSET
    isbns: list[str] | None = strawberry.UNSET
    year: str | None = strawberry.UNSET
    publisher: str | None = strawberry.UNSET
    place: str | None = strawberry.UNSET
    edition: str | None = strawberry.UNSET
    extent: str | None = strawberry.UNSET
    subjects: list[str] | None = strawberry.UNSET
    series: list[str] | None = strawberry.UNSET
    languages: list[str] | None = strawberry.UNSET
    alt_titles: list[str] | None = strawberry.UNSET
    control_number: str | None = strawberry.UNSET
    control_source: str | None = strawberry.UNSET
    lccn: str | None = strawberry.UNSET
    idempotency_key: str | None = None


@strawberry.input
class LocationInput:
    """Where an item belongs."""

    branch: str
    collection: str | None = None
    shelf: str | None = None


@strawberry.input
class AddItemInput:
    """A copy of a record to add."""

    record_id: strawberry.ID
    barcode: str
    location: LocationInput
    epc: str | None = strawberry.field(default=None, description="RFID EPC, hexadecimal")
    call_number: str | None = None
    call_number_scheme: str | None = strawberry.field(
        default=None, description="lc, dewey, clc or local")
    material_type: str = "book"
    idempotency_key: str | None = None


@strawberry.input
class MoveItemInput:
    """An item's new place."""

    barcode: str
    location: LocationInput
    idempotency_key: str | None = None


@strawberry.input
class AssignEpcInput:
    """An RFID tag for an item."""

    item_barcode: str
    epc: str = strawberry.field(description="the tag's EPC, hexadecimal")
    idempotency_key: str | None = None


@strawberry.input
class WithdrawItemInput:
    """An item to take out of the collection for good."""

    barcode: str
    reason: str = "withdrawn"
    idempotency_key: str | None = None


@strawberry.type
class RecordPayload:
    """The record as it now is."""

    record: Record


@strawberry.type
class ItemPayload:
    """The item as it now is."""

    item: Item


def description_of(given: Any) -> dict[str, Any]:
    """The description keys an input sets (UNSET ones left out; lists never null)."""
    out: dict[str, Any] = {}
    for key in (*_TEXT_FIELDS, *_LIST_FIELDS):
        value = getattr(given, key)
        if value is strawberry.UNSET:
            continue
        out[key] = (value or []) if key in _LIST_FIELDS else value
    if given.authors is not strawberry.UNSET:
        names = [n.strip() for n in given.authors or [] if n.strip()]
        out["authors"] = [{"name": n, "role": "main" if i == 0 else "added",
                           "tag": "100" if i == 0 else "700"} for i, n in enumerate(names)]
    return out


def record_node(tenant: str, record: RecordAggregate) -> Record:
    """A record straight from its aggregate: what the local catalog now shows."""
    row = record_row(str(record.id), description=record.description,
                     original_format=record.original_format,
                     catalogued_at=record.catalogued_at, revised_at=record.revised_at)
    return Record.of(tenant, row)


def item_node(tenant: str, item: ItemAggregate) -> Item:
    """An item straight from its aggregate."""
    return Item.of(tenant, {"id": item.id, "barcode": item.barcode, "epc": item.epc,
                    "status": item.status, "call_number": item.call_number,
                    "call_number_scheme": item.call_number_scheme,
                    "branch": item.location.branch, "collection": item.location.collection,
                    "shelf": item.location.shelf, "material_type": item.material_type,
                    "record_id": item.record_id})


def parse_id(value: str, field: str = "recordId") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise GraphQLError(f"{field}: {value!r} is not an id of ours",
                           extensions={"code": "INVALID_INPUT"}) from None


async def _record_command(info: Info[Context, None], operation: str, given: object,
                          command: Callable[[Catalog, Receipt | None], RecordAggregate]
                          ) -> RecordPayload:
    """Runs a record command for the caller's library (library:write) through the command
    pipeline; the record as the local catalog now shows it."""
    tenant = (await info.context.principal()).library("library:write")
    scope = info.context.services.scope(tenant)
    answer = await execute(info, scope, operation, given,
                           run=lambda receipt: command(scope.catalog, receipt),
                           answer=lambda record: {"record_id": str(record.id)},
                           views=CATALOG_VIEWS)
    record = await info.context.services.pipeline.run_in_thread(
        lambda: scope.catalog.get_record(uuid.UUID(answer["record_id"])))
    return RecordPayload(record=record_node(tenant, record))


async def _item_command(info: Info[Context, None], operation: str, given: object,
                        command: Callable[[TenantScope, Receipt | None], ItemAggregate]
                        ) -> ItemPayload:
    """Runs an item command through the command pipeline; the item as it now is."""
    tenant = (await info.context.principal()).library("library:write")
    scope = info.context.services.scope(tenant)
    answer = await execute(info, scope, operation, given,
                           run=lambda receipt: command(scope, receipt),
                           answer=lambda item: {"item_id": str(item.id)},
                           views=CATALOG_VIEWS)
    item: ItemAggregate = await info.context.services.pipeline.run_in_thread(
        lambda: scope.catalog.repository.get(uuid.UUID(answer["item_id"])))
    return ItemPayload(item=item_node(tenant, item))


@strawberry.type
class CatalogMutations:
    """What a library changes in its catalog."""

    @strawberry.mutation(description="Catalogue a record by hand.")  # type: ignore[untyped-decorator]
    async def create_record(self, info: Info[Context, None], input: RecordInput) -> RecordPayload:
        return await _record_command(info, "createRecord", input, lambda catalog, receipt:
                                     catalog.catalogue_record(description_of(input), receipt))

    @strawberry.mutation(description="Change some fields of a record.")  # type: ignore[untyped-decorator]
    async def edit_record(self, info: Info[Context, None],
                          input: EditRecordInput) -> RecordPayload:
        record_id = parse_id(str(input.id), "id")
        return await _record_command(info, "editRecord", input, lambda catalog, receipt:
                                     catalog.revise_record(record_id, description_of(input),
                                                           receipt))

    @strawberry.mutation(description="Add a copy of a record.")  # type: ignore[untyped-decorator]
    async def add_item(self, info: Info[Context, None], input: AddItemInput) -> ItemPayload:
        details = ItemDetails(
            barcode=input.barcode, record_id=parse_id(str(input.record_id)),
            location=Location(input.location.branch, input.location.collection,
                              input.location.shelf),
            epc=input.epc, call_number=input.call_number,
            call_number_scheme=input.call_number_scheme, material_type=input.material_type)
        return await _item_command(info, "addItem", input, lambda scope, receipt:
                                   scope.catalog.add_item(details, receipt))

    @strawberry.mutation(description="Give an item a new branch, collection or shelf.")  # type: ignore[untyped-decorator]
    async def move_item(self, info: Info[Context, None], input: MoveItemInput) -> ItemPayload:
        location = Location(input.location.branch, input.location.collection,
                            input.location.shelf)
        return await _item_command(info, "moveItem", input, lambda scope, receipt:
                                   scope.catalog.move_item(input.barcode, location, receipt))

    @strawberry.mutation(description="Give an item an RFID tag (its EPC, unique in the "  # type: ignore[untyped-decorator]
                         "library).")
    async def assign_epc(self, info: Info[Context, None], input: AssignEpcInput) -> ItemPayload:
        return await _item_command(info, "assignEpc", input, lambda scope, receipt:
                                   scope.catalog.assign_epc(input.item_barcode, input.epc, receipt))

    @strawberry.mutation(description="Withdraw an item for good.")  # type: ignore[untyped-decorator]
    async def withdraw_item(self, info: Info[Context, None],
                            input: WithdrawItemInput) -> ItemPayload:
        return await _item_command(info, "withdrawItem", input, lambda scope, receipt:
                                   withdraw_item(scope, input.barcode, input.reason, receipt))
