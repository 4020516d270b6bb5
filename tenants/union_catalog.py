"""The consortium office's overrides of the union catalog: entries merged, records split
out of an entry. The entries named are read from the union catalog's view and checked
before anything is recorded; the decision is recorded in the office's store as facts about
records, which the union catalog applies (and applies again on every rebuild)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.shared.application import Receipt
from domain.sharing.errors import (
    RecordNotInEntryError,
    UnionEntryNotFoundError,
    UnionOverrideInvalidError,
)
from domain.sharing.union_override import UnionOverride
from tenants.scope import OfficeScope

UNION_VIEWS = ("union_catalog",)  # what the office's overrides wait for (read-your-writes)
MAX_IDS = 50


class EntryMembers(Protocol):
    """What the overrides read of the union catalog: an entry's member records."""

    def members_of(self, entry_id: str) -> list[str] | None:
        """The entry's records (tenant:record id), or None when there is no such entry."""


def _members(entries: EntryMembers, entry_id: str, where: str) -> list[str]:
    found = entries.members_of(entry_id)
    if not found:
        raise UnionEntryNotFoundError(f"{where}: no union catalog entry {entry_id}")
    return found


def merge_union_entries(office: OfficeScope, entries: EntryMembers, ids: Sequence[str],
                        note: str, receipt: Receipt | None = None) -> UnionOverride:
    """Merges entries into one (two or more, each known)."""
    chosen = list(dict.fromkeys(ids))
    if len(chosen) < 2:
        raise UnionOverrideInvalidError(
            "ids: give at least two different union catalog entries to merge")
    if len(chosen) > MAX_IDS:
        raise UnionOverrideInvalidError(f"ids: at most {MAX_IDS} entries at once")
    members = {entry_id: _members(entries, entry_id, f"ids[{i}]")
               for i, entry_id in enumerate(chosen)}
    return office.shared.merge_union_entries(members, note, receipt)


def split_union_entry(office: OfficeScope, entries: EntryMembers, entry_id: str,
                      record_ids: Sequence[str], *, note: str,
                      receipt: Receipt | None = None) -> UnionOverride:
    """Splits records out of an entry. A record is named by its id (every record of the
    entry with that id: two members may share one) or as `tenant:record id`."""
    members = _members(entries, entry_id, "id")
    moved: list[str] = []
    for i, wanted in enumerate(record_ids):
        found = [m for m in members if m == wanted or m.split(":", 1)[1] == wanted]
        if not found:
            raise RecordNotInEntryError(
                f"recordIds[{i}]: record {wanted[:100]} is not in union catalog entry "
                f"{entry_id}")
        moved += found
    return office.shared.split_union_entry(entry_id, members, moved, note, receipt)
