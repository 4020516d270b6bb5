"""A copy lent to another library: pulled off the shelf (in transit, not lendable here),
lent to the borrowing library until the agreed date, extended when the supplier renews,
checked in when it is back; a copy pulled for a request that is not shipped goes back."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.circulation.application import Circulation
from domain.circulation.errors import ItemNotAvailableError
from domain.circulation.item_lending import IN_TRANSIT, INTERLIBRARY
from tests.unit.circulation.conftest import CardMaker, Clock, CopyMaker


def test_a_pulled_copy_is_in_transit_and_not_lent_here(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker, clock: Clock
) -> None:
    copy = copy_of()
    lending = desk.record_copy(copy)
    request = uuid4()
    assert lending.pull(request, clock.now)
    assert not lending.pull(request, clock.now)  # the same request again: nothing new
    desk.save(lending)
    assert desk.lending_of(copy.item_id).status == IN_TRANSIT
    with pytest.raises(ItemNotAvailableError, match="in transit"):
        desk.check_out(copy.item_id, new_card())
    with pytest.raises(ItemNotAvailableError, match="cannot be pulled"):
        desk.lending_of(copy.item_id).pull(uuid4(), clock.now)


def test_a_shipped_copy_is_on_loan_to_the_library_until_checked_in(
    desk: Circulation, copy_of: CopyMaker, clock: Clock
) -> None:
    copy = copy_of()
    lending = desk.record_copy(copy)
    request, library = uuid4(), uuid4()
    with pytest.raises(ItemNotAvailableError, match="was not pulled"):
        lending.lend_to_library(request, library, clock.now + timedelta(days=28), clock.now)
    lending.pull(request, clock.now)
    due = clock.now + timedelta(days=28)
    loan = lending.lend_to_library(request, library, due, clock.now)
    assert lending.lend_to_library(request, library, due, clock.now) == loan  # once
    assert (lending.status, lending.borrower, lending.patron_group, lending.due_at) == (
        "checked_out", library, INTERLIBRARY, due)
    assert lending.extend(due + timedelta(days=14), clock.now)
    assert not lending.extend(due + timedelta(days=14), clock.now)
    assert lending.renewals == 1
    lending.check_in(clock.now)
    assert (lending.status, lending.request_id) == ("available", None)


def test_a_pulled_copy_not_shipped_goes_back_on_the_shelf(
    desk: Circulation, copy_of: CopyMaker, clock: Clock
) -> None:
    lending = desk.record_copy(copy_of())
    request = uuid4()
    assert not lending.release(request, clock.now)  # not pulled: nothing to release
    lending.pull(request, clock.now)
    assert not lending.release(uuid4(), clock.now)  # pulled for another request
    assert lending.release(request, clock.now)
    assert lending.status == "available"


def test_a_borrowed_copy_is_lent_to_the_patron_until_the_suppliers_date(
    desk: Circulation, copy_of: CopyMaker, clock: Clock
) -> None:
    lending = desk.record_copy(copy_of(material_type=INTERLIBRARY))
    due = clock.now + timedelta(days=10)
    patron = uuid4()
    lending.lend_until(patron, "undergraduate", due, clock.now)
    assert (lending.borrower, lending.due_at) == (patron, due)
    with pytest.raises(ItemNotAvailableError):
        lending.lend_until(uuid4(), "undergraduate", due, clock.now)
