"""Circulation's use cases. Patrons arrive as a patron id and a pseudonym (the id of their
key, kept by the vault apart from the events); loans and holds name only the pseudonym.
No I/O but the tenant's event store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.circulation.errors import (
    HoldNotFoundError,
    ItemNotAvailableError,
    NotOnLoanError,
    PatronHasLoansError,
    PatronNotFoundError,
)
from domain.circulation.holds import HoldQueue
from domain.circulation.lending import Lending
from domain.circulation.patron import Borrower, Patron
from domain.circulation.policy import ANY, LoanPolicies, LoanPolicy
from domain.shared.application import ContextApplication, Receipt
from domain.shared.loading import load_many

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")
RETRIES = 5  # optimistic concurrency: a command re-runs on fresh state when it lost a race
LENDABLE = frozenset({"available", "checked_out", "on_hold_shelf", "in_transit"})



@dataclass(frozen=True)
class Copy:
    """What circulation needs to know of a catalog item."""

    item_id: UUID
    barcode: str
    record_id: UUID
    material_type: str
    catalog_status: str  # the catalog's own: available, missing, lost, withdrawn


@dataclass(frozen=True)
class Card:
    """A patron as circulation meets them: the patron's id and pseudonym."""

    patron_id: UUID
    pseudonym: UUID


class DateAsIso(Transcoding):
    """Dates (a patron's expiry) in the stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        """The date as YYYY-MM-DD."""
        return obj.isoformat()

    def decode(self, data: str) -> date:
        """The date back."""
        return date.fromisoformat(data)


class Circulation(ContextApplication):
    """One tenant's circulation desk."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """The library's transcodings, and dates."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsIso())

    def _get(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            found: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _load(self, *aggregate_ids: UUID) -> dict[UUID, Aggregate]:
        """What a command decides on, in one read of the store."""
        return load_many(self, aggregate_ids)

    @staticmethod
    def _of(found: dict[UUID, Aggregate], kind: type[A], aggregate_id: UUID) -> A | None:
        aggregate = found.get(aggregate_id)
        return aggregate if isinstance(aggregate, kind) else None

    def _patron_in(self, found: dict[UUID, Aggregate], card: Card) -> Patron:
        patron = self._of(found, Patron, card.patron_id)
        if patron is None:
            raise PatronNotFoundError(f"no patron {card.patron_id} in this library")
        return patron

    def _policies_in(self, found: dict[UUID, Aggregate]) -> LoanPolicies:
        return self._of(found, LoanPolicies, LoanPolicies.create_id()) or LoanPolicies()

    def _retrying(self, command: Callable[[], T]) -> T:
        """Runs a command; when another desk wrote first, runs it again on the new state."""
        for _ in range(RETRIES - 1):
            try:
                return command()
            except IntegrityError:
                continue
        return command()

    # Patrons

    def register_patron(self, patron_id: UUID, sealed: str, patron_group: str,
                        expires_on: date, receipt: Receipt | None = None) -> Patron:
        """Records a patron whose personal data is sealed with their own key."""
        patron = Patron(patron_id=patron_id, sealed=sealed, patron_group=patron_group,
                        expires_on=expires_on, registered_at=self.clock())
        return self._saved(receipt, patron, patron)

    def get_patron(self, patron_id: UUID) -> Patron:
        """The patron with this id."""
        patron = self._get(Patron, patron_id)
        if patron is None:
            raise PatronNotFoundError(f"no patron {patron_id} in this library")
        return patron

    def block_patron(self, patron_id: UUID, reason: str,
                     receipt: Receipt | None = None) -> Patron:
        """Blocks a patron from borrowing."""
        patron = self.get_patron(patron_id)
        patron.block(reason, self.clock())
        return self._saved(receipt, patron, patron)

    def unblock_patron(self, patron_id: UUID, receipt: Receipt | None = None) -> Patron:
        """Lifts a patron's blocks."""
        patron = self.get_patron(patron_id)
        patron.unblock(self.clock())
        return self._saved(receipt, patron, patron)

    def open_loans(self, pseudonym: UUID) -> int:
        """How many items the patron has on loan."""
        borrower = self._get(Borrower, Borrower.create_id(pseudonym))
        return len(borrower.open_loans) if borrower else 0

    def erase_patron(self, card: Card, receipt: Receipt | None = None) -> Patron:
        """Records the erasure (the vault destroys the key); refused while loans are open."""
        patron = self.get_patron(card.patron_id)
        borrower = self._get(Borrower, Borrower.create_id(card.pseudonym))
        if borrower is not None and borrower.open_loans:
            raise PatronHasLoansError(
                f"the patron has {len(borrower.open_loans)} items on loan: check them in "
                "(or record them lost) before erasing the patron")
        now = self.clock()
        patron.erase(now)
        pending: list[Aggregate] = [patron]
        if borrower is not None:
            borrower.forget(now)
            pending.append(borrower)
        return self._saved(receipt, patron, *pending)

    # Policies

    def policies(self) -> LoanPolicies:
        """The library's loan policies (the defaults until one is set)."""
        return self._get(LoanPolicies, LoanPolicies.create_id()) or LoanPolicies()

    def set_policy(self, patron_group: str, material_type: str, policy: LoanPolicy,
                   receipt: Receipt | None = None) -> LoanPolicies:
        """Sets the policy for a patron group and a material type ("*" for any)."""

        def run() -> LoanPolicies:
            policies = self.policies()
            policies.set(patron_group, material_type, policy)
            return self._saved(receipt, policies, policies)

        return self._retrying(run)

    # Loans

    def lending_of(self, copy: Copy) -> Lending:
        """The item's lending state (a fresh one for an item never lent)."""
        return self._get(Lending, Lending.create_id(copy.item_id)) or Lending(
            item_id=copy.item_id, item_barcode=copy.barcode, record_id=copy.record_id)

    def check_out(self, copy: Copy, card: Card, receipt: Receipt | None = None) -> Lending:
        """Lends the item to the patron, within their policy's limit."""
        if copy.catalog_status not in LENDABLE:
            raise ItemNotAvailableError(f"item {copy.barcode} is {copy.catalog_status}")
        lending_id = Lending.create_id(copy.item_id)
        borrower_id = Borrower.create_id(card.pseudonym)

        def run() -> Lending:
            now = self.clock()
            found = self._load(card.patron_id, LoanPolicies.create_id(), lending_id, borrower_id)
            patron = self._patron_in(found, card)
            patron.check_may_borrow(now.date())
            policy = self._policies_in(found).for_loan(patron.patron_group, copy.material_type)
            lending = self._of(found, Lending, lending_id) or Lending(
                item_id=copy.item_id, item_barcode=copy.barcode, record_id=copy.record_id)
            loan_id = lending.check_out(card.pseudonym, patron.patron_group,
                                        copy.material_type, policy, now)
            borrower = self._of(found, Borrower, borrower_id) or Borrower(
                pseudonym=card.pseudonym)
            borrower.open(loan_id, policy.max_loans)
            return self._saved(receipt, lending, lending, borrower)

        return self._retrying(run)

    def check_in(self, copy: Copy, receipt: Receipt | None = None) -> Lending:
        """Closes the loan; the copy goes to the hold shelf for the next in the queue."""

        def run() -> Lending:
            lending, queue, policies = self._lending_state(copy)
            if lending is None:
                raise NotOnLoanError(f"item {copy.barcode} is not on loan")
            now = self.clock()
            loan_id, pseudonym = lending.check_in(now)
            pending: list[Aggregate] = [lending]
            borrower_id = Borrower.create_id(pseudonym)
            borrower = self._of(self._load(borrower_id), Borrower, borrower_id)
            if borrower is not None:
                borrower.close(loan_id)
                pending.append(borrower)
            pending += self._shelve_for_next(lending, queue, policies, now)
            return self._saved(receipt, lending, *pending)

        return self._retrying(run)

    def _lending_state(self, copy: Copy) -> tuple[Lending | None, HoldQueue | None,
                                                  LoanPolicies]:
        """The copy's lending, its record's hold queue and the policies, in one read."""
        lending_id = Lending.create_id(copy.item_id)
        queue_id = HoldQueue.create_id(copy.record_id)
        found = self._load(lending_id, queue_id, LoanPolicies.create_id())
        return (self._of(found, Lending, lending_id), self._of(found, HoldQueue, queue_id),
                self._policies_in(found))

    def _shelve_for_next(self, lending: Lending, queue: HoldQueue | None,
                         policies: LoanPolicies, now: datetime) -> list[Aggregate]:
        waiting = queue.next_waiting() if queue else None
        if queue is None or waiting is None:
            return []
        hold_id, pseudonym = waiting
        days = policies.for_loan(ANY, ANY).hold_shelf_days
        lending.hold_for(hold_id, pseudonym, days, now)
        queue.fill(hold_id, lending.item_id, now)
        return [queue]

    def renew(self, copy: Copy, receipt: Receipt | None = None) -> Lending:
        """A new due date, per the policy of the loan's patron group."""

        def run() -> Lending:
            lending, queue, policies = self._lending_state(copy)
            if lending is None:
                raise NotOnLoanError(f"item {copy.barcode} is not on loan")
            policy = policies.for_loan(lending.patron_group, copy.material_type)
            waiting = queue is not None and queue.next_waiting() is not None
            lending.renew(policy, waiting, self.clock())
            return self._saved(receipt, lending, lending)

        return self._retrying(run)

    # Holds

    def place_hold(self, record_id: UUID, card: Card,
                   receipt: Receipt | None = None) -> tuple[UUID, int]:
        """Joins the record's queue; the hold's id and position."""
        queue_id = HoldQueue.create_id(record_id)

        def run() -> tuple[UUID, int]:
            found = self._load(card.patron_id, queue_id)
            self._patron_in(found, card).check_may_borrow(self.clock().date())
            queue = self._of(found, HoldQueue, queue_id) or HoldQueue(record_id=record_id)
            placed = queue.place(card.pseudonym, self.clock())
            return self._saved(receipt, placed, queue)

        return self._retrying(run)

    def hold_queue(self, record_id: UUID) -> HoldQueue | None:
        """The record's queue, if anyone ever waited for it."""
        return self._get(HoldQueue, HoldQueue.create_id(record_id))

    def cancel_hold(self, record_id: UUID, hold_id: UUID, pseudonym: UUID | None,
                    receipt: Receipt | None = None) -> None:
        """Leaves the queue (a patron's own hold, or any when pseudonym is None)."""

        def run() -> None:
            queue = self._get(HoldQueue, HoldQueue.create_id(record_id))
            if queue is None:
                raise HoldNotFoundError(f"no hold {hold_id} for this record")
            queue.cancel(hold_id, pseudonym, self.clock())
            self._saved(receipt, None, queue)

        self._retrying(run)

    def expire_pickup(self, copy: Copy, at: datetime | None = None) -> bool:
        """An uncollected hold expired: the copy passes to the next in the queue (or back to
        the shelf). False when it had not expired by `at` (now, unless given)."""

        def run() -> bool:
            lending, queue, policies = self._lending_state(copy)
            now = at or self.clock()
            if lending is None or lending.expire_pickup(now) is None:
                return False
            self.save(lending, *self._shelve_for_next(lending, queue, policies, now))
            return True

        return self._retrying(run)
