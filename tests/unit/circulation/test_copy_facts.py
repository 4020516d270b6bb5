"""Circulation keeps its own facts of each copy (barcode, record, material type, the
catalog's status) and decides on them: a withdrawn copy is refused by circulation itself."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.circulation.application import Circulation
from domain.circulation.errors import (
    CopyUnknownError,
    ItemNotAvailableError,
    NotOnLoanError,
)
from domain.circulation.item_lending import ItemLending
from domain.circulation.patron import Borrower
from domain.circulation.policy import ANY, LoanPolicy
from tests.unit.circulation.conftest import RECORD, CardMaker, Clock, CopyMaker


def _events(desk: Circulation, aggregate_id: UUID) -> list[str]:
    return [type(e).__qualname__ for e in desk.events.get(aggregate_id)]


def test_record_copy_creates_the_lending_and_records_nothing_when_nothing_changed(
    desk: Circulation, copy_of: CopyMaker
) -> None:
    copy = copy_of(version=1)
    lending = desk.record_copy(copy)
    assert lending.known_copy == copy
    assert (lending.item_barcode, lending.record_id, lending.status) == (
        "B1", RECORD, "available")
    lending_id = ItemLending.create_id(copy.item_id)
    assert _events(desk, lending_id) == ["ItemLending.Started", "ItemLending.CopyRecorded"]

    desk.record_copy(copy)  # a redelivered catalog event
    desk.record_copy(copy_of(version=2))  # the item moved or was retagged: same facts
    assert _events(desk, lending_id) == ["ItemLending.Started", "ItemLending.CopyRecorded"]

    desk.record_copy(copy_of(version=3, material_type="dvd"))
    assert desk.lending_of(copy.item_id).known_copy == copy_of(version=3, material_type="dvd")
    assert _events(desk, lending_id)[-1] == "ItemLending.CopyRecorded"


def test_record_copy_ignores_facts_older_than_those_known(
    desk: Circulation, copy_of: CopyMaker
) -> None:
    desk.record_copy(copy_of(status="withdrawn", version=3))
    stale = desk.record_copy(copy_of(status="available", version=1))
    assert stale.known_copy == copy_of(status="withdrawn", version=3)


def test_a_withdrawn_copy_is_refused_by_circulation_itself(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    copy = copy_of(version=1)
    desk.record_copy(copy)
    card = new_card()
    assert desk.check_out(copy.item_id, card).status == "checked_out"  # by id alone
    desk.check_in(copy.item_id)
    desk.record_copy(copy_of(status="withdrawn", version=2))
    with pytest.raises(ItemNotAvailableError,
                       match="item B1 was withdrawn from the collection: it cannot circulate"):
        desk.check_out(copy.item_id, card)
    with pytest.raises(ItemNotAvailableError, match="withdrawn"):
        desk.check_out(copy, card)  # a caller's older read of the catalog does not win
    desk.record_copy(copy_of(n=2, status="missing", version=4))
    with pytest.raises(ItemNotAvailableError, match="item B2 is missing in the catalog"):
        desk.check_out(copy_of(n=2).item_id, card)


def test_commands_given_only_an_item_id_need_the_copys_facts(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    item_id = copy_of().item_id
    card = new_card()
    for command in (lambda: desk.check_out(item_id, card), lambda: desk.check_in(item_id),
                    lambda: desk.renew(item_id), lambda: desk.declare_item_lost(item_id),
                    lambda: desk.expire_pickup(item_id), lambda: desk.lending_of(item_id)):
        with pytest.raises(CopyUnknownError, match=f"does not know item {item_id}"):
            command()
    with pytest.raises(NotOnLoanError, match="item B1 is not on loan"):
        desk.check_in(copy_of())  # given the copy, it knows what to say
    assert not list(desk.events.get(ItemLending.create_id(item_id)))  # and recorded nothing


def test_a_lending_recorded_before_copy_facts_still_works(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    copy, card = copy_of(), new_card()
    # What an older version recorded: the lending and its loan, with no copy facts.
    legacy = ItemLending(item_id=copy.item_id, item_barcode=copy.barcode, record_id=RECORD)
    loan_id = legacy.check_out(card.pseudonym, "undergraduate", "book", LoanPolicy(),
                               clock.now)
    borrower = Borrower(pseudonym=card.pseudonym)
    borrower.open(loan_id, 10)
    desk.save(legacy, borrower)
    assert desk.lending_of(copy.item_id).known_copy is None

    with pytest.raises(CopyUnknownError):
        desk.renew(copy.item_id)
    clock.now += timedelta(days=3)
    renewed = desk.renew(copy)  # the caller learnt the copy from the catalog
    assert renewed.renewals == 1
    assert renewed.known_copy == copy
    back = desk.check_in(copy.item_id)  # from now on, its id is enough
    assert back.status == "available"
    assert desk.open_loans(card.pseudonym) == 0


def test_a_copy_withdrawn_while_on_loan_comes_back_but_is_not_renewed_nor_held(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    borrower, waiting = new_card(), new_card()
    desk.set_policy(ANY, ANY, LoanPolicy(hold_blocks_renewal=False))
    desk.check_out(copy_of(version=1), borrower)
    desk.place_hold(RECORD, waiting)
    desk.record_copy(copy_of(status="withdrawn", version=2))
    with pytest.raises(ItemNotAvailableError, match="withdrawn"):
        desk.renew(copy_of().item_id)
    back = desk.check_in(copy_of().item_id)
    assert (back.status, back.held_for) == ("available", None)
    queue = desk.hold_queue(RECORD)
    assert queue is not None
    assert [b for _, b in queue.waiting] == [waiting.pseudonym]


def test_a_copy_withdrawn_on_the_hold_shelf_returns_its_hold_to_the_head_of_the_queue(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    lender, first, second = new_card(), new_card(), new_card()
    desk.check_out(copy_of(1, version=1), lender)
    first_hold, _ = desk.place_hold(RECORD, first)
    desk.place_hold(RECORD, second)
    assert desk.check_in(copy_of(1).item_id).status == "on_hold_shelf"

    shelf = desk.record_copy(copy_of(1, status="withdrawn", version=2))
    assert (shelf.status, shelf.held_for, shelf.lendable) == ("available", None, False)
    assert _events(desk, shelf.id)[-2:] == [
        "ItemLending.CopyRecorded", "ItemLending.PickupCancelled"]
    queue = desk.hold_queue(RECORD)
    assert queue is not None
    assert [b for _, b in queue.waiting] == [first.pseudonym, second.pseudonym]
    assert queue.position(first_hold) == 1

    other = new_card()  # another copy comes back: it waits for the first again
    desk.check_out(copy_of(2, version=1), other)
    held = desk.check_in(copy_of(2).item_id).held_for
    assert held is not None
    assert (held.hold_id, held.borrower) == (first_hold, first.pseudonym)


def test_check_out_learns_a_copy_on_demand_in_the_same_write(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    lending = desk.check_out(copy_of(version=7, material_type="dvd"), new_card())
    assert lending.material_type == "dvd"
    assert _events(desk, lending.id) == ["ItemLending.Started", "ItemLending.CopyRecorded",
                                         "ItemLending.CheckedOut"]
    assert desk.record_copy(copy_of(version=7, material_type="dvd")).version == lending.version


def test_the_pickup_sweep_learning_a_withdrawal_returns_the_hold_to_the_queue(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    lender, waiting = new_card(), new_card()
    desk.check_out(copy_of(version=1), lender)
    hold_id, _ = desk.place_hold(RECORD, waiting)
    desk.check_in(copy_of(version=1))
    assert not desk.expire_pickup(copy_of(version=1))  # not due, nothing changes
    clock.now += timedelta(hours=1)  # the catalog withdrew it; circulation learns it now
    assert desk.expire_pickup(copy_of(status="withdrawn", version=2))
    lending = desk.lending_of(copy_of())
    assert (lending.status, lending.held_for, lending.lendable) == ("available", None, False)
    queue = desk.hold_queue(RECORD)
    assert queue is not None
    assert queue.waiting == [(hold_id, waiting.pseudonym)]
