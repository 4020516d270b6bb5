"""The requester's end of an interlibrary transaction: a patron's request for a title the
library lacks, sent down a rota of lenders one at a time, following the supplier's ISO 18626
statuses, and the requester's own actions (Received, ShippedReturn, Renew, Cancel, ...)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.lending.errors import LendingInputInvalidError, LendingTransitionError
from domain.lending.message import Sent
from domain.lending.status import (
    CANCEL,
    FINAL,
    LOANED,
    OPEN,
    OUT,
    OVERDUE,
    RECEIVED,
    RENEW,
    REQUEST_RECEIVED,
    SHIPPED_RETURN,
    STAGE,
    UNFILLED,
    check_action,
    check_status,
    is_late,
    may_follow,
)

TIMEOUT = "timeout"
PEER_MARK = "~"  # a rota entry `~<agencyIdType>:<agencyIdValue>`: an outside library


def supplier_of(candidate: str) -> str:
    """A rota entry is `<member slug>:<its record id>` (the member), or an outside library's
    `~<agencyIdType>:<agencyIdValue>` (itself)."""
    return candidate if is_peer(candidate) else candidate.partition(":")[0]


def is_peer(supplier: str) -> bool:
    """Whether a rota entry (or supplier) is a library outside the consortium."""
    return supplier.startswith(PEER_MARK)


class OutgoingRequest(Aggregate):
    """A request this library (the requester) sent for one of its patrons."""

    class Requested(Aggregate.Created):
        entry_id: str
        title: str
        borrower: UUID | None  # the patron's pseudonym, never the patron
        pickup_location: str
        needed_by: datetime | None
        note: str
        candidates: list[str]  # the rota, best first: "<member>:<record id>"
        entry_record: str | None  # a member record of the entry ("<member>:<record id>")
        requested_at: datetime
        actor: str | None

    class StatusApplied(Aggregate.Event):
        """A supplier's status received (late: overtaken by a later one, history only)."""

        supplier: str
        attempt: int
        status: str
        reason_for_message: str
        message_id: str
        sent_at: datetime
        due_at: datetime | None
        answer_yes: bool | None
        reason: str
        note: str
        late: bool
        applied_at: datetime

    class MovedOn(Aggregate.Event):
        """The rota moved on to its next member (the last one said Unfilled, or nothing in
        time)."""

        previous: str
        previous_attempt: int
        supplier: str
        attempt: int
        why: str
        moved_at: datetime

    class Exhausted(Aggregate.Event):
        """Nobody in the rota could supply: the request ends Unfilled (unmet demand)."""

        previous: str | None
        previous_attempt: int
        why: str
        exhausted_at: datetime

    class ActionTaken(Aggregate.Event):
        """One of the requester's ISO 18626 actions, sent to the current supplier."""

        action: str
        supplier: str
        attempt: int
        note: str
        taken_at: datetime
        actor: str | None

    class LentOn(Aggregate.Event):
        """The copy received was lent to the patron under a temporary item."""

        item_id: UUID
        item_barcode: str
        due_at: datetime | None
        lent_at: datetime

    @event(Requested)
    def __init__(self, *, entry_id: str, title: str, borrower: UUID | None,
                 pickup_location: str, needed_by: datetime | None, note: str,
                 candidates: list[str], entry_record: str | None, requested_at: datetime,
                 actor: str | None) -> None:
        self.entry_id, self.title, self.borrower = entry_id, title, borrower
        self.pickup_location, self.needed_by, self.note = pickup_location, needed_by, note
        self.candidates = list(candidates)
        self.entry_record = entry_record
        self.requested_at = requested_at
        self.attempt = 0
        self.sent_at = requested_at
        self.status = REQUEST_RECEIVED
        self.last_change = requested_at
        self.due_at: datetime | None = None
        self.received = self.returned = self.cancel_asked = self.exhausted = False
        self.item_id: UUID | None = None
        self.item_barcode: str | None = None
        self.messages: set[str] = set()

    @classmethod
    def request(cls, entry_id: str, title: str, borrower: UUID | None, *, pickup_location: str,
                candidates: list[str], at: datetime, needed_by: datetime | None = None,
                note: str = "", actor: str | None = None,
                entry_record: str | None = None) -> OutgoingRequest:
        """A new request sent to the first of the rota; Unfilled at once when it is empty."""
        if not entry_id.strip():
            raise LendingInputInvalidError("unionCatalogEntryId: missing")
        if not pickup_location.strip() or len(pickup_location) > 200:
            raise LendingInputInvalidError("pickup_location: 1-200 characters")
        if needed_by is not None and needed_by <= at:
            raise LendingInputInvalidError("needed_by: must be in the future")
        request = cls(entry_id=entry_id, title=title, borrower=borrower,
                      pickup_location=pickup_location.strip(), needed_by=needed_by, note=note,
                      candidates=candidates, entry_record=entry_record or (
                          candidates[0] if candidates else None),
                      requested_at=at, actor=actor)
        if not candidates:
            request._exhausted(previous=None, previous_attempt=0, exhausted_at=at,
                               why="no other member holds an available, lendable copy")
        return request

    @property
    def supplier(self) -> str | None:
        """The member the request is with now (None once the rota is exhausted)."""
        if self.exhausted or not self.candidates:
            return None
        return supplier_of(self.candidates[self.attempt])

    @property
    def candidate(self) -> str | None:
        """The rota entry (member:record) the request is with now."""
        return None if self.supplier is None else self.candidates[self.attempt]

    # The supplier's statuses

    def apply_status(self, supplier: str, attempt: int, status: str, sent: Sent, *,
                     at: datetime, reason_for_message: str = "StatusChange",
                     due_at: datetime | None = None, answer_yes: bool | None = None,
                     reason: str = "", note: str = "") -> bool:
        """Applies a supplier's status; False when the message was applied already or comes
        from an earlier turn of the rota. A status overtaken by a later one is history only;
        one that skips ahead (Loaned before its WillSupply) is applied; one that cannot
        follow the current state is refused."""
        check_status(status)
        if sent.message_id in self.messages:
            return False
        if attempt != self.attempt or supplier != supplier_of(self.candidates[attempt]):
            return False
        late = sent.sent_at < self.last_change or is_late(self.status, status)
        renewal = reason_for_message == "RenewResponse"
        if not late and not renewal and not may_follow(self.status, status) and (
                self.status in FINAL or STAGE[status] <= STAGE[self.status]):
            raise LendingTransitionError(f"request {self.id} is {self.status}: it cannot "
                                         f"become {status}")
        self._status(supplier=supplier, attempt=attempt, status=status,
                     reason_for_message=reason_for_message, message_id=sent.message_id,
                     sent_at=sent.sent_at, due_at=due_at, answer_yes=answer_yes,
                     reason=reason, note=note, late=late, applied_at=at)
        if status == UNFILLED and not late:
            self._move_on(UNFILLED, at)
        return True

    @event(StatusApplied)
    def _status(self, *, supplier: str, attempt: int, status: str, reason_for_message: str,
                message_id: str, sent_at: datetime, due_at: datetime | None,
                answer_yes: bool | None, reason: str, note: str, late: bool,
                applied_at: datetime) -> None:
        self.messages.add(message_id)
        if late:
            return
        self.status, self.last_change = status, sent_at
        if due_at is not None:
            self.due_at = due_at

    def time_out(self, timeout: timedelta, at: datetime) -> bool:
        """No answer from the current member in time: the rota moves on (False when it has
        answered, or has time left)."""
        if self.status != REQUEST_RECEIVED or at < self.sent_at + timeout or not self.candidates:
            return False
        self._move_on(TIMEOUT, at)
        return True

    def _move_on(self, why: str, at: datetime) -> None:
        previous = self.candidates[self.attempt]
        if self.attempt + 1 < len(self.candidates):
            self._moved_on(previous=previous, previous_attempt=self.attempt,
                           supplier=self.candidates[self.attempt + 1],
                           attempt=self.attempt + 1, why=why, moved_at=at)
        else:
            self._exhausted(previous=previous, previous_attempt=self.attempt, why=why,
                            exhausted_at=at)

    @event(MovedOn)
    def _moved_on(self, *, previous: str, previous_attempt: int, supplier: str, attempt: int,
                  why: str, moved_at: datetime) -> None:
        self.attempt, self.sent_at = attempt, moved_at
        self.status, self.last_change = REQUEST_RECEIVED, moved_at
        self.due_at = None

    @event(Exhausted)
    def _exhausted(self, *, previous: str | None, previous_attempt: int, why: str,
                   exhausted_at: datetime) -> None:
        self.status, self.last_change = UNFILLED, exhausted_at
        self.exhausted = True

    # The requester's staff

    def act(self, action: str, at: datetime, note: str = "", actor: str | None = None) -> None:
        """Sends one of ISO 18626's actions to the current supplier, if the state allows it
        (Received once Loaned, ShippedReturn once received, Renew before the return, Cancel
        before shipping)."""
        check_action(action)
        if self.status in FINAL:
            raise LendingTransitionError(f"request {self.id} is {self.status}: the "
                                         "transaction is over")
        if action == RECEIVED and (self.status not in OUT or self.received):
            raise LendingTransitionError(
                f"request {self.id} is {self.status}: " + (
                    "it was received already" if self.received else
                    f"Received needs the supplier's {LOANED}"))
        if action == SHIPPED_RETURN and (not self.received or self.returned):
            raise LendingTransitionError(
                f"request {self.id}: " + ("the copy was returned already" if self.returned
                                          else "a copy not received cannot be returned"))
        if action == RENEW and (self.returned or self.status not in (LOANED, OVERDUE)):
            raise LendingTransitionError(
                f"request {self.id} is {self.status}" + (
                    " and the copy was returned" if self.returned else "")
                + ": it cannot be renewed")
        if action == CANCEL and (self.status not in OPEN or self.cancel_asked):
            raise LendingTransitionError(
                f"request {self.id} is {self.status}: " + (
                    "its cancellation was asked already" if self.cancel_asked
                    else "a shipped copy cannot be cancelled"))
        supplier = supplier_of(self.candidates[self.attempt])
        self._acted(action=action, supplier=supplier, attempt=self.attempt, note=note,
                    taken_at=at, actor=actor)

    @event(ActionTaken)
    def _acted(self, *, action: str, supplier: str, attempt: int, note: str, taken_at: datetime,
               actor: str | None) -> None:
        if action == RECEIVED:
            self.received = True
        elif action == SHIPPED_RETURN:
            self.returned = True
        elif action == CANCEL:
            self.cancel_asked = True

    def lend_on(self, item_id: UUID, item_barcode: str, at: datetime) -> None:
        """The copy received goes to the patron, under a temporary item."""
        if not self.received or self.returned or self.item_id is not None:
            raise LendingTransitionError(
                f"request {self.id}: only a copy received and not lent on yet can be lent "
                "to the patron")
        self._lent_on(item_id, item_barcode, self.due_at, at)

    @event(LentOn)
    def _lent_on(self, item_id: UUID, item_barcode: str, due_at: datetime | None,
                 lent_at: datetime) -> None:
        self.item_id, self.item_barcode = item_id, item_barcode
