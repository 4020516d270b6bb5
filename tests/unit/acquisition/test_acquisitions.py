"""Acquisition's rules on an in-memory event store: suggestions, orders and their states,
prices, and the office's price-sharing setting. Nothing bad is ever recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.acquisition.application import Acquisitions
from domain.acquisition.errors import (
    CopiesInvalidError,
    OrderCancelledError,
    OrderNotFoundError,
    OrderReceivedError,
    PriceInvalidError,
    ReceiptInvalidError,
    SuggestionNotFoundError,
    WantedInvalidError,
)
from domain.acquisition.order import CANCELLED, OPEN, RECEIVED, Order
from domain.acquisition.wanted import Price, Wanted

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
BOOK = Wanted.of(entry_id=None, title="Moby Dick", isbn="0-14-243724-7")


@pytest.fixture
def acquisitions() -> Acquisitions:
    return Acquisitions(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def _events(app: Acquisitions) -> int:
    return app.recorder.max_notification_id() or 0


def test_wanted_normalizes_an_isbn_10_to_its_isbn_13() -> None:
    assert BOOK.isbn == "9780142437247"
    assert BOOK.title == "Moby Dick"


@pytest.mark.parametrize(("given", "field"), [
    ({"entry_id": None, "title": None, "isbn": None}, "entry_id"),
    ({"entry_id": "  ", "title": " ", "isbn": ""}, "entry_id"),
    ({"entry_id": None, "title": None, "isbn": "0-14-243724-8"}, "isbn"),
    ({"entry_id": None, "title": None, "isbn": "not an isbn"}, "isbn"),
    ({"entry_id": None, "title": "x" * 501, "isbn": None}, "title"),
    ({"entry_id": None, "title": "bad\x07bell", "isbn": None}, "title"),
])
def test_wanted_refuses_what_names_no_title_naming_the_field(given: dict[str, str | None],
                                                             field: str) -> None:
    with pytest.raises(WantedInvalidError, match=f"^{field}:"):
        Wanted.of(**given)


@pytest.mark.parametrize(("amount", "currency", "problem"), [
    ("0", "EUR", "more than zero"), ("-5", "EUR", "more than zero"),
    ("100000.01", "EUR", "beyond"), ("12.345", "EUR", "two decimals"),
    ("twelve", "EUR", "not a number"), ("NaN", "EUR", "more than zero"),
    ("12", "euro", "ISO 4217"), ("12", "", "ISO 4217"),
])
def test_prices_refuse_absurd_amounts_and_unknown_currencies(amount: str, currency: str,
                                                            problem: str) -> None:
    with pytest.raises(PriceInvalidError, match=problem):
        Price.of(amount, currency)


def test_a_price_keeps_cents_and_an_upper_case_currency() -> None:
    assert Price.of(" 12.5 ", "eur") == Price("12.50", "EUR")


def test_a_suggestion_on_a_patrons_behalf_keeps_only_the_pseudonym(
    acquisitions: Acquisitions
) -> None:
    pseudonym = uuid4()
    suggestion = acquisitions.suggest_purchase(BOOK, pseudonym, "for the book club")
    again = acquisitions.get_suggestion(suggestion.id)
    assert again.for_patron == pseudonym
    assert again.wanted == BOOK
    recorded = acquisitions.notification_log.select(1, 10)[0].state.decode()
    assert pseudonym.hex in recorded.replace("-", "")
    assert "barcode" not in recorded


@pytest.mark.parametrize("copies", [0, -3, 1001])
def test_an_order_for_no_copies_or_absurdly_many_is_refused_and_nothing_recorded(
    acquisitions: Acquisitions, copies: int
) -> None:
    with pytest.raises(CopiesInvalidError, match=r"^copies:"):
        acquisitions.place_order(BOOK, copies, price=None, vendor=None, suggestion_ids=[],
                                 note=None)
    assert _events(acquisitions) == 0


def test_an_order_answering_a_suggestion_of_another_store_is_refused(
    acquisitions: Acquisitions
) -> None:
    with pytest.raises(SuggestionNotFoundError):
        acquisitions.place_order(BOOK, 1, price=None, vendor=None, suggestion_ids=[uuid4()],
                                 note=None)
    assert _events(acquisitions) == 0


def test_an_order_is_open_then_received(acquisitions: Acquisitions) -> None:
    order = acquisitions.place_order(BOOK, 2, price=Price.of("19.99", "USD"), vendor="Vendor",
                                     suggestion_ids=[], note=None)
    assert order.status == OPEN
    assert order.price == Price("19.99", "USD")
    record_id = uuid4()
    received = acquisitions.receive_order(order.id, record_id, ["b1", "b2"])
    assert (received.status, received.record_id, received.barcodes) == (
        RECEIVED, record_id, ["b1", "b2"])
    with pytest.raises(OrderReceivedError):
        acquisitions.cancel_order(order.id, None)
    with pytest.raises(OrderReceivedError):
        acquisitions.receive_order(order.id, record_id, ["b3", "b4"])


def test_a_cancelled_order_cannot_be_received_and_cancelling_again_changes_nothing(
    acquisitions: Acquisitions
) -> None:
    order = acquisitions.place_order(BOOK, 1, price=None, vendor=None, suggestion_ids=[], note=None)
    assert acquisitions.cancel_order(order.id, "budget").status == CANCELLED
    recorded = _events(acquisitions)
    assert acquisitions.cancel_order(order.id, "budget").status == CANCELLED
    assert _events(acquisitions) == recorded
    with pytest.raises(OrderCancelledError):
        acquisitions.receive_order(order.id, uuid4(), ["b1"])
    assert _events(acquisitions) == recorded


@pytest.mark.parametrize("barcodes", [["b1"], ["b1", "b1"], ["b1", "b2", "b3"]])
def test_receiving_other_than_one_barcode_per_copy_is_refused(
    acquisitions: Acquisitions, barcodes: list[str]
) -> None:
    order = acquisitions.place_order(BOOK, 2, price=None, vendor=None, suggestion_ids=[], note=None)
    with pytest.raises(ReceiptInvalidError, match=r"^barcodes:"):
        acquisitions.receive_order(order.id, uuid4(), barcodes)
    assert acquisitions.get_order(order.id).status == OPEN


def test_an_unknown_order_is_not_found(acquisitions: Acquisitions) -> None:
    with pytest.raises(OrderNotFoundError):
        acquisitions.cancel_order(uuid4(), None)
    suggestion = acquisitions.suggest_purchase(BOOK, None, None)
    with pytest.raises(OrderNotFoundError):  # a suggestion is not an order
        acquisitions.get_order(suggestion.id)


def test_an_order_replays_to_the_same_state(acquisitions: Acquisitions) -> None:
    order = acquisitions.place_order(BOOK, 3, price=Price.of("5", "EUR"), vendor=None,
                                     suggestion_ids=[], note="note")
    acquisitions.cancel_order(order.id, "duplicate")
    replayed: Order = acquisitions.repository.get(order.id)
    assert (replayed.status, replayed.copies, replayed.price, replayed.note) == (
        CANCELLED, 3, Price("5.00", "EUR"), "note")


def test_price_sharing_is_off_until_the_office_turns_it_on(acquisitions: Acquisitions) -> None:
    assert acquisitions.price_sharing() is None
    assert acquisitions.set_price_sharing(True).enabled
    recorded = _events(acquisitions)
    assert acquisitions.set_price_sharing(True).enabled
    assert _events(acquisitions) == recorded
    assert not acquisitions.set_price_sharing(False).enabled
