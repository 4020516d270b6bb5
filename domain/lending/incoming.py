"""The supplier's end of an interlibrary transaction: a request received from another
member or an outside library, answered with ISO 18626 statuses, and the requester's
actions (Received, ShippedReturn, Renew, Cancel, ...) applied to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.lending.errors import LendingInputInvalidError, LendingTransitionError
from domain.lending.message import Sent
from domain.lending.status import (
    CANCEL,
    CANCELLED,
    COMPLETED_WITHOUT_RETURN,
    EXPECT_TO_SUPPLY,
    LOAN_COMPLETED,
    LOANED,
    OPEN,
    OUT,
    OVERDUE,
    RECALLED,
    RECEIVED,
    RENEW,
    REQUEST_RECEIVED,
    RETRY_POSSIBLE,
    SHIPPED_RETURN,
    UNFILLED,
    WILL_SUPPLY,
    check_action,
    check_move,
)

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:lending:incoming")
ANSWERS = (WILL_SUPPLY, EXPECT_TO_SUPPLY, UNFILLED, RETRY_POSSIBLE)
MEMBER, PEER = "member", "peer"


class IncomingRequest(Aggregate):
    """A request another library sent this one (the supplier), by its own id."""

    class Received(Aggregate.Created):
        requester_kind: str  # member (another tenant) or peer (an ISO 18626 library)
        requester: str  # a member's slug, or a peer's "agencyIdType:agencyIdValue"
        requesting_agency_request_id: str
        attempt: int
        title: str
        author: str
        record_id: UUID | None  # this library's record, when the request names one
        entry_id: str | None  # the union catalog's entry, for requests between members
        needed_by: datetime | None
        note: str
        received_at: datetime

    class StatusChanged(Aggregate.Event):
        """The supplier's status, as told to the requester (with ISO's reasonForMessage)."""

        status: str
        reason_for_message: str
        answer_yes: bool | None
        reason: str
        note: str
        due_at: datetime | None
        item_id: UUID | None
        item_barcode: str | None
        changed_at: datetime
        actor: str | None

    class ActionApplied(Aggregate.Event):
        """A requester's action received (Received, ShippedReturn, Renew, ...)."""

        action: str
        message_id: str
        sent_at: datetime
        note: str
        applied_at: datetime

    @staticmethod
    def create_id(requester: str, requesting_agency_request_id: str, attempt: int) -> UUID:
        """One request per requester, request id and rota turn: a request delivered twice
        is the same request."""
        return uuid5(_NAMESPACE, f"{requester}\n{requesting_agency_request_id}\n{attempt}")

    @event(Received)
    def __init__(self, *, requester_kind: str, requester: str, requesting_agency_request_id: str,
                 attempt: int, title: str, author: str, record_id: UUID | None,
                 entry_id: str | None, needed_by: datetime | None, note: str,
                 received_at: datetime) -> None:
        self.requester_kind, self.requester = requester_kind, requester
        self.requesting_agency_request_id = requesting_agency_request_id
        self.attempt = attempt
        self.title, self.author = title, author
        self.record_id, self.entry_id = record_id, entry_id
        self.needed_by, self.note = needed_by, note
        self.received_at = received_at
        self.status = REQUEST_RECEIVED
        self.due_at: datetime | None = None
        self.item_id: UUID | None = None
        self.item_barcode: str | None = None
        self.received_by_requester = False
        self.returned = False
        self.renewal_pending = False
        self.messages: set[str] = set()

    @classmethod
    def receive(cls, requester_kind: str, requester: str, requesting_agency_request_id: str,
                *, attempt: int, title: str, at: datetime, author: str = "",
                record_id: UUID | None = None, entry_id: str | None = None,
                needed_by: datetime | None = None, note: str = "") -> IncomingRequest:
        """A new request; its id follows from who sent it and their request id."""
        if requester_kind not in (MEMBER, PEER):
            raise LendingInputInvalidError(f"requester_kind: {requester_kind!r} is not "
                                           f"{MEMBER} or {PEER}")
        if not requesting_agency_request_id.strip():
            raise LendingInputInvalidError("requesting_agency_request_id: missing")
        return cls(requester_kind=requester_kind, requester=requester,
                   requesting_agency_request_id=requesting_agency_request_id,
                   attempt=attempt, title=title, author=author, record_id=record_id,
                   entry_id=entry_id, needed_by=needed_by, note=note, received_at=at)

    # The supplier's staff

    def respond(self, answer: str, at: datetime, *, reason: str = "", note: str = "",
                item: tuple[UUID, str] | None = None, actor: str | None = None) -> None:
        """Answers the request: WillSupply (with the copy pulled for it), ExpectToSupply,
        Unfilled (with a reason) or RetryPossible (with the conditions)."""
        if answer not in ANSWERS:
            raise LendingInputInvalidError(f"answer: {answer!r} is not one of {ANSWERS}")
        check_move(self.status, answer, str(self.id))
        if answer == WILL_SUPPLY and item is None:
            raise LendingInputInvalidError("item: WillSupply needs the copy to supply")
        item_id, barcode = item if item is not None else (self.item_id, self.item_barcode)
        self._say(answer, "RequestResponse", at, actor, reason=reason, note=note, due_at=None,
                  item_id=item_id, item_barcode=barcode)

    def ship(self, due_at: datetime, at: datetime, actor: str | None = None) -> None:
        """The copy pulled for the request leaves for the requester: Loaned, with its due
        date."""
        if self.item_id is None:
            raise LendingTransitionError(f"request {self.id} is {self.status}: nothing was "
                                         "pulled to ship (answer WillSupply first)")
        check_move(self.status, LOANED, str(self.id))
        if self.status != WILL_SUPPLY:
            raise LendingTransitionError(f"request {self.id} is {self.status}: only a "
                                         "request answered WillSupply is shipped")
        self._say(LOANED, "StatusChange", at, actor, due_at=due_at)

    def complete(self, at: datetime, actor: str | None = None) -> None:
        """The copy is back and checked in: LoanCompleted."""
        check_move(self.status, LOAN_COMPLETED, str(self.id))
        self._say(LOAN_COMPLETED, "StatusChange", at, actor)

    def complete_without_return(self, at: datetime, note: str = "",
                                actor: str | None = None) -> None:
        """The copy will not come back (lost): CompletedWithoutReturn."""
        check_move(self.status, COMPLETED_WITHOUT_RETURN, str(self.id))
        self._say(COMPLETED_WITHOUT_RETURN, "StatusChange", at, actor, note=note)

    def recall(self, at: datetime, note: str = "", actor: str | None = None) -> None:
        """The supplier wants its copy back before the due date."""
        if self.returned:
            raise LendingTransitionError(f"request {self.id}: the copy was already returned")
        check_move(self.status, RECALLED, str(self.id))
        self._say(RECALLED, "StatusChange", at, actor, note=note)

    def mark_overdue(self, at: datetime) -> bool:
        """Loaned past its due date: Overdue (False when it is not, or already is)."""
        if self.status != LOANED or self.due_at is None or at <= self.due_at or self.returned:
            return False
        self._say(OVERDUE, "StatusChange", at, None)
        return True

    def answer_renewal(self, approve: bool, due_at: datetime | None, at: datetime,
                       note: str = "", actor: str | None = None) -> None:
        """Answers the requester's renewal: approved, Loaned until the new due date;
        refused, the due date stays."""
        if not self.renewal_pending:
            raise LendingTransitionError(f"request {self.id}: no renewal was asked for")
        if approve and (due_at is None or (self.due_at is not None and due_at <= self.due_at)):
            raise LendingInputInvalidError("due_at: a renewal gives a due date after the "
                                           "current one")
        self._say(LOANED if approve else self.status, "RenewResponse", at, actor,
                  answer_yes=approve, note=note, due_at=due_at if approve else self.due_at)

    def cancel(self, at: datetime, note: str = "", actor: str | None = None) -> None:
        """The supplier's staff close a request not shipped yet: Cancelled."""
        if self.status not in OPEN:
            raise LendingTransitionError(f"request {self.id} is {self.status}: only a "
                                         "request not shipped yet can be cancelled")
        self._say(CANCELLED, "CancelResponse", at, actor, answer_yes=True, note=note)

    def _say(self, status: str, reason_for_message: str, at: datetime, actor: str | None,
             **given: Any) -> None:
        """Records a status told to the requester; what is not given stays as it is."""
        facts: dict[str, Any] = {"answer_yes": None, "reason": "", "note": "",
                                 "due_at": self.due_at, "item_id": self.item_id,
                                 "item_barcode": self.item_barcode}
        self._changed(status=status, reason_for_message=reason_for_message, changed_at=at,
                      actor=actor, **{**facts, **given})

    @event(StatusChanged)
    def _changed(self, *, status: str, reason_for_message: str, answer_yes: bool | None,
                 reason: str, note: str, due_at: datetime | None, item_id: UUID | None,
                 item_barcode: str | None, changed_at: datetime, actor: str | None) -> None:
        self.status, self.due_at = status, due_at
        self.item_id, self.item_barcode = item_id, item_barcode
        if reason_for_message == "RenewResponse":
            self.renewal_pending = False

    # The requester's actions

    def apply_action(self, action: str, sent: Sent, at: datetime, note: str = "") -> bool:
        """Applies a requester's action; False when this message was applied already.
        Refused when the state does not allow it (Received before Loaned, a renewal after
        the return, a cancellation of a shipped copy)."""
        check_action(action)
        if sent.message_id in self.messages:
            return False
        if action in (RECEIVED, SHIPPED_RETURN, RENEW) and self.status not in OUT:
            raise LendingTransitionError(f"request {self.id} is {self.status}: {action} "
                                         f"needs the copy to be {LOANED}")
        if action == SHIPPED_RETURN and self.returned:
            raise LendingTransitionError(f"request {self.id}: the copy was already returned")
        if action == RENEW and (self.returned or self.status not in (LOANED, OVERDUE)):
            raise LendingTransitionError(
                f"request {self.id} is {self.status}"
                + (" and returned" if self.returned else "") + ": it cannot be renewed")
        if action == CANCEL and self.status not in OPEN:
            raise LendingTransitionError(f"request {self.id} is {self.status}: a shipped "
                                         "copy cannot be cancelled")
        self._action(action=action, message_id=sent.message_id, sent_at=sent.sent_at, note=note,
                     applied_at=at)
        if action == CANCEL:
            self._say(CANCELLED, "CancelResponse", at, None, answer_yes=True)
        return True

    @event(ActionApplied)
    def _action(self, *, action: str, message_id: str, sent_at: datetime, note: str,
                applied_at: datetime) -> None:
        self.messages.add(message_id)
        if action == RECEIVED:
            self.received_by_requester = True
        elif action == SHIPPED_RETURN:
            self.returned = True
        elif action == RENEW:
            self.renewal_pending = True

    @property
    def from_member(self) -> bool:
        """Whether another tenant sent the request (not an outside library)."""
        return self.requester_kind == MEMBER

