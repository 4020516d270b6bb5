"""Shared metadata's use cases, in the consortium office's event store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.shared.application import ContextApplication, Receipt
from domain.shared.description import check_description
from domain.sharing.errors import (
    MergeInvalidError,
    NotContributorError,
    SharedRecordNotFoundError,
)
from domain.sharing.shared_record import OFFICE, SharedRecord
from domain.sharing.union_override import UnionOverride


class SharedCatalog(ContextApplication):
    """The consortium's shared records."""

    def contribute(self, contributor: str, source_record_id: UUID, description: dict[str, Any],
                   original_format: str | None, original: str | None, *,
                   receipt: Receipt | None = None) -> SharedRecord:
        """Shares a member's record; sharing it again returns the same shared record."""
        shared_id = SharedRecord.create_id(contributor, source_record_id)
        try:
            existing: SharedRecord = self.repository.get(shared_id)
        except AggregateNotFoundError:
            pass
        else:
            return existing
        shared = SharedRecord(contributor=contributor, source_record_id=source_record_id,
                              description=description, original_format=original_format,
                              original=original, contributed_at=self.clock())
        return self._saved(receipt, shared, shared)

    def get(self, shared_id: UUID) -> SharedRecord:
        """The shared record with this id (merged ones included)."""
        try:
            shared: SharedRecord = self.repository.get(shared_id)
        except AggregateNotFoundError:
            raise SharedRecordNotFoundError(f"no shared record {shared_id}") from None
        if not isinstance(shared, SharedRecord):
            raise SharedRecordNotFoundError(f"no shared record {shared_id}")
        return shared

    def resolve(self, shared_id: UUID) -> SharedRecord:
        """The shared record a link leads to: through merges, to the survivor."""
        shared = self.get(shared_id)
        for _ in range(100):  # merges form a chain; a bound keeps a bad store from looping
            if shared.merged_into is None:
                return shared
            shared = self.get(shared.merged_into)
        raise MergeInvalidError(f"shared record {shared_id} leads through too many merges")

    def edit(self, shared_id: UUID, changes: dict[str, Any], by: str,
             receipt: Receipt | None = None) -> SharedRecord:
        """Edits a shared record: its contributor or the consortium office only."""
        shared = self.get(shared_id)
        if not shared.may_be_edited_by(by):
            raise NotContributorError(
                f"only {shared.contributor} (its contributor) or the consortium office may "
                "edit this shared record")
        checked = check_description({"title": shared.description.get("title"), **changes})
        if shared.edit({k: checked[k] for k in changes}, by, self.clock()):
            self._saved(receipt, shared, shared)
        return shared

    def merge(self, survivor_id: UUID, merged_id: UUID, by: str,
              receipt: Receipt | None = None) -> SharedRecord:
        """Merges a duplicate into the survivor (the consortium office only)."""
        if by != OFFICE:
            raise NotContributorError("only the consortium office merges shared records")
        if survivor_id == merged_id:
            raise MergeInvalidError("a shared record cannot be merged into itself")
        survivor, merged = self.get(survivor_id), self.get(merged_id)
        merged.merge_into(survivor, self.clock())
        return self._saved(receipt, survivor, merged, survivor)

    def merge_union_entries(self, entries: dict[str, list[str]], note: str,
                            receipt: Receipt | None = None) -> UnionOverride:
        """The office's merge of union catalog entries (each given with its records)."""
        decision = UnionOverride.merge(entries, note, self.clock())
        return self._saved(receipt, decision, decision)

    def split_union_entry(self, entry_id: str, members: list[str], moved: list[str], note: str,
                          receipt: Receipt | None = None) -> UnionOverride:
        """The office's split of records out of a union catalog entry."""
        decision = UnionOverride.split(entry_id, members, moved, note, self.clock())
        return self._saved(receipt, decision, decision)
