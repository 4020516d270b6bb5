"""A purchase suggestion: staff, or a patron through staff, ask the library to buy a title.
A patron is kept only as their pseudonym (never a name or barcode), so erasing the patron
leaves an anonymous suggestion that still counts as demand."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.acquisition.wanted import Wanted


class Suggestion(Aggregate):
    """One request to buy a title, counted as demand for it."""

    class Suggested(Aggregate.Created):
        wanted: dict[str, Any]
        for_patron: UUID | None  # the patron's pseudonym, when asked on their behalf
        note: str | None
        suggested_at: datetime

    @event(Suggested)
    def __init__(self, *, wanted: dict[str, Any], for_patron: UUID | None, note: str | None,
                 suggested_at: datetime) -> None:
        self.wanted = Wanted.from_fields(wanted)
        self.for_patron = for_patron
        self.note = note
        self.suggested_at = suggested_at

    @classmethod
    def suggest(cls, wanted: Wanted, for_patron: UUID | None, note: str | None,
                at: datetime) -> Suggestion:
        """A new suggestion (its fields already checked)."""
        return cls(wanted=wanted.as_fields(), for_patron=for_patron, note=note,
                   suggested_at=at)
