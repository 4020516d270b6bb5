"""Sharing mutations: a member shares a record, links to or unlinks from a shared record;
the contributor or the office edits one; the office merges duplicates. Each returns once the
local catalog shows the change."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.dependencies import Services
from api.graphql.catalog.mutations import EditRecordInput, description_of, parse_id
from api.graphql.catalog.queries import read_record
from api.graphql.catalog.types import Record, SharedRecord
from api.graphql.context import Context
from api.graphql.sharing.queries import actor, read_shared
from domain.catalog.errors import RecordNotLinkedError

T = TypeVar("T")


@strawberry.input
class ShareRecordInput:
    """One of the library's records, to share with the consortium."""

    record_id: strawberry.ID


@strawberry.input
class UseSharedRecordInput:
    """A shared record to show: on one of the library's records, or on a new holding."""

    shared_record_id: strawberry.ID
    record_id: strawberry.ID | None = strawberry.field(
        default=None, description="link this record of ours; leave out for a new holding")


@strawberry.input
class UnlinkSharedRecordInput:
    """A record of the library that should keep a local copy and stop following."""

    record_id: strawberry.ID


@strawberry.input
class EditSharedRecordInput(EditRecordInput):
    """Fields to change on a shared record; a field left out stays as it is."""


@strawberry.input
class MergeSharedRecordsInput:
    """Two shared records describing the same work: the merged one's links go to the
    survivor."""

    survivor_id: strawberry.ID
    merged_id: strawberry.ID


@strawberry.type
class ShareRecordPayload:
    """The shared record, and the library's record now showing it."""

    shared_record: SharedRecord
    record: Record


@strawberry.type
class LinkPayload:
    """The library's record as it now is."""

    record: Record


@strawberry.type
class SharedRecordPayload:
    """The shared record as it now is."""

    shared_record: SharedRecord


def _views(context: Context, tenant: str, record_id: UUID | None,
           shared_id: UUID | None) -> tuple[Record | None, SharedRecord | None]:
    context.services.wait_for_catalog(tenant if tenant != "office" else None, shared=True)
    record = read_record(context, tenant, str(record_id)) if record_id else None
    shared = read_shared(context, str(shared_id)) if shared_id else None
    return record, shared


def _shown(found: T | None, what: str) -> T:
    if found is None:
        raise GraphQLError(f"the {what} is recorded, but the local catalog did not show it "
                           "in time: query it again in a moment",
                           extensions={"code": "NOT_YET_VISIBLE"})
    return found


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

        def run() -> tuple[Record | None, SharedRecord | None]:
            catalog = services.consortium.scope(tenant).catalog
            record = catalog.get_record(record_id)
            if record.shared_record_id is not None:  # already shows a shared record
                shared_id = services.consortium.shared.resolve(record.shared_record_id).id
            else:
                shared_id = services.consortium.shared.contribute(
                    tenant, record.id, record.description, record.original_format,
                    record.original).id
                catalog.link_to_shared(record.id, shared_id)
            return _views(info.context, tenant, record_id, shared_id)

        record, shared = await run_in_threadpool(run)
        return ShareRecordPayload(shared_record=_shown(shared, "shared record"),
                                  record=_shown(record, "record"))

    @strawberry.mutation(description="Show a shared record's metadata: on one of the "  # type: ignore[untyped-decorator]
                         "library's records, or on a new holding without a copy of its own.")
    async def use_shared_record(self, info: Info[Context, None],
                                input: UseSharedRecordInput) -> LinkPayload:
        tenant = (await info.context.principal()).library("library:write")
        shared_id = parse_id(str(input.shared_record_id), "sharedRecordId")
        record_id = parse_id(str(input.record_id)) if input.record_id else None
        services: Services = info.context.services

        def run() -> Record | None:
            survivor = services.consortium.shared.resolve(shared_id)
            catalog = services.consortium.scope(tenant).catalog
            record = (catalog.link_to_shared(record_id, survivor.id) if record_id
                      else catalog.use_shared_record(survivor.id))
            return _views(info.context, tenant, record.id, None)[0]

        return LinkPayload(record=_shown(await run_in_threadpool(run), "record"))

    @strawberry.mutation(description="Stop showing the shared record; the library's record "  # type: ignore[untyped-decorator]
                         "keeps a local copy of its metadata.")
    async def unlink_shared_record(self, info: Info[Context, None],
                                   input: UnlinkSharedRecordInput) -> LinkPayload:
        tenant = (await info.context.principal()).library("library:write")
        record_id = parse_id(str(input.record_id))
        services: Services = info.context.services

        def run() -> Record | None:
            catalog = services.consortium.scope(tenant).catalog
            record = catalog.get_record(record_id)
            if record.shared_record_id is None:
                raise RecordNotLinkedError(f"record {record_id} shows no shared record")
            shared = services.consortium.shared.resolve(record.shared_record_id)
            catalog.unlink_from_shared(record_id, shared.description)
            return _views(info.context, tenant, record_id, None)[0]

        return LinkPayload(record=_shown(await run_in_threadpool(run), "record"))

    @strawberry.mutation(description="Edit a shared record (its contributor, or the "  # type: ignore[untyped-decorator]
                         "consortium office): every library showing it sees the change.")
    async def edit_shared_record(self, info: Info[Context, None],
                                 input: EditSharedRecordInput) -> SharedRecordPayload:
        by = actor(await info.context.principal(), "library:write")
        shared_id = parse_id(str(input.id), "id")
        services: Services = info.context.services

        def run() -> SharedRecord | None:
            services.consortium.shared.edit(shared_id, description_of(input), by)
            return _views(info.context, by, None, shared_id)[1]

        return SharedRecordPayload(
            shared_record=_shown(await run_in_threadpool(run), "shared record"))

    @strawberry.mutation(description="Merge a duplicate shared record into the survivor "  # type: ignore[untyped-decorator]
                         "(the consortium office only); records showing it show the survivor.")
    async def merge_shared_records(self, info: Info[Context, None],
                                   input: MergeSharedRecordsInput) -> SharedRecordPayload:
        by = actor(await info.context.principal(), "library:write")
        survivor_id = parse_id(str(input.survivor_id), "survivorId")
        merged_id = parse_id(str(input.merged_id), "mergedId")
        services: Services = info.context.services

        def run() -> SharedRecord | None:
            services.consortium.shared.merge(survivor_id, merged_id, by)
            return _views(info.context, by, None, survivor_id)[1]

        return SharedRecordPayload(
            shared_record=_shown(await run_in_threadpool(run), "shared record"))
