"""A shared record: one member's record given to the consortium, which every member may use
instead of keeping its own copy of the metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.sharing.errors import SharedRecordMergedError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:shared-record")
OFFICE = "office"


class SharedRecord(Aggregate):
    """Held by the consortium office; edited by its contributor or the office."""

    class Contributed(Aggregate.Created):
        contributor: str
        source_record_id: UUID
        description: dict[str, Any]
        original_format: str | None
        original: str | None
        contributed_at: datetime

    class Edited(Aggregate.Event):
        changes: dict[str, Any]
        edited_by: str
        edited_at: datetime

    class MergedInto(Aggregate.Event):
        survivor_id: UUID
        merged_at: datetime

    class Absorbed(Aggregate.Event):
        merged_id: UUID
        merged_at: datetime

    @staticmethod
    def create_id(contributor: str, source_record_id: UUID) -> UUID:
        """Sharing the same record again finds the shared record it made."""
        return uuid5(_NAMESPACE, f"{contributor}:{source_record_id}")

    @event(Contributed)
    def __init__(self, *, contributor: str, source_record_id: UUID,
                 description: dict[str, Any], original_format: str | None,
                 original: str | None, contributed_at: datetime) -> None:
        self.contributor = contributor
        self.source_record_id = source_record_id
        self.description = dict(description)
        self.original_format = original_format
        self.original = original
        self.contributed_at = contributed_at
        self.edited_at = contributed_at
        self.merged_into: UUID | None = None
        self.absorbed: list[UUID] = []
        self.last_editor = contributor

    def may_be_edited_by(self, tenant: str) -> bool:
        """Its contributor and the consortium office may edit it."""
        return tenant in (self.contributor, OFFICE)

    def _check_live(self) -> None:
        if self.merged_into is not None:
            raise SharedRecordMergedError(
                f"shared record {self.id} was merged into {self.merged_into}; use that one")

    def edit(self, changes: dict[str, Any], by: str, at: datetime) -> bool:
        """Changes some fields; False when nothing differs."""
        self._check_live()
        changed = {k: v for k, v in changes.items() if self.description.get(k) != v}
        if not changed:
            return False
        self._edited(changed, by, at)
        return True

    @event(Edited)
    def _edited(self, changes: dict[str, Any], edited_by: str, edited_at: datetime) -> None:
        self.description.update(changes)
        self.edited_at = edited_at
        self.last_editor = edited_by

    def merge_into(self, survivor: SharedRecord, at: datetime) -> None:
        """This record describes the same work as the survivor: links now lead there."""
        self._check_live()
        survivor._check_live()
        self._merged_into(survivor.id, at)
        survivor._absorbed(self.id, at)

    @event(MergedInto)
    def _merged_into(self, survivor_id: UUID, merged_at: datetime) -> None:
        self.merged_into = survivor_id
        self.edited_at = merged_at

    @event(Absorbed)
    def _absorbed(self, merged_id: UUID, merged_at: datetime) -> None:
        self.absorbed.append(merged_id)
        self.edited_at = merged_at
