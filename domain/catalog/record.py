"""The bibliographic record: what a library knows about a work, and the MARC it came in."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.catalog.errors import RecordNotLinkedError
from domain.shared.description import KEYS, Description

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:record")


class Record(Aggregate):
    """A bibliographic record of one tenant, identified by its identity key."""

    class Catalogued(Aggregate.Created):
        identity: str
        description: dict[str, Any]
        original_format: str | None  # "marc21" (base64 of the ISO 2709 bytes), "marcxml"
        original: str | None
        catalogued_at: datetime

    class Revised(Aggregate.Event):
        changes: dict[str, Any]  # only the description's keys that changed
        original_format: str | None
        original: str | None
        revised_at: datetime

    class LinkedToShared(Aggregate.Event):
        shared_record_id: UUID
        linked_at: datetime

    class UnlinkedFromShared(Aggregate.Event):
        description: dict[str, Any]  # the shared metadata as it was: now the record's own
        unlinked_at: datetime

    @staticmethod
    @functools.lru_cache(maxsize=8192)  # an import asks for the same ids several times
    def create_id(identity: str) -> UUID:
        """The same identity gives the same id: a re-import finds the record it made."""
        return uuid5(_NAMESPACE, identity)

    @event(Catalogued)
    def __init__(self, identity: str, description: dict[str, Any], original_format: str | None,
                 original: str | None, catalogued_at: datetime) -> None:
        self.identity = identity
        self.description: Description = dict(description)
        self.original_format = original_format
        self.original = original
        self.catalogued_at = catalogued_at
        self.revised_at = catalogued_at
        self.shared_record_id: UUID | None = None

    def changes_to(self, description: Description) -> dict[str, Any]:
        """The keys whose values differ from this record's."""
        return {k: description.get(k) for k in KEYS
                if description.get(k) != self.description.get(k)}

    def revise(self, description: Description, original_format: str | None,
               original: str | None, at: datetime) -> bool:
        """Records what changed (the fields given; the original if a new one came); False
        when nothing did."""
        changes = self.changes_to({**self.description, **description})
        if original == self.original:
            original_format, original = None, None
        if not changes and original is None:
            return False
        self._revised(changes, original_format, original, at)
        return True

    @event(Revised)
    def _revised(self, changes: dict[str, Any], original_format: str | None,
                 original: str | None, revised_at: datetime) -> None:
        self.description.update(changes)
        if original is not None:
            self.original_format, self.original = original_format, original
        self.revised_at = revised_at

    def link(self, shared_record_id: UUID, at: datetime) -> bool:
        """Shows the shared record's metadata from now on; False if it already does."""
        if self.shared_record_id == shared_record_id:
            return False
        self._linked(shared_record_id, at)
        return True

    @event(LinkedToShared)
    def _linked(self, shared_record_id: UUID, linked_at: datetime) -> None:
        self.shared_record_id = shared_record_id
        self.revised_at = linked_at

    def unlink(self, description: Description, at: datetime) -> None:
        """Keeps a local copy of the shared metadata and stops following the shared record."""
        if self.shared_record_id is None:
            raise RecordNotLinkedError(f"record {self.id} is not linked to a shared record")
        self._unlinked(description, at)

    @event(UnlinkedFromShared)
    def _unlinked(self, description: dict[str, Any], unlinked_at: datetime) -> None:
        self.description = dict(description)
        self.shared_record_id = None
        self.revised_at = unlinked_at
