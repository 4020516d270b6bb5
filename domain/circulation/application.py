"""Circulation's use cases. Patrons arrive as a patron id and a pseudonym (the id of their
key, kept by the vault apart from the events); loans and holds name only the pseudonym.
No I/O but the tenant's event store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.circulation.errors import (
    CopyUnknownError,
    HoldNotFoundError,
    PatronHasLoansError,
    PatronNotFoundError,
)
from domain.circulation.holds import HoldQueue
from domain.circulation.item_lending import AVAILABLE, LOST, Copy, ItemLending
from domain.circulation.patron import Borrower, Patron
from domain.circulation.policy import ANY, LoanPolicies, LoanPolicy
from domain.shared.application import ContextApplication, Receipt
from domain.shared.loading import load_many

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")
# A copy as the catalog has it (circulation learns its facts), or only its catalog item id
# (circulation must know its facts already, else CopyUnknownError).
CopyRef = Copy | UUID
__all__ = ["CancelledHold", "Card", "Circulation", "Copy", "CopyRef", "DateAsIso", "Erasure",
           "Receipt"]


@dataclass(frozen=True)
class Card:
    """A patron as circulation meets them: the patron's id and pseudonym."""

    patron_id: UUID
    pseudonym: UUID


@dataclass(frozen=True)
class CancelledHold:
    """A hold cancelled because its patron was erased."""

    hold_id: UUID
    record_id: UUID
    item_id: UUID | None  # the copy that waited for it on the hold shelf, if one did
    item_barcode: str | None = None  # that copy's barcode


@dataclass(frozen=True)
class Erasure:
    """A patron erased, and the holds that went with them."""

    patron: Patron
    cancelled_holds: tuple[CancelledHold, ...]


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
        return self._found(kind, aggregate_id)

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

    def erase_patron(self, card: Card, receipt: Receipt | None = None, *,
                     record_ids: Iterable[UUID] = ()) -> Erasure:
        """Records the erasure (the vault destroys the key) and cancels the patron's holds,
        waiting or on the hold shelf (whose copy passes to the next in the queue); refused
        while loans are open. `record_ids` names titles to look for holds placed before
        circulation noted each patron's holds (the circulation view knows them)."""
        borrower_id = Borrower.create_id(card.pseudonym)
        titles = tuple(record_ids)

        def run() -> Erasure:
            now = self.clock()
            found = self._load(card.patron_id, borrower_id, LoanPolicies.create_id())
            patron = self._patron_in(found, card)
            borrower = self._of(found, Borrower, borrower_id)
            if borrower is not None and borrower.open_loans:
                raise PatronHasLoansError(
                    f"the patron has {len(borrower.open_loans)} items on loan: check them in "
                    "(checkIn), or declare those that will not come back lost "
                    "(declareItemLost), before erasing the patron")
            patron.erase(now)
            records = dict.fromkeys([*(borrower.holds.values() if borrower else ()), *titles])
            cancelled, touched = self._cancel_holds_of(card.pseudonym, records,
                                                       self._policies_in(found), now)
            # Written even for a patron who never borrowed: a hold placed meanwhile writes
            # the borrower too, so one of the two commands loses its race and runs again.
            borrower = borrower or Borrower(pseudonym=card.pseudonym)
            borrower.forget(now)
            erasure = Erasure(patron, tuple(cancelled))
            return self._saved(receipt, erasure, patron, *touched, borrower)

        return self._retrying(run)

    def _cancel_holds_of(self, pseudonym: UUID, record_ids: Iterable[UUID],
                         policies: LoanPolicies, now: datetime
                         ) -> tuple[list[CancelledHold], list[Aggregate]]:
        """Cancels a patron's holds in these titles' queues; what was cancelled and the
        aggregates changed."""
        queue_ids = [HoldQueue.create_id(r) for r in record_ids]
        queues = [q for q in self._load(*queue_ids).values() if isinstance(q, HoldQueue)]
        cancelled: list[CancelledHold] = []
        shelved: list[tuple[HoldQueue, UUID, UUID]] = []
        for queue in queues:
            for hold_id in queue.waiting_of(pseudonym):
                queue.cancel(hold_id, pseudonym, now)
                cancelled.append(CancelledHold(hold_id, queue.record_id, None))
            shelved += [(queue, item, hold) for item, hold in queue.shelved_for(pseudonym).items()]
        lendings = self._load(*(ItemLending.create_id(item) for _, item, _ in shelved))
        touched: list[Aggregate] = [*queues]
        for queue, item_id, hold_id in shelved:
            lending = self._of(lendings, ItemLending, ItemLending.create_id(item_id))
            if lending is not None and lending.cancel_pickup(hold_id, now):
                cancelled.append(CancelledHold(hold_id, queue.record_id, item_id,
                                               lending.item_barcode))
                self._shelve_for_next(lending, queue, policies, now)
                touched.append(lending)
        return cancelled, touched

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

    # Copies

    def record_copy(self, copy: Copy, receipt: Receipt | None = None) -> ItemLending:
        """Creates or updates circulation's own facts of a catalog copy; records nothing when
        they are no news (so a process manager following the catalog and a desk learning a
        copy on demand may both call it, any number of times). A copy on the hold shelf that
        may no longer circulate leaves it, and its hold waits again at the head of the
        queue."""
        lending_id = ItemLending.create_id(copy.item_id)

        def run() -> ItemLending:
            now = self.clock()
            lending = self._of(self._load(lending_id), ItemLending, lending_id) or ItemLending(
                item_id=copy.item_id, item_barcode=copy.barcode, record_id=copy.record_id)
            if not lending.record_copy(copy, now):
                return lending
            leaving = lending.held_for is not None and not lending.lendable
            queue = self.hold_queue(lending.record_id) if leaving else None
            return self._saved(receipt, lending, lending,
                               *self._off_the_shelf(lending, queue, now))

        return self._retrying(run)

    @staticmethod
    def _off_the_shelf(lending: ItemLending, queue: HoldQueue | None,
                       now: datetime) -> list[Aggregate]:
        """A copy on the hold shelf that may no longer circulate leaves it; its hold waits
        again at the head of the queue. The aggregates changed."""
        held = lending.held_for
        if lending.lendable or held is None or not lending.cancel_pickup(held.hold_id, now):
            return []
        if queue is not None and queue.return_hold(lending.item_id, held.hold_id, now):
            return [queue]
        return []

    @staticmethod
    def _item_id(copy: CopyRef) -> UUID:
        return copy.item_id if isinstance(copy, Copy) else copy

    def _lending_in(self, found: dict[UUID, Aggregate], copy: CopyRef,
                    now: datetime) -> ItemLending:
        """The copy's lending, having learnt the facts of a Copy given (unless older than
        those known); CopyUnknownError when given only an id whose facts it lacks."""
        item_id = self._item_id(copy)
        lending = self._of(found, ItemLending, ItemLending.create_id(item_id))
        if isinstance(copy, Copy):
            lending = lending or ItemLending(item_id=copy.item_id, item_barcode=copy.barcode,
                                         record_id=copy.record_id)
            lending.record_copy(copy, now)
        if lending is None or lending.known_copy is None:
            raise CopyUnknownError(f"circulation does not know item {item_id} yet: give the "
                                   "copy as the catalog has it")
        return lending

    def _read(self, found: dict[UUID, Aggregate], asked: set[UUID], *ids: UUID) -> None:
        """Adds to what a command decides on the aggregates not read yet, in one read."""
        new = [i for i in dict.fromkeys(ids) if i not in asked]
        if new:
            asked.update(new)
            found.update(self._load(*new))

    def _lending_state(self, copy: CopyRef, now: datetime
                       ) -> tuple[ItemLending, HoldQueue | None, LoanPolicies,
                                  dict[UUID, Aggregate], set[UUID]]:
        """The copy's lending, its record's hold queue and the policies; and what was read."""
        asked = {ItemLending.create_id(self._item_id(copy)), LoanPolicies.create_id()}
        if isinstance(copy, Copy):
            asked.add(HoldQueue.create_id(copy.record_id))
        found = self._load(*asked)
        lending = self._lending_in(found, copy, now)
        queue_id = HoldQueue.create_id(lending.record_id)
        self._read(found, asked, queue_id)
        return (lending, self._of(found, HoldQueue, queue_id), self._policies_in(found),
                found, asked)

    def lending_of(self, copy: CopyRef) -> ItemLending:
        """The item's lending state (a fresh one for a Copy never lent)."""
        lending = self._get(ItemLending, ItemLending.create_id(self._item_id(copy)))
        if lending is not None:
            return lending
        if not isinstance(copy, Copy):
            raise CopyUnknownError(f"circulation does not know item {copy} yet")
        return ItemLending(item_id=copy.item_id, item_barcode=copy.barcode,
                           record_id=copy.record_id)

    # Loans

    def check_out(self, copy: CopyRef, card: Card, receipt: Receipt | None = None) -> ItemLending:
        """Lends the item to the patron, within their policy's limit, if the copy may
        circulate (as circulation knows it)."""
        lending_id = ItemLending.create_id(self._item_id(copy))
        borrower_id = Borrower.create_id(card.pseudonym)

        def run() -> ItemLending:
            now = self.clock()
            found = self._load(card.patron_id, LoanPolicies.create_id(), lending_id, borrower_id)
            patron = self._patron_in(found, card)
            patron.check_may_borrow(now.date())
            lending = self._lending_in(found, copy, now)
            material_type = lending.known_copy.material_type if lending.known_copy else ""
            policy = self._policies_in(found).for_loan(patron.patron_group, material_type)
            loan_id = lending.check_out(card.pseudonym, patron.patron_group, material_type,
                                        policy, now)
            borrower = self._of(found, Borrower, borrower_id) or Borrower(
                pseudonym=card.pseudonym)
            borrower.open(loan_id, policy.max_loans)
            return self._saved(receipt, lending, lending, borrower)

        return self._retrying(run)

    def check_in(self, copy: CopyRef, receipt: Receipt | None = None) -> ItemLending:
        """Closes the loan (or finds a lost copy); the copy goes to the hold shelf for the
        next in the queue (`held_for` says for whom), unless it may no longer circulate."""

        def run() -> ItemLending:
            now = self.clock()
            lending, queue, policies, found, asked = self._lending_state(copy, now)
            pending: list[Aggregate] = [lending]
            if lending.status == LOST:
                lending.found(now)
            else:
                loan_id, pseudonym = lending.check_in(now)
                borrower_id = Borrower.create_id(pseudonym)
                self._read(found, asked, borrower_id)
                borrower = self._of(found, Borrower, borrower_id)
                if borrower is not None:
                    borrower.close(loan_id)
                    pending.append(borrower)
            pending += self._shelve_for_next(lending, queue, policies, now)
            return self._saved(receipt, lending, *pending)

        return self._retrying(run)

    def shelved_for_next(self, lending: ItemLending, now: datetime) -> list[Aggregate]:
        """A copy taken back outside a check-in here (an interlibrary loan's return at the
        supplier) goes to the hold shelf for the first in its record's queue, as a check-in
        puts it: the other aggregates changed (the lending's own change is on `lending`)."""
        queue_id = HoldQueue.create_id(lending.record_id)
        found = self._load(queue_id, LoanPolicies.create_id())
        return self._shelve_for_next(lending, self._of(found, HoldQueue, queue_id),
                                     self._policies_in(found), now)

    def _shelve_for_next(self, lending: ItemLending, queue: HoldQueue | None,
                         policies: LoanPolicies, now: datetime) -> list[Aggregate]:
        """Puts an available copy on the hold shelf for the first in the queue."""
        if queue is None or lending.status != AVAILABLE or not lending.lendable:
            return []
        waiting = queue.next_waiting()
        if waiting is None:
            return []
        hold_id, pseudonym = waiting
        days = policies.for_loan(ANY, ANY).hold_shelf_days
        lending.hold_for(hold_id, pseudonym, days, now)
        queue.fill(hold_id, lending.item_id, now)
        return [queue]

    def renew(self, copy: CopyRef, receipt: Receipt | None = None) -> ItemLending:
        """A new due date, per the policy of the loan's patron group; refused (by policy)
        while another patron's hold waits for the title, never for the borrower's own."""

        def run() -> ItemLending:
            now = self.clock()
            lending, queue, policies, _, _ = self._lending_state(copy, now)
            policy = policies.for_loan(lending.patron_group, lending.material_type)
            others = queue is not None and queue.others_waiting(lending.borrower)
            lending.renew(policy, others, now)
            return self._saved(receipt, lending, lending)

        return self._retrying(run)

    def declare_item_lost(self, copy: CopyRef, receipt: Receipt | None = None) -> ItemLending:
        """Closes the loan of a copy that will not come back, and marks the copy lost (a
        check-in finds it again)."""

        def run() -> ItemLending:
            now = self.clock()
            asked = {ItemLending.create_id(self._item_id(copy))}
            found = self._load(*asked)
            lending = self._lending_in(found, copy, now)
            loan_id, pseudonym = lending.declare_lost(now)
            borrower_id = Borrower.create_id(pseudonym)
            self._read(found, asked, borrower_id)
            pending: list[Aggregate] = [lending]
            borrower = self._of(found, Borrower, borrower_id)
            if borrower is not None:
                borrower.close(loan_id)
                pending.append(borrower)
            return self._saved(receipt, lending, *pending)

        return self._retrying(run)

    # Holds

    def place_hold(self, record_id: UUID, card: Card,
                   receipt: Receipt | None = None) -> tuple[UUID, int]:
        """Joins the record's queue; the hold's id and position."""
        queue_id = HoldQueue.create_id(record_id)
        borrower_id = Borrower.create_id(card.pseudonym)

        def run() -> tuple[UUID, int]:
            now = self.clock()
            found = self._load(card.patron_id, queue_id, borrower_id)
            self._patron_in(found, card).check_may_borrow(now.date())
            queue = self._of(found, HoldQueue, queue_id) or HoldQueue(record_id=record_id)
            placed = queue.place(card.pseudonym, now)
            # The borrower notes the hold, so erasing the patron finds it.
            borrower = self._of(found, Borrower, borrower_id) or Borrower(
                pseudonym=card.pseudonym)
            borrower.note_hold(placed[0], record_id, now)
            return self._saved(receipt, placed, queue, borrower)

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

    def expire_pickup(self, copy: CopyRef, at: datetime | None = None) -> bool:
        """An uncollected hold expired: the copy passes to the next in the queue (or back to
        the shelf). False when it had not expired by `at` (now, unless given). A copy that
        may no longer circulate leaves the shelf at once, and its hold waits again."""

        def run() -> bool:
            now = at or self.clock()
            lending, queue, policies, _, _ = self._lending_state(copy, now)
            if lending.held_for is not None and not lending.lendable:
                self.save(lending, *self._off_the_shelf(lending, queue, now))
                return True  # withdrawn meanwhile: off the shelf, its hold not lost
            if lending.expire_pickup(now) is None:
                return False
            self.save(lending, *self._shelve_for_next(lending, queue, policies, now))
            return True

        return self._retrying(run)
