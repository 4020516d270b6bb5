"""Circulation's rules: loans, renewals, limits, holds, erasure, policies."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4, uuid5

import pytest

from domain.circulation.application import Card, Circulation, Copy
from domain.circulation.errors import (
    HeldForAnotherError,
    HoldExistsError,
    HoldWaitingError,
    ItemNotAvailableError,
    LimitReachedError,
    NotOnLoanError,
    PatronBlockedError,
    PatronErasedError,
    PatronExpiredError,
    PatronHasLoansError,
    PolicyInvalidError,
    RenewalLimitError,
)
from domain.circulation.policy import ANY, LoanPolicy
from tests.unit.circulation.conftest import RECORD, Clock


def _copy(n: int = 1, status: str = "available") -> Copy:
    return Copy(uuid5(RECORD, str(n)), f"B{n}", RECORD, "book", status)


def _card(desk: Circulation, group: str = "undergraduate",
          expires: date = date(2030, 1, 1)) -> Card:
    patron = desk.register_patron(uuid4(), "sealed", group, expires)
    return Card(patron.id, uuid4())


def test_check_out_in_and_renew_follow_the_policy(desk: Circulation, clock: Clock) -> None:
    desk.set_policy("undergraduate", ANY, LoanPolicy(loan_days=14, max_renewals=1))
    card = _card(desk)
    lending = desk.check_out(_copy(), card)
    assert lending.due_at == clock.now + timedelta(days=14)
    with pytest.raises(ItemNotAvailableError):
        desk.check_out(_copy(), _card(desk))
    clock.now += timedelta(days=10)
    renewed = desk.renew(_copy())
    assert (renewed.renewals, renewed.due_at) == (1, clock.now + timedelta(days=14))
    with pytest.raises(RenewalLimitError):
        desk.renew(_copy())
    back = desk.check_in(_copy())
    assert back.status == "available"
    assert desk.open_loans(card.pseudonym) == 0
    with pytest.raises(NotOnLoanError):
        desk.check_in(_copy())


def test_patrons_blocked_expired_or_at_the_limit_are_refused(desk: Circulation) -> None:
    desk.set_policy(ANY, ANY, LoanPolicy(max_loans=1))
    card = _card(desk)
    desk.check_out(_copy(1), card)
    with pytest.raises(LimitReachedError):
        desk.check_out(_copy(2), card)
    desk.block_patron(card.patron_id, "unpaid fines")
    desk.check_in(_copy(1))
    with pytest.raises(PatronBlockedError, match="unpaid fines"):
        desk.check_out(_copy(2), card)
    desk.unblock_patron(card.patron_id)
    desk.check_out(_copy(2), card)
    with pytest.raises(PatronExpiredError):
        desk.check_out(_copy(3), _card(desk, expires=date(2020, 1, 1)))
    with pytest.raises(ItemNotAvailableError, match="withdrawn"):
        desk.check_out(_copy(4, "withdrawn"), _card(desk))


def test_holds_queue_in_order_and_the_shelf_waits_for_its_patron(
    desk: Circulation, clock: Clock
) -> None:
    first, second, borrower = _card(desk), _card(desk), _card(desk)
    desk.check_out(_copy(), borrower)
    assert desk.place_hold(RECORD, first)[1] == 1
    assert desk.place_hold(RECORD, second)[1] == 2
    with pytest.raises(HoldExistsError):
        desk.place_hold(RECORD, first)
    with pytest.raises(HoldWaitingError):
        desk.renew(_copy())
    shelved = desk.check_in(_copy())
    assert shelved.status == "on_hold_shelf"
    assert shelved.pickup_until == clock.now + timedelta(days=7)
    with pytest.raises(HeldForAnotherError):
        desk.check_out(_copy(), second)
    queue = desk.hold_queue(RECORD)
    assert queue is not None
    assert [b for _, b in queue.waiting] == [second.pseudonym]

    clock.now += timedelta(days=8)  # first never came: the copy passes to the second
    assert desk.expire_pickup(_copy())
    assert desk.lending_of(_copy()).borrower == second.pseudonym
    assert desk.check_out(_copy(), second).status == "checked_out"


def test_erasure_is_refused_with_loans_and_final_after(desk: Circulation) -> None:
    card = _card(desk)
    desk.check_out(_copy(), card)
    with pytest.raises(PatronHasLoansError, match="1 items on loan"):
        desk.erase_patron(card)
    desk.check_in(_copy())
    erased = desk.erase_patron(card)
    assert erased.patron.erased
    assert erased.cancelled_holds == ()
    with pytest.raises(PatronErasedError):
        desk.check_out(_copy(), card)
    with pytest.raises(PatronErasedError):
        desk.erase_patron(card)


@pytest.mark.parametrize(("policy", "field"), [
    (LoanPolicy(loan_days=-1), "loan_days"), (LoanPolicy(max_renewals=-2), "max_renewals"),
    (LoanPolicy(hold_shelf_days=0), "hold_shelf_days"),
])
def test_bad_policies_name_the_field(desk: Circulation, policy: LoanPolicy,
                                     field: str) -> None:
    with pytest.raises(PolicyInvalidError, match=field):
        desk.set_policy("faculty", "book", policy)
