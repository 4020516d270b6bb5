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

    class HoldReturned(Aggregate.Event):
        """A copy on the hold shelf could not be lent after all (the catalog withdrew it):
        its hold goes back to the head of the queue."""

        hold_id: UUID
        borrower: UUID
        returned_at: datetime

    @staticmethod
    def create_id(record_id: UUID) -> UUID:
        """One queue per record."""
        return uuid5(_NAMESPACE, str(record_id))

    @event(Started)
    def __init__(self, record_id: UUID) -> None:
        self.record_id = record_id
        self.waiting: list[tuple[UUID, UUID]] = []  # (hold id, borrower), first come first
        # The hold each copy last went to the shelf for: item id -> (hold id, borrower).
        # The copy's lending says whether it still waits there.
        self.shelved: dict[UUID, tuple[UUID, UUID]] = {}

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

    def others_waiting(self, borrower: UUID | None) -> bool:
        """Whether a patron other than this one waits for the title."""
        return any(b != borrower for _, b in self.waiting)

    def waiting_of(self, borrower: UUID) -> list[UUID]:
        """The holds this patron has waiting in the queue."""
        return [h for h, b in self.waiting if b == borrower]

    def shelved_for(self, borrower: UUID) -> dict[UUID, UUID]:
        """Copies last sent to the hold shelf for this patron: item id -> hold id."""
        return {item: hold for item, (hold, b) in self.shelved.items() if b == borrower}

    def fill(self, hold_id: UUID, item_id: UUID, at: datetime) -> None:
        """A copy came back for the first in the queue: it leaves the queue for the shelf."""
        self._filled(hold_id, item_id, at)

    @event(HoldFilled)
    def _filled(self, hold_id: UUID, item_id: UUID, filled_at: datetime) -> None:
        for waiting_id, borrower in self.waiting:
            if waiting_id == hold_id:
                self.shelved[item_id] = (hold_id, borrower)
        self.waiting = [(h, b) for h, b in self.waiting if h != hold_id]

    def return_hold(self, item_id: UUID, hold_id: UUID, at: datetime) -> bool:
        """The copy sent to the shelf for this hold will not be lent: the hold waits again,
        at the head of the queue. False when the copy was not sent for this hold."""
        shelved = self.shelved.get(item_id)
        if shelved is None or shelved[0] != hold_id:
            return False
        self._returned(hold_id, shelved[1], at)
        return True

    @event(HoldReturned)
    def _returned(self, hold_id: UUID, borrower: UUID, returned_at: datetime) -> None:
        self.shelved = {i: s for i, s in self.shelved.items() if s[0] != hold_id}
        self.waiting.insert(0, (hold_id, borrower))
