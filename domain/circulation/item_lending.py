"""An item's lending state: who has it, until when, or who it waits for on the hold shelf.
One aggregate per item, so two desks lending the same copy at once cannot both win.

The aggregate was called `Lending` in `domain.circulation.lending` until interlibrary
lending (`domain.lending`) came; events stored under that topic load as `ItemLending`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.circulation.errors import (
    HeldForAnotherError,
    HoldWaitingError,
    ItemNotAvailableError,
    NotOnLoanError,
    RenewalLimitError,
)
from domain.circulation.policy import LoanPolicy

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:lending")
AVAILABLE, CHECKED_OUT, ON_HOLD_SHELF, LOST = "available", "checked_out", "on_hold_shelf", "lost"
IN_TRANSIT = "in_transit"  # pulled for another library: not lendable here
INTERLIBRARY = "interlibrary"  # the patron group of a loan to another library
# The catalog's statuses under which a copy may circulate (the others: missing, lost, withdrawn).
LENDABLE = frozenset({"available", "checked_out", "on_hold_shelf", "in_transit"})


@dataclass(frozen=True)
class Copy:
    """What circulation needs to know of a catalog item. `version` is the catalog item's
    version these facts were read at: facts older than those known are ignored (None: the
    caller read the catalog's current state)."""

    item_id: UUID
    barcode: str
    record_id: UUID
    material_type: str
    catalog_status: str  # the catalog's own: available, missing, lost, withdrawn
    version: int | None = None

    @property
    def lendable(self) -> bool:
        """Whether the catalog lets the copy circulate."""
        return self.catalog_status in LENDABLE

    def same_facts(self, other: Copy) -> bool:
        """The same copy facts, whatever the versions they were read at."""
        return (self.barcode, self.record_id, self.material_type, self.catalog_status) == (
            other.barcode, other.record_id, other.material_type, other.catalog_status)


@dataclass(frozen=True)
class HeldFor:
    """A copy on the hold shelf: the hold it waits for, its patron's pseudonym, until when."""

    hold_id: UUID
    borrower: UUID
    until: datetime


class ItemLending(Aggregate):
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

    class CopyRecorded(Aggregate.Event):
        """The catalog's facts of the copy, as circulation learnt them."""

        item_id: UUID
        item_barcode: str
        record_id: UUID
        material_type: str
        catalog_status: str
        catalog_version: int | None
        recorded_at: datetime

    class PickupCancelled(Aggregate.Event):
        """The copy left the hold shelf uncollected: its patron was erased (the hold is
        cancelled), or the catalog withdrew the copy (the hold waits again)."""

        hold_id: UUID
        cancelled_at: datetime

    class DeclaredLost(Aggregate.Event):
        """The loan closed without the copy: the copy is lost."""

        loan_id: UUID
        item_id: UUID
        record_id: UUID
        checked_out_at: datetime
        declared_at: datetime
        was_overdue: bool

    class Found(Aggregate.Event):
        """A copy declared lost came back."""

        item_id: UUID
        found_at: datetime

    class Pulled(Aggregate.Event):
        """The copy was pulled from the shelf for an interlibrary request."""

        item_id: UUID
        request_id: UUID
        pulled_at: datetime

    class Released(Aggregate.Event):
        """A copy pulled for an interlibrary request is back on the shelf unshipped."""

        item_id: UUID
        request_id: UUID
        released_at: datetime

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
        # The catalog's facts; None for a lending recorded before circulation kept them.
        self.known_copy: Copy | None = None
        self.request_id: UUID | None = None  # the interlibrary request it was pulled for

    # The copy's facts

    def record_copy(self, copy: Copy, at: datetime) -> bool:
        """Learns the catalog's facts of the copy; False when they are no news (the same as
        those known, or read at an older version of the catalog item)."""
        if copy.item_id != self.item_id:
            raise ValueError(f"copy {copy.item_id} is not item {self.item_id}")
        known = self.known_copy
        if known is not None and (known.same_facts(copy) or (
                copy.version is not None and known.version is not None
                and copy.version < known.version)):
            return False
        self._copy_recorded(item_id=self.item_id, item_barcode=copy.barcode,
                            record_id=copy.record_id, material_type=copy.material_type,
                            catalog_status=copy.catalog_status, catalog_version=copy.version,
                            recorded_at=at)
        return True

    @event(CopyRecorded)
    def _copy_recorded(self, *, item_id: UUID, item_barcode: str, record_id: UUID,
                       material_type: str, catalog_status: str, catalog_version: int | None,
                       recorded_at: datetime) -> None:
        self.item_barcode, self.record_id = item_barcode, record_id
        self.known_copy = Copy(item_id, item_barcode, record_id, material_type, catalog_status,
                               catalog_version)

    @property
    def lendable(self) -> bool:
        """Whether the catalog lets the copy circulate (as far as circulation knows)."""
        return self.known_copy is None or self.known_copy.lendable

    def _check_lendable(self) -> None:
        if self.known_copy is not None and not self.known_copy.lendable:
            status = self.known_copy.catalog_status
            verb = "was withdrawn from the collection" if status == "withdrawn" else (
                f"is {status} in the catalog")
            raise ItemNotAvailableError(f"item {self.item_barcode} {verb}: it cannot circulate")

    @property
    def held_for(self) -> HeldFor | None:
        """The hold the copy waits for on the hold shelf, if it does."""
        if (self.status != ON_HOLD_SHELF or self.hold_id is None or self.borrower is None
                or self.pickup_until is None):
            return None
        return HeldFor(self.hold_id, self.borrower, self.pickup_until)

    # Loans

    def check_out(self, borrower: UUID, patron_group: str, material_type: str,
                  policy: LoanPolicy, at: datetime) -> UUID:
        """Lends the item; an item on the hold shelf goes only to the patron it waits for,
        and a copy the catalog withdrew (or misses) to nobody."""
        self._check_lendable()
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

    def renew(self, policy: LoanPolicy, others_waiting: bool, at: datetime) -> None:
        """A new due date, unless the renewals are used up, the copy may no longer circulate,
        or (by policy) another patron waits for the title (the borrower's own hold does
        not count)."""
        self._check_on_loan()
        self._check_lendable()
        if self.renewals >= policy.max_renewals:
            raise RenewalLimitError(f"the loan was renewed {self.renewals} times, the most "
                                    f"the policy allows")
        if others_waiting and policy.hold_blocks_renewal:
            raise HoldWaitingError(
                f"another patron's hold waits for this title, and the library's policy lets "
                f"no loan of it be renewed meanwhile: check item {self.item_barcode} in by "
                f"{self.due_at:%Y-%m-%d}")
        loan_id = self.loan_id
        assert loan_id is not None  # noqa: S101 (_check_on_loan)
        self._renewed(loan_id, self.renewals + 1, at, at + timedelta(days=policy.loan_days))

    @event(Renewed)
    def _renewed(self, loan_id: UUID, renewals: int, renewed_at: datetime,
                 due_at: datetime) -> None:
        self.renewals, self.due_at = renewals, due_at

    def _open_loan(self) -> tuple[UUID, UUID, datetime, datetime]:
        """The copy's loan, its borrower, when it went out and when it is due."""
        self._check_on_loan()
        loan_id, borrower, out, due = (self.loan_id, self.borrower, self.checked_out_at,
                                       self.due_at)
        if loan_id is None or borrower is None or out is None or due is None:
            raise NotOnLoanError(f"item {self.item_barcode} has no complete loan")
        return loan_id, borrower, out, due

    def check_in(self, at: datetime) -> tuple[UUID, UUID]:
        """Closes the loan; the loan and its borrower."""
        loan_id, borrower, out, due = self._open_loan()
        self._checked_in(loan_id=loan_id, item_id=self.item_id, record_id=self.record_id,
                         checked_out_at=out, checked_in_at=at, was_overdue=at > due)
        return loan_id, borrower

    @event(CheckedIn)
    def _checked_in(self, *, loan_id: UUID, item_id: UUID, record_id: UUID,
                    checked_out_at: datetime, checked_in_at: datetime,
                    was_overdue: bool) -> None:
        self.status = AVAILABLE
        self.loan_id = self.borrower = self.due_at = self.request_id = None

    def declare_lost(self, at: datetime) -> tuple[UUID, UUID]:
        """Closes the loan without the copy, which is lost; the loan and its borrower."""
        loan_id, borrower, out, due = self._open_loan()
        self._declared_lost(loan_id=loan_id, item_id=self.item_id, record_id=self.record_id,
                            checked_out_at=out, declared_at=at, was_overdue=at > due)
        return loan_id, borrower

    @event(DeclaredLost)
    def _declared_lost(self, *, loan_id: UUID, item_id: UUID, record_id: UUID,
                       checked_out_at: datetime, declared_at: datetime,
                       was_overdue: bool) -> None:
        self.status = LOST
        self.loan_id = self.borrower = self.due_at = None

    def found(self, at: datetime) -> None:
        """A lost copy is back on the shelf."""
        if self.status != LOST:
            raise NotOnLoanError(f"item {self.item_barcode} is not lost")
        self._found(self.item_id, at)

    @event(Found)
    def _found(self, item_id: UUID, found_at: datetime) -> None:
        self.status = AVAILABLE

    # Interlibrary lending

    def pull(self, request_id: UUID, at: datetime) -> bool:
        """Takes the copy off the shelf for an interlibrary request: in transit, not lendable
        here (False when it was pulled for this request already)."""
        if self.status == IN_TRANSIT and self.request_id == request_id:
            return False
        self._check_lendable()
        if self.status != AVAILABLE:
            raise ItemNotAvailableError(
                f"item {self.item_barcode} is {self.status.replace('_', ' ')}: it cannot be "
                "pulled for another library")
        self._pulled(self.item_id, request_id, at)
        return True

    @event(Pulled)
    def _pulled(self, item_id: UUID, request_id: UUID, pulled_at: datetime) -> None:
        self.status, self.request_id = IN_TRANSIT, request_id

    def release(self, request_id: UUID, at: datetime) -> bool:
        """A pulled copy goes back on the shelf (the request was unfilled or cancelled);
        False when it is not pulled for this request."""
        if self.status != IN_TRANSIT or self.request_id != request_id:
            return False
        self._released(self.item_id, request_id, at)
        return True

    @event(Released)
    def _released(self, item_id: UUID, request_id: UUID, released_at: datetime) -> None:
        self.status, self.request_id = AVAILABLE, None

    def lend_to_library(self, request_id: UUID, library: UUID, due_at: datetime,
                        at: datetime) -> UUID:
        """Ships the copy pulled for the request: on loan to the borrowing library (its
        pseudonym `library`), until the agreed due date; the loan's id."""
        if self.status == CHECKED_OUT and self.request_id == request_id and self.loan_id:
            return self.loan_id
        if self.status != IN_TRANSIT or self.request_id != request_id:
            raise ItemNotAvailableError(
                f"item {self.item_barcode} was not pulled for request {request_id}")
        return self._lend_until(library, INTERLIBRARY, due_at, at)

    def lend_until(self, borrower: UUID, patron_group: str, due_at: datetime,
                   at: datetime) -> UUID:
        """Lends an available copy until a date set elsewhere (a copy borrowed from another
        library goes to the patron with the supplier's due date); the loan's id."""
        self._check_lendable()
        if self.status != AVAILABLE:
            raise ItemNotAvailableError(
                f"item {self.item_barcode} is {self.status.replace('_', ' ')}")
        return self._lend_until(borrower, patron_group, due_at, at)

    def extend(self, due_at: datetime, at: datetime) -> bool:
        """A due date agreed elsewhere (another library renewed its copy); False when the
        loan already runs until then."""
        self._check_on_loan()
        if self.due_at == due_at or self.loan_id is None:
            return False
        self._renewed(self.loan_id, self.renewals + 1, at, due_at)
        return True

    def _lend_until(self, borrower: UUID, patron_group: str, due_at: datetime,
                    at: datetime) -> UUID:
        loan_id = uuid4()
        material_type = self.known_copy.material_type if self.known_copy else ""
        self._checked_out(loan_id=loan_id, item_id=self.item_id, item_barcode=self.item_barcode,
                          record_id=self.record_id, borrower=borrower,
                          patron_group=patron_group, material_type=material_type,
                          checked_out_at=at, due_at=due_at)
        return loan_id

    # The hold shelf

    def hold_for(self, hold_id: UUID, borrower: UUID, days: int, at: datetime) -> None:
        """Puts the item on the hold shelf for the next patron in the queue."""
        if self.status != AVAILABLE or not self.lendable:
            raise ItemNotAvailableError(
                f"item {self.item_barcode} cannot wait on the hold shelf: it is "
                f"{self.status.replace('_', ' ')}")
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

    def cancel_pickup(self, hold_id: UUID, at: datetime) -> bool:
        """The hold the copy waits for on the shelf is cancelled: the copy leaves the hold
        shelf. False when the copy does not wait for that hold."""
        if self.status != ON_HOLD_SHELF or self.hold_id != hold_id:
            return False
        self._pickup_cancelled(hold_id, at)
        return True

    @event(PickupCancelled)
    def _pickup_cancelled(self, hold_id: UUID, cancelled_at: datetime) -> None:
        self.status = AVAILABLE
        self.hold_id = self.borrower = self.pickup_until = None


# Events stored before the rename name the old class: they resolve to this one.
OLD_TOPIC = "domain.circulation.lending:Lending"
register_topic(OLD_TOPIC, ItemLending)
