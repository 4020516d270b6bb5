"""The hold shelf says for whom a copy waits; a patron's own hold never blocks their
renewal; a copy that will not come back is declared lost; erasing a patron cancels their
holds, so none of them ever holds a copy or blocks another patron."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.domain import Aggregate

from domain.circulation.application import CancelledHold, Card, Circulation
from domain.circulation.errors import (
    HeldForAnotherError,
    HoldWaitingError,
    ItemNotAvailableError,
    NotOnLoanError,
    PatronErasedError,
    PatronHasLoansError,
)
from domain.circulation.holds import HoldQueue
from domain.circulation.item_lending import HeldFor
from domain.circulation.patron import Borrower
from domain.circulation.policy import ANY, LoanPolicy
from tests.unit.circulation.conftest import RECORD, CardMaker, Clock, CopyMaker

OTHER_RECORD = uuid5(UUID(int=0), "another record")


def _waiting(desk: Circulation, record_id: UUID = RECORD) -> list[UUID]:
    queue = desk.hold_queue(record_id)
    assert queue is not None
    return [b for _, b in queue.waiting]


def _kinds(desk: Circulation, aggregate_id: UUID) -> list[str]:
    return [type(e).__qualname__ for e in desk.events.get(aggregate_id)]


def test_check_in_says_for_whom_the_copy_waits_on_the_hold_shelf(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    desk.set_policy(ANY, ANY, LoanPolicy(hold_shelf_days=5))
    lender, waiting = new_card(), new_card()
    desk.check_out(copy_of(1), lender)
    desk.check_out(copy_of(2), lender)
    assert desk.check_in(copy_of(1)).held_for is None  # nobody waits yet
    hold_id, _ = desk.place_hold(RECORD, waiting)
    clock.now += timedelta(hours=2)
    shelved = desk.check_in(copy_of(2))
    assert shelved.held_for == HeldFor(hold_id, waiting.pseudonym,
                                       clock.now + timedelta(days=5))
    assert desk.check_out(copy_of(2), waiting).held_for is None


def test_a_patrons_own_hold_does_not_block_their_renewal(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    borrower, other = new_card(), new_card()
    desk.check_out(copy_of(), borrower)
    desk.place_hold(RECORD, borrower)  # they want another copy of the title, or this again
    assert desk.renew(copy_of()).renewals == 1
    desk.place_hold(RECORD, other)
    with pytest.raises(HoldWaitingError,
                       match="another patron's hold waits for this title, and the library's "
                             "policy lets no loan of it be renewed meanwhile: check item B1 "
                             "in by"):
        desk.renew(copy_of())
    desk.set_policy(ANY, ANY, LoanPolicy(hold_blocks_renewal=False))
    assert desk.renew(copy_of()).renewals == 2


def test_declare_item_lost_closes_the_loan_and_marks_the_copy_lost(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    borrower, next_patron = new_card(), new_card()
    loan = desk.check_out(copy_of(), borrower)
    clock.now += timedelta(days=30)  # past due
    lost = desk.declare_item_lost(copy_of().item_id)
    assert (lost.status, lost.loan_id, lost.borrower) == ("lost", None, None)
    assert desk.open_loans(borrower.pseudonym) == 0
    assert _kinds(desk, lost.id)[-1] == "ItemLending.DeclaredLost"
    declared = list(desk.events.get(lost.id))[-1]
    assert isinstance(declared, type(lost).DeclaredLost)
    assert (declared.loan_id, declared.was_overdue) == (loan.loan_id, True)
    assert _kinds(desk, Borrower.create_id(borrower.pseudonym))[-1] == "Borrower.LoanClosed"

    with pytest.raises(ItemNotAvailableError, match="item B1 is lost"):
        desk.check_out(copy_of().item_id, next_patron)
    with pytest.raises(NotOnLoanError):
        desk.renew(copy_of().item_id)
    with pytest.raises(NotOnLoanError):
        desk.declare_item_lost(copy_of().item_id)
    assert desk.erase_patron(borrower).patron.erased  # nothing on loan any more

    hold_id, _ = desk.place_hold(RECORD, next_patron)
    found = desk.check_in(copy_of().item_id)  # it turned up after all
    assert _kinds(desk, found.id)[-2] == "ItemLending.Found"
    assert found.held_for is not None
    assert found.held_for.hold_id == hold_id


def test_declare_item_lost_needs_a_loan(desk: Circulation, copy_of: CopyMaker) -> None:
    with pytest.raises(NotOnLoanError, match="item B1 is not on loan"):
        desk.declare_item_lost(copy_of())


def test_erasure_refused_for_loans_names_the_ways_out(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    card = new_card()
    desk.check_out(copy_of(), card)
    with pytest.raises(PatronHasLoansError, match=r"1 items on loan: check them in "
                       r"\(checkIn\), or declare those that will not come back lost "
                       r"\(declareItemLost\)"):
        desk.erase_patron(card)


def test_erasing_a_patron_who_only_has_holds_cancels_them(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    erased, after, lender = new_card(), new_card(), new_card()
    desk.check_out(copy_of(1), lender)
    first, _ = desk.place_hold(RECORD, erased)
    other, _ = desk.place_hold(OTHER_RECORD, erased)
    desk.place_hold(RECORD, after)

    erasure = desk.erase_patron(erased)
    assert set(erasure.cancelled_holds) == {CancelledHold(first, RECORD, None),
                                            CancelledHold(other, OTHER_RECORD, None)}
    assert _waiting(desk) == [after.pseudonym]
    assert _waiting(desk, OTHER_RECORD) == []
    assert _kinds(desk, HoldQueue.create_id(RECORD))[-1] == "HoldQueue.HoldCancelled"
    assert _kinds(desk, Borrower.create_id(erased.pseudonym))[-1] == "Borrower.Forgotten"
    held = desk.check_in(copy_of(1)).held_for  # the copy goes to the next patron
    assert held is not None
    assert held.borrower == after.pseudonym
    with pytest.raises(PatronErasedError):
        desk.place_hold(OTHER_RECORD, erased)


def test_erasing_a_patron_whose_copy_waits_on_the_hold_shelf_passes_it_on(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    erased, after, lender = new_card(), new_card(), new_card()
    desk.check_out(copy_of(1), lender)
    hold_id, _ = desk.place_hold(RECORD, erased)
    desk.place_hold(RECORD, after)
    assert desk.check_in(copy_of(1)).held_for is not None
    with pytest.raises(HeldForAnotherError):
        desk.check_out(copy_of(1), after)

    clock.now += timedelta(days=1)
    erasure = desk.erase_patron(erased)
    assert erasure.cancelled_holds == (CancelledHold(hold_id, RECORD, copy_of(1).item_id,
                                                     "B1"),)
    lending = desk.lending_of(copy_of(1))
    assert _kinds(desk, lending.id)[-2:] == ["ItemLending.PickupCancelled",
                                             "ItemLending.HeldForPickup"]
    assert lending.held_for is not None
    assert lending.held_for.borrower == after.pseudonym
    assert desk.check_out(copy_of(1), after).status == "checked_out"


def test_erasing_a_patron_finds_holds_placed_before_they_were_noted(
    desk: Circulation, new_card: CardMaker, clock: Clock
) -> None:
    card, after = new_card(), new_card()
    queue = HoldQueue(record_id=RECORD)  # as an older version recorded it: no borrower note
    hold_id, _ = queue.place(card.pseudonym, clock.now)
    desk.save(queue)
    desk.place_hold(RECORD, after)
    erasure = desk.erase_patron(card, record_ids=[RECORD, OTHER_RECORD])
    assert erasure.cancelled_holds == (CancelledHold(hold_id, RECORD, None),)
    assert _waiting(desk) == [after.pseudonym]


def test_erasing_a_patron_with_nothing_in_circulation_still_forgets_their_pseudonym(
    desk: Circulation, new_card: CardMaker
) -> None:
    card = new_card()
    assert desk.erase_patron(card).cancelled_holds == ()
    borrower = desk.repository.get(Borrower.create_id(card.pseudonym))
    assert isinstance(borrower, Borrower)
    assert borrower.forgotten


class _RacingDesk(Circulation):
    """A desk where another desk acts once, right after the next command has read its state."""

    interleave: Callable[[], object] | None = None

    def _load(self, *aggregate_ids: UUID) -> dict[UUID, Aggregate]:
        found = super()._load(*aggregate_ids)
        other, self.interleave = self.interleave, None
        if other is not None:
            other()
        return found


def test_a_hold_placed_while_the_patron_is_erased_is_cancelled_or_refused(
    clock: Clock
) -> None:
    desk = _RacingDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    patron = desk.register_patron(uuid4(), "sealed", "public", date(2030, 1, 1))
    card = Card(patron.id, uuid4())
    placed: list[UUID] = []
    desk.interleave = lambda: placed.append(desk.place_hold(RECORD, card)[0])
    erasure = desk.erase_patron(card)  # read a patron without holds, then lost its race
    assert erasure.cancelled_holds == (CancelledHold(placed[0], RECORD, None),)
    assert _waiting(desk) == []
