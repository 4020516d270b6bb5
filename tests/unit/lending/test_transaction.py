"""Both ends of an interlibrary transaction follow ISO 18626: legal moves, refused illegal
ones (with the state and the move named), a message applied once, late messages kept as
history only, and the rota moving on at Unfilled or at the member's time limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.lending.application import Interlending
from domain.lending.errors import LendingInputInvalidError, LendingTransitionError
from domain.lending.incoming import MEMBER, IncomingRequest
from domain.lending.message import Sent
from domain.lending.outgoing import TIMEOUT, OutgoingRequest, supplier_of
from domain.lending.peer import Peer
from domain.lending.rota import Candidate, rota
from domain.lending.settings import LendingSettings

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ITEM = (uuid4(), "B-1")


def _incoming() -> IncomingRequest:
    return IncomingRequest.receive(MEMBER, "west", "req-1", attempt=0, title="Dune", at=T0)


def _outgoing(candidates: list[str] | None = None) -> OutgoingRequest:
    return OutgoingRequest.request("entry-1", "Dune", uuid4(), pickup_location="Main desk",
                                   candidates=["east:r1", "north:r2"] if candidates is None
                                   else candidates, at=T0)


def _sent(n: int, minutes: int | None = None) -> Sent:
    return Sent(f"m{n}", T0 + timedelta(minutes=n if minutes is None else minutes))


def test_supplier_walks_the_loan_from_request_to_completion() -> None:
    request = _incoming()
    assert request.status == "RequestReceived"
    request.respond("ExpectToSupply", T0)
    request.respond("WillSupply", T0, item=ITEM)
    request.ship(T0 + timedelta(days=28), T0)
    assert (request.status, request.due_at) == ("Loaned", T0 + timedelta(days=28))
    assert request.apply_action("Received", _sent(1), T0)
    assert request.apply_action("ShippedReturn", _sent(2), T0)
    request.complete(T0)
    assert request.status == "LoanCompleted"


def test_the_same_incoming_request_has_the_same_id() -> None:
    assert _incoming().id == _incoming().id
    other = IncomingRequest.receive(MEMBER, "west", "req-1", attempt=1, title="Dune", at=T0)
    assert other.id != _incoming().id


@pytest.mark.parametrize(("steps", "move", "named"), [
    ([], lambda r: r.ship(T0, T0), "nothing was pulled"),
    ([], lambda r: r.complete(T0), "cannot become LoanCompleted"),
    ([], lambda r: r.recall(T0), "cannot become Recalled"),
    (["unfilled"], lambda r: r.respond("WillSupply", T0, item=ITEM), "transaction is over"),
    (["will", "ship"], lambda r: r.cancel(T0), "only a request not shipped yet"),
    (["will", "ship"], lambda r: r.answer_renewal(True, T0, T0), "no renewal was asked"),
])
def test_supplier_refuses_illegal_moves_naming_the_state(steps, move, named) -> None:  # type: ignore[no-untyped-def]
    request = _incoming()
    for step in steps:
        if step == "unfilled":
            request.respond("Unfilled", T0, reason="not on shelf")
        elif step == "will":
            request.respond("WillSupply", T0, item=ITEM)
        elif step == "ship":
            request.ship(T0 + timedelta(days=28), T0)
    with pytest.raises(LendingTransitionError, match=named):
        move(request)


def test_supplier_refuses_received_before_loaned_and_renewal_after_return() -> None:
    request = _incoming()
    with pytest.raises(LendingTransitionError, match="Received needs the copy to be Loaned"):
        request.apply_action("Received", _sent(1), T0)
    request.respond("WillSupply", T0, item=ITEM)
    request.ship(T0 + timedelta(days=28), T0)
    request.apply_action("ShippedReturn", _sent(2), T0)
    with pytest.raises(LendingTransitionError, match="and returned: it cannot be renewed"):
        request.apply_action("Renew", _sent(3), T0)


def test_supplier_applies_a_message_once() -> None:
    request = _incoming()
    request.respond("WillSupply", T0, item=ITEM)
    request.ship(T0 + timedelta(days=28), T0)
    assert request.apply_action("Renew", _sent(1), T0)
    version = request.version
    assert not request.apply_action("Renew", _sent(1), T0)
    assert request.version == version
    request.answer_renewal(True, T0 + timedelta(days=42), T0)
    assert (request.status, request.due_at, request.renewal_pending) == (
        "Loaned", T0 + timedelta(days=42), False)


def test_supplier_cancels_when_asked_before_shipping() -> None:
    request = _incoming()
    request.respond("WillSupply", T0, item=ITEM)
    request.apply_action("Cancel", _sent(1), T0)
    assert request.status == "Cancelled"


def test_answers_and_actions_are_iso_names() -> None:
    with pytest.raises(LendingInputInvalidError, match="answer: 'Loaned' is not one of"):
        _incoming().respond("Loaned", T0)
    with pytest.raises(ValueError, match="action: 'Borrow' is not an ISO 18626 action"):
        _incoming().apply_action("Borrow", _sent(1), T0)
    with pytest.raises(ValueError, match="status: 'Shipped' is not an ISO 18626 status"):
        _outgoing().apply_status("east", 0, "Shipped", _sent(1), at=T0)


def test_requester_follows_the_supplier_and_acts() -> None:
    request = _outgoing()
    assert (request.status, request.supplier) == ("RequestReceived", "east")
    assert request.apply_status("east", 0, "WillSupply", _sent(1), at=T0)
    assert request.apply_status("east", 0, "Loaned", _sent(2), at=T0,
                                due_at=T0 + timedelta(days=28))
    request.act("Received", T0)
    request.lend_on(uuid4(), "ILL-1", T0)
    request.act("ShippedReturn", T0)
    assert request.apply_status("east", 0, "LoanCompleted", _sent(3), at=T0)
    assert request.status == "LoanCompleted"


def test_requester_applies_a_loaned_that_overtook_its_will_supply() -> None:
    request = _outgoing()
    assert request.apply_status("east", 0, "Loaned", _sent(2), at=T0)
    assert request.status == "Loaned"
    assert request.apply_status("east", 0, "WillSupply", _sent(1), at=T0)  # late: history
    assert request.status == "Loaned"
    assert [e.late for e in request.collect_events()
            if isinstance(e, OutgoingRequest.StatusApplied)] == [False, True]


def test_requester_applies_a_message_once_and_ignores_earlier_turns() -> None:
    request = _outgoing()
    assert request.apply_status("east", 0, "ExpectToSupply", _sent(1), at=T0)
    assert not request.apply_status("east", 0, "ExpectToSupply", _sent(1), at=T0)
    assert not request.apply_status("north", 1, "WillSupply", _sent(2), at=T0)
    assert request.status == "ExpectToSupply"


def test_requester_refuses_illegal_actions_and_statuses() -> None:
    request = _outgoing()
    with pytest.raises(LendingTransitionError, match="Received needs the supplier's Loaned"):
        request.act("Received", T0)
    with pytest.raises(LendingTransitionError, match="a copy not received cannot be returned"):
        request.act("ShippedReturn", T0)
    with pytest.raises(LendingTransitionError, match="cannot be renewed"):
        request.act("Renew", T0)
    request.apply_status("east", 0, "Loaned", _sent(1), at=T0)
    with pytest.raises(LendingTransitionError, match="a shipped copy cannot be cancelled"):
        request.act("Cancel", T0)
    request.act("Received", T0)
    request.act("ShippedReturn", T0)
    with pytest.raises(LendingTransitionError, match="the copy was returned: it cannot be"):
        request.act("Renew", T0)
    request.apply_status("east", 0, "LoanCompleted", _sent(2), at=T0)
    with pytest.raises(LendingTransitionError, match="transaction is over"):
        request.act("StatusRequest", T0)


def test_requester_refuses_a_status_that_cannot_follow() -> None:
    request = _outgoing(["east:r1"])
    request.apply_status("east", 0, "Unfilled", _sent(1), at=T0)
    with pytest.raises(LendingTransitionError, match="is Unfilled: it cannot become Loaned"):
        request.apply_status("east", 0, "Loaned", _sent(2), at=T0)


def test_rota_falls_through_on_unfilled_then_is_exhausted() -> None:
    request = _outgoing()
    request.apply_status("east", 0, "Unfilled", _sent(1), at=T0)
    assert (request.status, request.supplier, request.attempt) == ("RequestReceived",
                                                                   "north", 1)
    request.apply_status("north", 1, "Unfilled", _sent(2), at=T0)
    assert (request.status, request.supplier, request.exhausted) == ("Unfilled", None, True)


def test_rota_moves_on_when_the_member_does_not_answer_in_time() -> None:
    request = _outgoing()
    limit = timedelta(days=2)
    assert not request.time_out(limit, T0 + timedelta(days=1))
    assert request.time_out(limit, T0 + timedelta(days=2))
    moved = [e for e in request.collect_events() if isinstance(e, OutgoingRequest.MovedOn)]
    assert [(m.previous, m.supplier, m.why) for m in moved] == [("east:r1", "north:r2",
                                                                 TIMEOUT)]
    request.apply_status("north", 1, "ExpectToSupply", _sent(1, minutes=60 * 50), at=T0)
    assert not request.time_out(limit, T0 + timedelta(days=9))  # answered: no timeout


def test_an_empty_rota_is_unfilled_at_once() -> None:
    assert _outgoing([]).status == "Unfilled"


def test_rota_ranks_by_load_then_by_what_the_requester_borrowed() -> None:
    candidates = [Candidate("west", "r0", 0, 0), Candidate("east", "r1", 5, 0),
                  Candidate("north", "r2", 1, 3), Candidate("south", "r3", 1, 1),
                  Candidate("south", "r4", 0, 0)]
    assert rota("west", candidates) == ["south:r3", "north:r2", "east:r1"]


def test_settings_default_and_change() -> None:
    settings = LendingSettings.defaults()
    assert (settings.auto_answer, settings.answer_timeout, settings.lends("dvd")) == (
        False, timedelta(days=2), True)
    settings.change(["Book"], 21, auto_answer=True, answer_timeout_hours=24, at=T0)
    assert (settings.lends("book"), settings.lends("dvd")) == (True, False)
    with pytest.raises(LendingInputInvalidError, match="loan_days: 1-365"):
        settings.change(["book"], 0, auto_answer=True, answer_timeout_hours=24, at=T0)


def test_application_records_requests_once_and_reads_them_back() -> None:
    app = Interlending(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: T0)
    first = app.receive_request(_incoming())
    again = app.receive_request(_incoming())
    assert first.id == again.id
    assert len(app.recorder.select_events(first.id)) == 1
    sent = app.request_loan(_outgoing())
    app.apply_status(sent.id, "east", 0, "WillSupply", _sent(1),
                     reason_for_message="RequestResponse", due_at=None, answer_yes=None,
                     reason="", note="")
    assert app.outgoing(sent.id).status == "WillSupply"


def test_a_refused_renewal_keeps_the_due_date_at_both_ends() -> None:
    supplier = _incoming()
    supplier.respond("WillSupply", T0, item=ITEM)
    due = T0 + timedelta(days=28)
    supplier.ship(due, T0)
    supplier.apply_action("Renew", _sent(1), T0)
    supplier.answer_renewal(False, None, T0, note="a hold is waiting")
    assert (supplier.status, supplier.due_at, supplier.renewal_pending) == ("Loaned", due,
                                                                           False)
    requester = _outgoing()
    requester.apply_status("east", 0, "Loaned", _sent(2), at=T0, due_at=due)
    assert requester.apply_status("east", 0, "Loaned", _sent(3), at=T0,
                                  reason_for_message="RenewResponse", answer_yes=False,
                                  due_at=due)
    assert (requester.status, requester.due_at) == ("Loaned", due)


def test_an_outside_library_in_the_rota_is_its_own_supplier() -> None:
    assert supplier_of("~ISIL:DE-1") == "~ISIL:DE-1"
    assert supplier_of("east:r1") == "east"
    request = _outgoing(["~ISIL:DE-1"])
    assert request.supplier == "~ISIL:DE-1"
    assert request.apply_status("~ISIL:DE-1", 0, "WillSupply", _sent(1), at=T0)


def test_peers_are_registered_with_a_checked_endpoint() -> None:
    peer = Peer.register("isil", "DE-1", "https://peer.example/iso18626", strict=False, at=T0)
    assert (peer.key, peer.id) == ("ISIL:DE-1", Peer.create_id("ISIL", "DE-1"))
    assert not peer.change("https://peer.example/iso18626", strict=False, at=T0)
    assert peer.change("https://peer.example/iso18626", strict=True, at=T0)
    with pytest.raises(LendingInputInvalidError, match="endpoint"):
        Peer.register("ISIL", "DE-1", "ftp://peer.example", strict=False, at=T0)


@pytest.mark.parametrize("endpoint", ["http://peer.example/\x00iso", "http://peer.example/\ud800",
                                      "https://peer.example/a\tb", "http://peer\x07.example/"])
def test_an_endpoint_with_control_characters_or_broken_unicode_is_refused(endpoint: str) -> None:
    # A NUL kept in the Registered event would fail every message queued for the peer later
    # (the outbox's text column refuses it), holding the tenant's lending process back.
    with pytest.raises(LendingInputInvalidError, match="endpoint"):
        Peer.register("ISIL", "DE-1", endpoint, strict=False, at=T0)
    peer = Peer.register("ISIL", "DE-1", "https://peer.example/iso18626", strict=False, at=T0)
    with pytest.raises(LendingInputInvalidError, match="endpoint"):
        peer.change(endpoint, strict=False, at=T0)
