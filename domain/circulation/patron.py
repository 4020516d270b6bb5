"""The patron: who may borrow. Personal data arrives sealed (encrypted with the patron's
own key, kept apart from the events), so erasing the key erases the person."""

from __future__ import annotations

import re
from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.circulation.errors import (
    LimitReachedError,
    PatronBlockedError,
    PatronErasedError,
    PatronExpiredError,
    PatronFieldInvalidError,
)

GROUP_RULE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
EMAIL_RULE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BARCODE_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def check_patron(barcode: str, name: str, email: str | None, patron_group: str) -> None:
    """A new patron's fields, or the first that is wrong."""
    if not BARCODE_RULE.match(barcode):
        raise PatronFieldInvalidError(
            f"barcode {barcode!r} is invalid: use 1-64 letters, digits, '.', '_', '/' or '-'")
    if not name.strip() or len(name) > 300:
        raise PatronFieldInvalidError("name: 1-300 characters, not blank")
    if email is not None and not EMAIL_RULE.match(email):
        raise PatronFieldInvalidError(f"email {email!r} is not an e-mail address")
    if not GROUP_RULE.match(patron_group):
        raise PatronFieldInvalidError(
            f"patronGroup {patron_group!r}: lowercase letters, digits, '_' or '-' "
            "(e.g. undergraduate, faculty, staff, public)")


class Patron(Aggregate):
    """A patron of one library; its id is random, so it names nobody by itself."""

    class Registered(Aggregate.Created):
        patron_id: UUID
        sealed: str  # barcode, name and e-mail, encrypted with the patron's key
        patron_group: str
        expires_on: date
        registered_at: datetime

    class Blocked(Aggregate.Event):
        reason: str
        blocked_at: datetime

    class Unblocked(Aggregate.Event):
        unblocked_at: datetime

    class Erased(Aggregate.Event):
        erased_at: datetime

    @staticmethod
    def create_id(patron_id: UUID) -> UUID:
        """The id the vault keyed the patron's key by (random: it names nobody)."""
        return patron_id

    @event(Registered)
    def __init__(self, *, patron_id: UUID, sealed: str, patron_group: str, expires_on: date,
                 registered_at: datetime) -> None:
        self.sealed = sealed
        self.patron_group = patron_group
        self.expires_on = expires_on
        self.registered_at = registered_at
        self.blocks: list[str] = []
        self.erased = False

    def check_may_borrow(self, today: date) -> None:
        """Refuses an erased, blocked or expired patron."""
        if self.erased:
            raise PatronErasedError(f"patron {self.id} was erased")
        if self.blocks:
            raise PatronBlockedError(f"the patron is blocked: {self.blocks[-1]}")
        if self.expires_on < today:
            raise PatronExpiredError(f"the patron's registration expired on {self.expires_on}")

    def block(self, reason: str, at: datetime) -> None:
        """Blocks borrowing, with the reason staff and patron will read."""
        if not reason.strip():
            raise PatronFieldInvalidError("reason: say why the patron is blocked")
        self._blocked(reason.strip(), at)

    @event(Blocked)
    def _blocked(self, reason: str, blocked_at: datetime) -> None:
        self.blocks.append(reason)

    def unblock(self, at: datetime) -> None:
        """Lifts every block."""
        if self.blocks:
            self._unblocked(at)

    @event(Unblocked)
    def _unblocked(self, unblocked_at: datetime) -> None:
        self.blocks = []

    def erase(self, at: datetime) -> None:
        """Records that the patron's key was destroyed; the sealed data is unreadable."""
        if self.erased:
            raise PatronErasedError(f"patron {self.id} was already erased")
        self._erased(at)

    @event(Erased)
    def _erased(self, erased_at: datetime) -> None:
        self.erased = True
        self.blocks = []


class Borrower(Aggregate):
    """What a patron has on loan, under the patron's pseudonym (the key id, not the patron
    id): enforces the loan limit in the same atomic write as each loan."""

    class Started(Aggregate.Created):
        pseudonym: UUID

    class LoanOpened(Aggregate.Event):
        loan_id: UUID

    class LoanClosed(Aggregate.Event):
        loan_id: UUID

    class Forgotten(Aggregate.Event):
        forgotten_at: datetime

    class HoldNoted(Aggregate.Event):
        """The patron joined a title's queue (so erasing them finds their holds)."""

        hold_id: UUID
        record_id: UUID
        placed_at: datetime

    @staticmethod
    def create_id(pseudonym: UUID) -> UUID:
        """The borrower of a pseudonym."""
        return pseudonym

    @event(Started)
    def __init__(self, pseudonym: UUID) -> None:
        self.pseudonym = pseudonym
        self.open_loans: list[UUID] = []
        self.forgotten = False
        self.holds: dict[UUID, UUID] = {}  # hold id -> record id, ever placed (since noted)

    def open(self, loan_id: UUID, limit: int) -> None:
        """One more item on loan, within the limit."""
        if len(self.open_loans) >= limit:
            raise LimitReachedError(f"the patron has {len(self.open_loans)} items on loan, "
                                    f"the most their policy allows ({limit})")
        self._opened(loan_id)

    @event(LoanOpened)
    def _opened(self, loan_id: UUID) -> None:
        self.open_loans.append(loan_id)

    def close(self, loan_id: UUID) -> None:
        """The item came back."""
        if loan_id in self.open_loans:
            self._closed(loan_id)

    @event(LoanClosed)
    def _closed(self, loan_id: UUID) -> None:
        self.open_loans.remove(loan_id)

    def note_hold(self, hold_id: UUID, record_id: UUID, at: datetime) -> None:
        """The patron placed a hold on a title."""
        self._hold_noted(hold_id, record_id, at)

    @event(HoldNoted)
    def _hold_noted(self, hold_id: UUID, record_id: UUID, placed_at: datetime) -> None:
        self.holds[hold_id] = record_id

    def forget(self, at: datetime) -> None:
        """The patron was erased: read models drop this pseudonym from their loans."""
        self._forgotten(at)

    @event(Forgotten)
    def _forgotten(self, forgotten_at: datetime) -> None:
        self.forgotten = True
