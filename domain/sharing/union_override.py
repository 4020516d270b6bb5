"""The consortium office's overrides of the union catalog's matching: records merged into
one entry, or records split out of one. They are facts about records (tenant:record id),
not about entries, so they outlive every recomputation and rebuild of the entries."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate

from domain.shared.text import text_problem
from domain.sharing.errors import UnionOverrideInvalidError

MAX_NOTE = 2000
MAX_ENTRIES = 50  # a merge of more is a mistake in the office's hands, not a decision
MAX_RECORDS = 1000


def check_note(note: str) -> str:
    """A note of at most 2,000 characters, text the service can keep."""
    problem = text_problem(note) or (
        f"at most {MAX_NOTE:,} characters" if len(note) > MAX_NOTE else None)
    if problem:
        raise UnionOverrideInvalidError(f"note: {problem}")
    return note.strip()


class UnionOverride(Aggregate):
    """One decision of the office about which records share a union catalog entry."""

    class Merged(Aggregate.Created):
        """These entries' records belong in one entry, whatever matching says."""

        entry_ids: list[str]
        records: list[str]  # every record of the entries merged, tenant:record id
        note: str
        decided_at: datetime

    class Split(Aggregate.Created):
        """These records never share an entry with the rest of the entry they were in."""

        entry_id: str
        moved: list[str]
        rest: list[str]
        note: str
        decided_at: datetime

    def __init__(self, note: str, decided_at: datetime, *, entry_ids: list[str] | None = None,
                 entry_id: str | None = None, records: list[str] | None = None,
                 moved: list[str] | None = None, rest: list[str] | None = None) -> None:
        self.note = note
        self.decided_at = decided_at
        self.entry_ids = list(entry_ids or ([entry_id] if entry_id else []))
        self.records = list(records or [*(moved or []), *(rest or [])])
        self.moved = list(moved or [])

    @classmethod
    def merge(cls, entries: dict[str, list[str]], note: str, at: datetime) -> UnionOverride:
        """Merges two or more entries (each with its records)."""
        if len(entries) < 2:
            raise UnionOverrideInvalidError(
                "ids: give at least two different union catalog entries to merge")
        if len(entries) > MAX_ENTRIES:
            raise UnionOverrideInvalidError(f"ids: at most {MAX_ENTRIES} entries at once")
        records = sorted({r for found in entries.values() for r in found})
        if len(records) > MAX_RECORDS:
            raise UnionOverrideInvalidError(f"ids: at most {MAX_RECORDS:,} records at once")
        return cls._create(cls.Merged, id=uuid4(), entry_ids=sorted(entries), records=records,
                           note=check_note(note), decided_at=at)

    @classmethod
    def split(cls, entry_id: str, members: list[str], moved: list[str], note: str,
              at: datetime) -> UnionOverride:
        """Splits records out of an entry (some must stay: moving all moves nothing)."""
        chosen = sorted(set(moved))
        rest = sorted(set(members) - set(chosen))
        if not chosen:
            raise UnionOverrideInvalidError("recordIds: give at least one record to split off")
        if not rest:
            raise UnionOverrideInvalidError(
                "recordIds: these are all of the entry's records; leave at least one")
        if len(members) > MAX_RECORDS:
            raise UnionOverrideInvalidError(f"id: at most {MAX_RECORDS:,} records at once")
        return cls._create(cls.Split, id=uuid4(), entry_id=entry_id, moved=chosen, rest=rest,
                           note=check_note(note), decided_at=at)
