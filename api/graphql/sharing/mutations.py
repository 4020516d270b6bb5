"""Sharing mutations: a member shares a record, links to or unlinks from a shared record;
the contributor or the office edits one; the office merges duplicates. Each returns once the
local catalog shows the change."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.dependencies import Services
from api.graphql.catalog.mutations import EditRecordInput, description_of, parse_id
from api.graphql.catalog.queries import read_record
from api.graphql.catalog.types import Record, SharedRecord
from api.graphql.commands import execute
from api.graphql.context import Context
from api.graphql.sharing.queries import actor, read_shared
from domain.catalog.record import Record as RecordAggregate
from domain.sharing.shared_record import SharedRecord as SharedRecordAggregate
from tenants.commands import CATALOG_VIEWS
from tenants.sharing import (
    edit_shared_record,
    merge_shared_records,
    share_record,
    unlink_shared_record,
    use_shared_record,
)

T = TypeVar("T")


@strawberry.input
class ShareRecordInput:
    """One of the library's records, to share with the consortium."""

    record_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class UseSharedRecordInput:
    """A shared record to show: on one of the library's records, or on a new holding."""

    shared_record_id: strawberry.ID
    record_id: strawberry.ID | None = strawberry.field(
        default=None, description="link this record of ours; leave out for a new holding")
    idempotency_key: str | None = None


@strawberry.input
class UnlinkSharedRecordInput:
    """A record of the library that should keep a local copy and stop following."""

    record_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class EditSharedRecordInput(EditRecordInput):
    """Fields to change on a shared record; a field left out stays as it is."""


@strawberry.input
class MergeSharedRecordsInput:
    """Two shared records describing the same work: the merged one's links go to the
    survivor."""

    survivor_id: strawberry.ID
    merged_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.type
class ShareRecordPayload:
    """The shared record, and the library's record now showing it."""

    shared_record: SharedRecord
    record: Record
    stripped_fields: list[str] = strawberry.field(description=(
        "the local fields (holdings 852 and 876-878, local notes 59X, 9XX) kept back from "
        "the consortium, by tag"))


@strawberry.type
class LinkPayload:
    """The library's record as it now is."""

    record: Record


@strawberry.type
class SharedRecordPayload:
    """The shared record as it now is."""

    shared_record: SharedRecord


def _shown(found: T | None, what: str) -> T:
    if found is None:
        raise GraphQLError(f"the {what} is recorded, but the local catalog did not show it "
                           "in time: query it again in a moment",
                           extensions={"code": "NOT_YET_VISIBLE"})
    return found


async def _record(info: Info[Context, None], tenant: str, answer: dict[str, Any]) -> Record:
    record_id = answer["record_id"]
    return _shown(await run_in_threadpool(read_record, info.context, tenant, record_id),
                  "record")


async def _shared(info: Info[Context, None], answer: dict[str, Any]) -> SharedRecord:
    shared_id = answer["shared_record_id"]
    return _shown(await run_in_threadpool(read_shared, info.context, shared_id),
                  "shared record")


def _shared_answer(shared: SharedRecordAggregate) -> dict[str, Any]:
    return {"shared_record_id": str(shared.id)}


def _record_answer(record: RecordAggregate) -> dict[str, Any]:
    return {"record_id": str(record.id)}


@strawberry.type
class SharingMutations:
    """What members and the consortium office do with shared records."""

    @strawberry.mutation(description="Share one of the library's records with the "  # type: ignore[untyped-decorator]
                         "consortium; the record then shows the shared record.")
    async def share_record(self, info: Info[Context, None],
                           input: ShareRecordInput) -> ShareRecordPayload:
        tenant = (await info.context.principal()).library("library:write")
        record_id = parse_id(str(input.record_id))
        services: Services = info.context.services
        scope, office = services.scope(tenant), services.office
        answer = await execute(
            info, scope, "shareRecord", input,
            run=lambda receipt: share_record(scope, office, record_id, receipt),
            answer=lambda done: {**_record_answer(done.record), **_shared_answer(done.shared),
                                 "stripped_fields": done.stripped},
            views=CATALOG_VIEWS)
        return ShareRecordPayload(shared_record=await _shared(info, answer),
                                  record=await _record(info, tenant, answer),
                                  stripped_fields=answer.get("stripped_fields", []))

    @strawberry.mutation(description="Show a shared record's metadata: on one of the "  # type: ignore[untyped-decorator]
                         "library's records, or on a new holding without a copy of its own.")
    async def use_shared_record(self, info: Info[Context, None],
                                input: UseSharedRecordInput) -> LinkPayload:
        tenant = (await info.context.principal()).library("library:write")
        shared_id = parse_id(str(input.shared_record_id), "sharedRecordId")
        record_id = parse_id(str(input.record_id)) if input.record_id else None
        services: Services = info.context.services
        scope, office = services.scope(tenant), services.office
        answer = await execute(
            info, scope, "useSharedRecord", input,
            run=lambda receipt: use_shared_record(scope, office, shared_id, record_id, receipt),
            answer=_record_answer, views=CATALOG_VIEWS)
        return LinkPayload(record=await _record(info, tenant, answer))

    @strawberry.mutation(description="Stop showing the shared record; the library's record "  # type: ignore[untyped-decorator]
                         "keeps a local copy of its metadata.")
    async def unlink_shared_record(self, info: Info[Context, None],
                                   input: UnlinkSharedRecordInput) -> LinkPayload:
        tenant = (await info.context.principal()).library("library:write")
        record_id = parse_id(str(input.record_id))
        services: Services = info.context.services
        scope, office = services.scope(tenant), services.office
        answer = await execute(
            info, scope, "unlinkSharedRecord", input,
            run=lambda receipt: unlink_shared_record(scope, office, record_id, receipt),
            answer=_record_answer, views=CATALOG_VIEWS)
        return LinkPayload(record=await _record(info, tenant, answer))

    @strawberry.mutation(description="Edit a shared record (its contributor, or the "  # type: ignore[untyped-decorator]
                         "consortium office): every library showing it sees the change.")
    async def edit_shared_record(self, info: Info[Context, None],
                                 input: EditSharedRecordInput) -> SharedRecordPayload:
        by = actor(await info.context.principal(), "library:write")
        shared_id = parse_id(str(input.id), "id")
        office = info.context.services.office
        answer = await execute(
            info, office, "editSharedRecord", input,
            run=lambda receipt: edit_shared_record(office, shared_id, description_of(input),
                                                   by, receipt),
            answer=_shared_answer, views=CATALOG_VIEWS, key_prefix=f"{by}:")
        return SharedRecordPayload(shared_record=await _shared(info, answer))

    @strawberry.mutation(description="Merge a duplicate shared record into the survivor "  # type: ignore[untyped-decorator]
                         "(the consortium office only); records showing it show the survivor.")
    async def merge_shared_records(self, info: Info[Context, None],
                                   input: MergeSharedRecordsInput) -> SharedRecordPayload:
        by = actor(await info.context.principal(), "library:write")
        survivor_id = parse_id(str(input.survivor_id), "survivorId")
        merged_id = parse_id(str(input.merged_id), "mergedId")
        office = info.context.services.office
        answer = await execute(
            info, office, "mergeSharedRecords", input,
            run=lambda receipt: merge_shared_records(office, survivor_id, merged_id, by,
                                                     receipt),
            answer=_shared_answer, views=CATALOG_VIEWS, key_prefix=f"{by}:")
        return SharedRecordPayload(shared_record=await _shared(info, answer))
