"""A title's hold queue: patrons (by pseudonym) waiting for any copy of a record, in order."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.circulation.errors import HoldExistsError, HoldNotFoundError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:holds")


class HoldQueue(Aggregate):
    """The queue of one record; one place per patron."""

    class Started(Aggregate.Created):
        record_id: UUID

    class HoldPlaced(Aggregate.Event):
        hold_id: UUID
        record_id: UUID
        borrower: UUID
        placed_at: datetime

    class HoldCancelled(Aggregate.Event):
        hold_id: UUID
        cancelled_at: datetime

    class HoldFilled(Aggregate.Event):
        hold_id: UUID
        item_id: UUID
        filled_at: datetime

    @staticmethod
    def create_id(record_id: UUID) -> UUID:
        """One queue per record."""
        return uuid5(_NAMESPACE, str(record_id))

    @event(Started)
    def __init__(self, record_id: UUID) -> None:
        self.record_id = record_id
        self.waiting: list[tuple[UUID, UUID]] = []  # (hold id, borrower), first come first

    def place(self, borrower: UUID, at: datetime) -> tuple[UUID, int]:
        """Joins the queue; the hold's id and its position (1 = next)."""
        if any(b == borrower for _, b in self.waiting):
            raise HoldExistsError("the patron already waits for this title")
        hold_id = uuid4()
        self._placed(hold_id, self.record_id, borrower, at)
        return hold_id, len(self.waiting)

    @event(HoldPlaced)
    def _placed(self, hold_id: UUID, record_id: UUID, borrower: UUID,
                placed_at: datetime) -> None:
        self.waiting.append((hold_id, borrower))

    def position(self, hold_id: UUID) -> int:
        """Where a waiting hold stands (1 = next)."""
        for index, (waiting_id, _) in enumerate(self.waiting, 1):
            if waiting_id == hold_id:
                return index
        raise HoldNotFoundError(f"no waiting hold {hold_id}")

    def cancel(self, hold_id: UUID, borrower: UUID | None, at: datetime) -> None:
        """Leaves the queue (a patron may cancel only their own hold)."""
        if not any(h == hold_id and (borrower is None or b == borrower)
                   for h, b in self.waiting):
            raise HoldNotFoundError(f"no waiting hold {hold_id} of this patron")
        self._cancelled(hold_id, at)

    @event(HoldCancelled)
    def _cancelled(self, hold_id: UUID, cancelled_at: datetime) -> None:
        self.waiting = [(h, b) for h, b in self.waiting if h != hold_id]

    def next_waiting(self) -> tuple[UUID, UUID] | None:
        """The first hold in the queue, if any."""
        return self.waiting[0] if self.waiting else None

    def fill(self, hold_id: UUID, item_id: UUID, at: datetime) -> None:
        """A copy came back for the first in the queue: it leaves the queue for the shelf."""
        self._filled(hold_id, item_id, at)

    @event(HoldFilled)
    def _filled(self, hold_id: UUID, item_id: UUID, filled_at: datetime) -> None:
        self.waiting = [(h, b) for h, b in self.waiting if h != hold_id]
