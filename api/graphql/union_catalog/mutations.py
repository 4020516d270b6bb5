"""The consortium office's overrides of the union catalog (consortium:admin): entries merged,
records split out of an entry. Each returns once the union catalog shows it."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.dependencies import Services
from api.graphql.commands import execute
from api.graphql.context import Context
from api.graphql.union_catalog.types import UnionEntry
from domain.sharing.union_override import UnionOverride
from projections.union_catalog.view import UnionCatalogView
from tenants.union_catalog import UNION_VIEWS, merge_union_entries, split_union_entry

OFFICE = "office"
MAX_IDS = 50


@strawberry.input
class MergeUnionEntriesInput:
    """Two or more entries that describe one edition: their records then share one entry,
    whatever matching says (until a split says otherwise)."""

    ids: list[strawberry.ID]
    note: str = ""
    idempotency_key: str | None = None


@strawberry.input
class SplitUnionEntryInput:
    """Records of an entry that are another edition: they never share an entry with the
    rest of it again (until a merge says otherwise)."""

    id: strawberry.ID
    record_ids: list[strawberry.ID] = strawberry.field(
        description="record ids (every record of the entry with that id) or `tenant:id`")
    note: str = ""
    idempotency_key: str | None = None


@strawberry.type
class MergeUnionEntriesPayload:
    """The entry the records are in now."""

    entry: UnionEntry | None


@strawberry.type
class SplitUnionEntryPayload:
    """The entry the rest stay in, and the entries the records split off are in now."""

    entry: UnionEntry | None
    split_off: list[UnionEntry]


def _entry_ids(given: list[strawberry.ID], field: str) -> list[str]:
    if len(given) > MAX_IDS:
        raise GraphQLError(f"{field}: at most {MAX_IDS}", extensions={"code": "INVALID_INPUT"})
    out = []
    for i, value in enumerate(given):
        try:
            out.append(str(uuid.UUID(str(value))))
        except ValueError:
            raise GraphQLError(f"{field}[{i}]: {str(value)[:100]!r} is not a union catalog "
                               "entry id", extensions={"code": "INVALID_INPUT"}) from None
    return out


def _entries_of(services: Services, records: list[str]) -> list[UnionEntry]:
    """The entries these records are in now, in the order of their first record."""
    with services.view(UnionCatalogView) as view:
        ids = [view.entry_of_record(*key.split(":", 1)) for key in records]
        rows = view.entries(list(dict.fromkeys(i for i in ids if i)))
    return [UnionEntry.of(row) for row in rows]


def _answer(decision: UnionOverride) -> dict[str, Any]:
    return {"records": decision.records, "moved": decision.moved}


@strawberry.type
class UnionCatalogMutations:
    """What the consortium office corrects in the union catalog."""

    @strawberry.mutation(description="Merge union catalog entries into one (the consortium "  # type: ignore[untyped-decorator]
                         "office only); recorded in the office's store, it survives rebuilds.")
    async def merge_union_entries(self, info: Info[Context, None],
                                  input: MergeUnionEntriesInput) -> MergeUnionEntriesPayload:
        (await info.context.principal()).require_admin()
        ids = _entry_ids(input.ids, "ids")
        services: Services = info.context.services
        office, reads = services.office, services.reads
        answer = await execute(
            info, office, "mergeUnionEntries", input,
            run=lambda receipt: merge_union_entries(office, reads, ids, input.note, receipt),
            answer=_answer, views=UNION_VIEWS, key_prefix=f"{OFFICE}:")
        found = await run_in_threadpool(_entries_of, services, answer["records"])
        return MergeUnionEntriesPayload(entry=found[0] if found else None)

    @strawberry.mutation(description="Split records out of a union catalog entry (the "  # type: ignore[untyped-decorator]
                         "consortium office only); recorded in the office's store, it "
                         "survives rebuilds.")
    async def split_union_entry(self, info: Info[Context, None],
                                input: SplitUnionEntryInput) -> SplitUnionEntryPayload:
        (await info.context.principal()).require_admin()
        [entry_id] = _entry_ids([input.id], "id")
        record_ids = [str(r)[:200] for r in input.record_ids]
        services: Services = info.context.services
        office, reads = services.office, services.reads
        answer = await execute(
            info, office, "splitUnionEntry", input,
            run=lambda receipt: split_union_entry(office, reads, entry_id, record_ids,
                                                  note=input.note, receipt=receipt),
            answer=_answer, views=UNION_VIEWS, key_prefix=f"{OFFICE}:")
        moved = set(answer["moved"])
        rest = [r for r in answer["records"] if r not in moved]
        stays = await run_in_threadpool(_entries_of, services, rest)
        split_off = await run_in_threadpool(_entries_of, services, sorted(moved))
        return SplitUnionEntryPayload(entry=stays[0] if stays else None, split_off=split_off)
