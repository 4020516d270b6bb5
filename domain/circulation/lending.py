"""An item's lending state: who has it, until when, or who it waits for on the hold shelf.
One aggregate per item, so two desks lending the same copy at once cannot both win."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.circulation.errors import (
    HeldForAnotherError,
    HoldWaitingError,
    ItemNotAvailableError,
    NotOnLoanError,
    RenewalLimitError,
)
from domain.circulation.policy import LoanPolicy

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:lending")
AVAILABLE, CHECKED_OUT, ON_HOLD_SHELF = "available", "checked_out", "on_hold_shelf"


class Lending(Aggregate):
    """The lending state of one item (by its catalog id)."""

    class Started(Aggregate.Created):
        item_id: UUID
        item_barcode: str
        record_id: UUID

    class CheckedOut(Aggregate.Event):
        loan_id: UUID
        item_id: UUID
        item_barcode: str
        record_id: UUID
        borrower: UUID  # the patron's pseudonym, not the patron
        patron_group: str
        material_type: str
        checked_out_at: datetime
        due_at: datetime

    class Renewed(Aggregate.Event):
        loan_id: UUID
        renewals: int
        renewed_at: datetime
        due_at: datetime

    class CheckedIn(Aggregate.Event):
        loan_id: UUID
        item_id: UUID
        record_id: UUID
        checked_out_at: datetime
        checked_in_at: datetime
        was_overdue: bool

    class HeldForPickup(Aggregate.Event):
        hold_id: UUID
        borrower: UUID
        until: datetime
        shelved_at: datetime

    class PickupExpired(Aggregate.Event):
        hold_id: UUID
        expired_at: datetime

    @staticmethod
    def create_id(item_id: UUID) -> UUID:
        """One lending state per item."""
        return uuid5(_NAMESPACE, str(item_id))

    @event(Started)
    def __init__(self, item_id: UUID, item_barcode: str, record_id: UUID) -> None:
        self.item_id = item_id
        self.item_barcode = item_barcode
        self.record_id = record_id
        self.status = AVAILABLE
        self.loan_id: UUID | None = None
        self.borrower: UUID | None = None
        self.patron_group = ""
        self.material_type = ""
        self.checked_out_at: datetime | None = None
        self.due_at: datetime | None = None
        self.renewals = 0
        self.hold_id: UUID | None = None
        self.pickup_until: datetime | None = None

    def check_out(self, borrower: UUID, patron_group: str, material_type: str,
                  policy: LoanPolicy, at: datetime) -> UUID:
        """Lends the item; an item on the hold shelf goes only to the patron it waits for."""
        if self.status == ON_HOLD_SHELF and self.borrower != borrower:
            raise HeldForAnotherError(
                f"item {self.item_barcode} waits on the hold shelf for another patron "
                f"until {self.pickup_until:%Y-%m-%d}")
        if self.status not in (AVAILABLE, ON_HOLD_SHELF):
            raise ItemNotAvailableError(
                f"item {self.item_barcode} is {self.status.replace('_', ' ')}")
        loan_id = uuid4()
        self._checked_out(loan_id=loan_id, item_id=self.item_id, item_barcode=self.item_barcode,
                          record_id=self.record_id, borrower=borrower,
                          patron_group=patron_group, material_type=material_type,
                          checked_out_at=at, due_at=at + timedelta(days=policy.loan_days))
        return loan_id

    @event(CheckedOut)
    def _checked_out(self, *, loan_id: UUID, item_id: UUID, item_barcode: str, record_id: UUID,
                     borrower: UUID, patron_group: str, material_type: str,
                     checked_out_at: datetime, due_at: datetime) -> None:
        self.status = CHECKED_OUT
        self.loan_id, self.borrower = loan_id, borrower
        self.patron_group, self.material_type = patron_group, material_type
        self.checked_out_at, self.due_at = checked_out_at, due_at
        self.renewals = 0
        self.hold_id = self.pickup_until = None

    def _check_on_loan(self) -> None:
        if self.status != CHECKED_OUT or self.loan_id is None:
            raise NotOnLoanError(f"item {self.item_barcode} is not on loan")

    def renew(self, policy: LoanPolicy, hold_waiting: bool, at: datetime) -> None:
        """A new due date, unless the renewals are used up or (by policy) someone waits."""
        self._check_on_loan()
        if self.renewals >= policy.max_renewals:
            raise RenewalLimitError(f"the loan was renewed {self.renewals} times, the most "
                                    f"the policy allows")
        if hold_waiting and policy.hold_blocks_renewal:
            raise HoldWaitingError("another patron waits for this title")
        loan_id = self.loan_id
        assert loan_id is not None  # noqa: S101 (_check_on_loan)
        self._renewed(loan_id, self.renewals + 1, at, at + timedelta(days=policy.loan_days))

    @event(Renewed)
    def _renewed(self, loan_id: UUID, renewals: int, renewed_at: datetime,
                 due_at: datetime) -> None:
        self.renewals, self.due_at = renewals, due_at

    def check_in(self, at: datetime) -> tuple[UUID, UUID]:
        """Closes the loan; the loan and its borrower."""
        self._check_on_loan()
        loan_id, borrower, out, due = (self.loan_id, self.borrower, self.checked_out_at,
                                       self.due_at)
        if loan_id is None or borrower is None or out is None or due is None:
            raise NotOnLoanError(f"item {self.item_barcode} has no complete loan")
        self._checked_in(loan_id=loan_id, item_id=self.item_id, record_id=self.record_id,
                         checked_out_at=out, checked_in_at=at, was_overdue=at > due)
        return loan_id, borrower

    @event(CheckedIn)
    def _checked_in(self, *, loan_id: UUID, item_id: UUID, record_id: UUID,
                    checked_out_at: datetime, checked_in_at: datetime,
                    was_overdue: bool) -> None:
        self.status = AVAILABLE
        self.loan_id = self.borrower = self.due_at = None

    def hold_for(self, hold_id: UUID, borrower: UUID, days: int, at: datetime) -> None:
        """Puts the item on the hold shelf for the next patron in the queue."""
        self._held(hold_id, borrower, at + timedelta(days=days), at)

    @event(HeldForPickup)
    def _held(self, hold_id: UUID, borrower: UUID, until: datetime,
              shelved_at: datetime) -> None:
        self.status = ON_HOLD_SHELF
        self.hold_id, self.borrower, self.pickup_until = hold_id, borrower, until

    def expire_pickup(self, at: datetime) -> UUID | None:
        """The hold was not collected in time: the item leaves the shelf (the hold's id)."""
        if self.status != ON_HOLD_SHELF or self.pickup_until is None or at < self.pickup_until:
            return None
        hold_id = self.hold_id
        assert hold_id is not None  # noqa: S101
        self._expired(hold_id, at)
        return hold_id

    @event(PickupExpired)
    def _expired(self, hold_id: UUID, expired_at: datetime) -> None:
        self.status = AVAILABLE
        self.hold_id = self.borrower = self.pickup_until = None
