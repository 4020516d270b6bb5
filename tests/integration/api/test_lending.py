"""Interlibrary lending between members through GraphQL, on real PostgreSQL and NATS: the
round trip (request → rota → will supply → shipped → received and lent to the patron →
returned → completed), the rota falling through on Unfilled and on time, automatic answers,
illegal moves, retries under one key, and a third member that sees nothing."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

from api.dependencies import Services
from domain.lending.incoming import IncomingRequest
from domain.lending.message import Sent
from domain.lending.outgoing import OutgoingRequest
from infra.ill_outbox import IllOutbox
from projections.framework import Source
from tenants.lending import mark_overdue, sweep_unanswered
from tenants.processes.lending import LendingMessages
from tenants.processes.runner import Commands
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, code, data, gql
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

REGISTER = """mutation($input: RegisterPatronInput!) { registerPatron(input: $input) {
  patron { id } } }"""
FIELDS = """id side state title requestingAgencyRequestId partner { slug }
  peer { agencyIdValue } history { state at by message }"""
REQUEST_LOAN = f"""mutation($input: RequestLoanInput!) {{ requestLoan(input: $input) {{
  request {{ {FIELDS} }} }} }}"""
RESPOND = f"""mutation($input: RespondToLendingRequestInput!) {{
  respondToLendingRequest(input: $input) {{ request {{ {FIELDS} }} }} }}"""
LIST = f"""query($side: LendingSide, $state: String, $first: Int, $after: String) {{
  lendingRequests(side: $side, state: $state, first: $first, after: $after) {{
    edges {{ cursor node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
SETTINGS = """mutation($input: LendingSettingsInput!) { setLendingSettings(input: $input) {
  settings { materialTypes autoAnswer answerTimeoutHours loanDays } } }"""
CANDIDATES = """query { acquisitionCandidates(first: 100) { edges { node { entryId
  interlibraryRequests interlibraryUnfilled } } } }"""
ITEM = "query($b: String!) { item(barcode: $b) { barcode status loan { dueAt } } }"
PATRON_LOANS = "query($b: String!) { patron(barcode: $b) { loans { itemBarcode } } }"


def action(name: str, input_type: str) -> str:
    """A mutation on one request that answers the request."""
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ "
            f"request {{ {FIELDS} }} }} }}")


SHIP = action("shipLendingRequest", "ShipLendingRequestInput")
RECEIVE = action("receiveLendingRequest", "ReceiveLendingRequestInput")
RETURN = action("returnLendingRequest", "LendingRequestInput")
COMPLETE = action("completeLendingRequest", "LendingRequestInput")
RENEW = action("renewLendingRequest", "RenewLendingRequestInput")
CANCEL = action("cancelLendingRequest", "LendingRequestInput")
LEND_ON = action("lendOnLendingRequest", "LendingRequestInput")


def _member(http: TestClient, admin_headers: dict[str, str], scopes: list[str]) -> dict[str, str]:
    slug = f"ill-{secrets.token_hex(4)}"
    created = http.post("/admin/tenants", json={"slug": slug, "name": f"Library {slug}"},
                        headers=admin_headers)
    assert created.status_code == 201, created.text
    client = http.post(f"/admin/tenants/{slug}/clients", json={"name": "ill desk",
                                                               "scopes": scopes},
                       headers=admin_headers).json()
    return {"slug": slug, "token": token_for(http, client["client_id"],
                                             client["client_secret"])}


def _wait(probe: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    """Polls until the probe answers something truthy (the pipeline is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _isbn13() -> str:
    """A random ISBN-13 with its check digit (a title of this test's own)."""
    digits = "978" + "".join(secrets.choice("0123456789") for _ in range(9))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


@pytest.fixture
def consortium(http: TestClient, admin_headers: dict[str, str],
               services: Services) -> dict[str, Any]:
    """Four members: `a` (the requester, with patron P-1), `b` and `c` each holding a copy
    of one title (the union catalog sees both), `d` a bystander."""
    scopes = ["library:read", "library:write", "ill"]
    members = {name: _member(http, admin_headers, scopes) for name in "abcd"}
    isbn = _isbn13()
    records = {}
    for name in "bc":
        token = members[name]["token"]
        record = data(gql(http, token, CREATE, input={
            "title": f"Interlending {isbn}", "isbns": [isbn], "authors": ["Doe, Jane"],
            "year": "2020"}))["createRecord"]["record"]["id"]
        records[name] = record
        data(gql(http, token, ADD_ITEM, input={"recordId": record, "barcode": f"{name}-1",
                                               "location": {"branch": "MAIN"}}))
    data(gql(http, members["a"]["token"], REGISTER, input={
        "barcode": "P-1", "name": "Pat Ron", "patronGroup": "undergraduate",
        "expiresOn": "2030-06-30"}))
    reads = services.reads

    def entry() -> str | None:
        found = reads.union_entry_of_record(members["b"]["slug"], records["b"])
        if found is None or reads.union_entry_of_record(members["c"]["slug"],
                                                         records["c"]) != found:
            return None
        holding = {h["tenant"]: h["available"] for h in reads.union_holdings(found)}
        ready = all(holding.get(members[n]["slug"], 0) > 0 for n in "bc")
        return found if ready else None

    return {**members, "entry": _wait(entry, "the union catalog's entry with both copies"),
            "records": records}


def _request_loan(http: TestClient, consortium: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answer = data(gql(http, consortium["a"]["token"], REQUEST_LOAN, input={
        "unionCatalogEntryId": consortium["entry"], "patronBarcode": "P-1",
        "pickupLocation": "Main desk", **extra}))
    request: dict[str, Any] = answer["requestLoan"]["request"]
    return request


def _requests(http: TestClient, token: str, side: str | None = None) -> list[dict[str, Any]]:
    edges = data(gql(http, token, LIST, side=side, first=50))["lendingRequests"]["edges"]
    return [e["node"] for e in edges]


def _seen(http: TestClient, member: dict[str, str], side: str, key: str, value: str,
          state: str) -> dict[str, Any]:
    """Waits until the member's staff see the request (`key` == `value`) in this state."""
    def seen() -> dict[str, Any] | None:
        return next((node for node in _requests(http, member["token"], side)
                     if node[key] == value and node["state"] == state), None)

    found: dict[str, Any] = _wait(seen, f"the {side.lower()}'s request in {state}")
    return found


def _supplier_request(http: TestClient, member: dict[str, str], requester_request: str,
                      state: str = "RequestReceived") -> dict[str, Any]:
    """The supplier's request for the requester's, once in this state."""
    return _seen(http, member, "SUPPLIER", "requestingAgencyRequestId", requester_request,
                 state)


def _requester_state(http: TestClient, member: dict[str, str], request_id: str,
                     state: str) -> dict[str, Any]:
    """The requester's request, once in this state."""
    return _seen(http, member, "REQUESTER", "id", request_id, state)


def _status(http: TestClient, token: str, barcode: str) -> str:
    found: str = data(gql(http, token, ITEM, b=barcode))["item"]["status"]
    return found


def test_a_loan_travels_from_requester_to_supplier_and_back(
    http: TestClient, consortium: dict[str, Any]
) -> None:
    a, d = consortium["a"], consortium["d"]
    request = _request_loan(http, consortium, note="for a thesis")
    assert request["side"] == "REQUESTER"
    assert request["state"] == "RequestReceived"
    supplier_slug = request["partner"]["slug"]
    name = "b" if supplier_slug == consortium["b"]["slug"] else "c"
    supplier = consortium[name]
    assert supplier_slug == min(consortium["b"]["slug"], consortium["c"]["slug"])  # tie: slug

    incoming = _supplier_request(http, supplier, request["id"])
    assert incoming["partner"] == {"slug": a["slug"]}
    assert incoming["title"].startswith("Interlending")

    will = data(gql(http, supplier["token"], RESPOND, input={
        "id": incoming["id"], "answer": "WILL_SUPPLY", "idempotencyKey": "will-1"}))
    assert will["respondToLendingRequest"]["request"]["state"] == "WillSupply"
    assert _status(http, supplier["token"], f"{name}-1") == "IN_TRANSIT"
    _requester_state(http, a, request["id"], "WillSupply")

    shipped = data(gql(http, supplier["token"], SHIP, input={"id": incoming["id"],
                                                            "idempotencyKey": "ship-1"}))
    again = data(gql(http, supplier["token"], SHIP, input={"id": incoming["id"],
                                                          "idempotencyKey": "ship-1"}))
    assert again == shipped  # a retry under one key: the first answer, nothing recorded
    assert shipped["shipLendingRequest"]["request"]["state"] == "Loaned"
    assert _status(http, supplier["token"], f"{name}-1") == "CHECKED_OUT"

    _requester_state(http, a, request["id"], "Loaned")
    received = data(gql(http, a["token"], RECEIVE, input={"id": request["id"],
                                                          "lendToPatron": False}))
    assert received["receiveLendingRequest"]["request"]["state"] == "Loaned"
    assert data(gql(http, a["token"], PATRON_LOANS, b="P-1"))["patron"]["loans"] == []
    data(gql(http, a["token"], LEND_ON, input={"id": request["id"]}))
    assert code(gql(http, a["token"], LEND_ON, input={"id": request["id"]})) == (
        "ILLEGAL_TRANSITION")  # lent on already
    loans = data(gql(http, a["token"], PATRON_LOANS, b="P-1"))["patron"]["loans"]
    assert [loan["itemBarcode"][:4] for loan in loans] == ["ILL-"]
    assert code(gql(http, a["token"], RECEIVE, input={"id": request["id"]})) == (
        "ILLEGAL_TRANSITION")

    data(gql(http, a["token"], RETURN, input={"id": request["id"]}))
    assert data(gql(http, a["token"], PATRON_LOANS, b="P-1"))["patron"]["loans"] == []
    assert code(gql(http, a["token"], RENEW, input={"id": request["id"]})) == (
        "ILLEGAL_TRANSITION")  # a renewal after the return
    _wait(lambda: any("ShippedReturn" in h["message"] for h in _supplier_request(
        http, supplier, request["id"], "Loaned")["history"]), "the return at the supplier")

    completed = data(gql(http, supplier["token"], COMPLETE, input={"id": incoming["id"]}))
    assert completed["completeLendingRequest"]["request"]["state"] == "LoanCompleted"
    assert _status(http, supplier["token"], f"{name}-1") == "AVAILABLE"
    done = _requester_state(http, a, request["id"], "LoanCompleted")
    assert [h["state"] for h in done["history"]][-1] == "LoanCompleted"
    assert any(h["by"] for h in done["history"])  # staff steps name their client

    # A third member sees nothing of it, and cannot act on either end.
    assert _requests(http, d["token"]) == []
    for mutation, given in ((RESPOND, {"id": incoming["id"], "answer": "UNFILLED"}),
                            (RECEIVE, {"id": request["id"]}), (CANCEL, {"id": request["id"]})):
        assert code(gql(http, d["token"], mutation, input=given)) == "NOT_FOUND"


def test_illegal_moves_are_refused_with_their_code(
    http: TestClient, consortium: dict[str, Any]
) -> None:
    a = consortium["a"]
    request = _request_loan(http, consortium)
    name = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    incoming = _supplier_request(http, consortium[name], request["id"])
    token = consortium[name]["token"]
    assert code(gql(http, a["token"], RECEIVE, input={"id": request["id"]})) == (
        "ILLEGAL_TRANSITION")  # Received before Loaned
    assert code(gql(http, token, SHIP, input={"id": incoming["id"]})) == "ILLEGAL_TRANSITION"
    assert code(gql(http, token, COMPLETE, input={"id": incoming["id"]})) == (
        "ILLEGAL_TRANSITION")
    assert code(gql(http, token, RESPOND, input={"id": "not-an-id", "answer": "UNFILLED"})) == (
        "INVALID_INPUT")
    assert code(gql(http, token, RESPOND, input={"id": incoming["id"], "answer": "WILL_SUPPLY",
                                                 "itemBarcode": "no-such"})) == "INVALID_INPUT"
    # The requester cancels before shipping; the supplier's request ends Cancelled.
    data(gql(http, a["token"], CANCEL, input={"id": request["id"]}))
    _supplier_request(http, consortium[name], request["id"], "Cancelled")
    _requester_state(http, a, request["id"], "Cancelled")


def test_the_rota_falls_through_on_unfilled_and_on_time_then_ends_unfilled(
    http: TestClient, consortium: dict[str, Any], services: Services
) -> None:
    a = consortium["a"]
    request = _request_loan(http, consortium)
    first = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    second = "c" if first == "b" else "b"
    incoming = _supplier_request(http, consortium[first], request["id"])
    data(gql(http, consortium[first]["token"], RESPOND, input={
        "id": incoming["id"], "answer": "UNFILLED", "reason": "on the bindery's shelf"}))

    def moved() -> bool:
        node = _requester_state(http, a, request["id"], "RequestReceived")
        return bool(node["partner"] == {"slug": consortium[second]["slug"]})

    _wait(moved, "the rota's second member")
    _supplier_request(http, consortium[second], request["id"])

    # The second member stays silent: within its two days nothing moves, after them the
    # rota is exhausted and the silent member's request is cancelled.
    now = datetime.now(UTC)
    scope_of = services.consortium.scope
    sweep_unanswered(scope_of, services.reads, now + timedelta(days=1))
    assert services.consortium.scope(a["slug"]).lending.outgoing(
        UUID(request["id"])).status == "RequestReceived"
    assert sweep_unanswered(scope_of, services.reads, now + timedelta(days=3)) >= 1
    done = _requester_state(http, a, request["id"], "Unfilled")
    _supplier_request(http, consortium[second], request["id"], "Cancelled")
    messages = [h["message"] for h in _requester_state(http, a, request["id"],
                                                       "Unfilled")["history"]]
    assert "rota exhausted (timeout)" in messages
    assert done["state"] == "Unfilled"

    def unmet() -> dict[str, Any] | None:  # the shared acquisition view counts it
        edges = data(gql(http, a["token"], CANDIDATES))["acquisitionCandidates"]["edges"]
        return next((e["node"] for e in edges if e["node"]["entryId"] == consortium["entry"]
                     and e["node"]["interlibraryUnfilled"] == 1), None)

    assert _wait(unmet, "the unmet demand in the acquisition view")["interlibraryRequests"] == 1


def _requests_state(http: TestClient, member: dict[str, str], request_id: str) -> str | None:
    for node in _requests(http, member["token"], "REQUESTER"):
        if node["id"] == request_id:
            found: str = node["state"]
            return found
    return None


def test_automatic_answers_and_settings_choose_the_supplier(
    http: TestClient, consortium: dict[str, Any]
) -> None:
    a, b, c = consortium["a"], consortium["b"], consortium["c"]
    # b lends no books to the consortium; c answers by itself.
    data(gql(http, b["token"], SETTINGS, input={"materialTypes": ["dvd"]}))
    set_c = data(gql(http, c["token"], SETTINGS, input={"autoAnswer": True,
                                                       "answerTimeoutHours": 24}))
    assert set_c["setLendingSettings"]["settings"] == {
        "materialTypes": ["*"], "autoAnswer": True, "answerTimeoutHours": 24, "loanDays": 28}
    request = _request_loan(http, consortium)
    assert request["partner"] == {"slug": c["slug"]}
    _supplier_request(http, c, request["id"], "WillSupply")
    _requester_state(http, a, request["id"], "WillSupply")
    assert _status(http, c["token"], "c-1") == "IN_TRANSIT"


def test_request_loan_input_is_checked(http: TestClient, consortium: dict[str, Any]) -> None:
    token = consortium["a"]["token"]
    base = {"unionCatalogEntryId": consortium["entry"], "patronBarcode": "P-1",
            "pickupLocation": "Main desk"}
    assert code(gql(http, token, REQUEST_LOAN, input={
        **base, "unionCatalogEntryId": "nope"})) == "NOT_FOUND"
    assert code(gql(http, token, REQUEST_LOAN, input={**base, "patronBarcode": "P-9"})) == (
        "NOT_FOUND")
    assert code(gql(http, token, REQUEST_LOAN, input={**base, "pickupLocation": " "})) == (
        "INVALID_INPUT")
    assert code(gql(http, token, REQUEST_LOAN, input={**base, "neededBy": "2000-01-01T00:00:00Z"})
                ) == "INVALID_INPUT"
    naive = gql(http, token, REQUEST_LOAN, input={**base, "neededBy": "2099-01-01T00:00:00"})
    assert code(naive) == "INVALID_INPUT", naive  # no offset: it gave INTERNAL
    assert "neededBy" in naive["errors"][0]["message"]
    assert code(gql(http, token, LIST, first=0)) == "INVALID_INPUT"
    assert code(gql(http, token, LIST, first=5, after="x")) == "INVALID_INPUT"
    assert _requests(http, token) == []  # nothing recorded by a refused request


PATRON_DUE = "query($b: String!) { patron(barcode: $b) { loans { itemBarcode dueAt } } }"
RECALL = action("recallLendingRequest", "LendingRequestInput")


def _loaned(http: TestClient, consortium: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """A request supplied, shipped and received: (the requester's request, the supplier's
    name, the supplier's request id)."""
    a = consortium["a"]
    request = _request_loan(http, consortium)
    name = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    token = consortium[name]["token"]
    incoming = _supplier_request(http, consortium[name], request["id"])
    data(gql(http, token, RESPOND, input={"id": incoming["id"], "answer": "WILL_SUPPLY"}))
    data(gql(http, token, SHIP, input={"id": incoming["id"]}))
    _requester_state(http, a, request["id"], "Loaned")
    data(gql(http, a["token"], RECEIVE, input={"id": request["id"]}))
    return request, name, incoming["id"]


def test_renewal_asked_and_approved_then_a_recall(
    http: TestClient, consortium: dict[str, Any]
) -> None:
    a = consortium["a"]
    request, name, incoming = _loaned(http, consortium)
    supplier = consortium[name]
    data(gql(http, a["token"], RENEW, input={"id": request["id"], "note": "thesis due"}))
    _wait(lambda: any(h["message"] == "requester: Renew" for h in _supplier_request(
        http, supplier, request["id"], "Loaned")["history"]), "the renewal at the supplier")
    due = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0)
    naive = gql(http, supplier["token"], RENEW, input={  # no offset: it gave INTERNAL
        "id": incoming, "dueAt": due.replace(tzinfo=None).isoformat()})
    assert code(naive) == "INVALID_INPUT", naive
    assert naive["errors"][0]["message"].startswith("dueAt:")
    renewed = data(gql(http, supplier["token"], RENEW, input={
        "id": incoming, "dueAt": due.isoformat()}))
    assert renewed["renewLendingRequest"]["request"]["state"] == "Loaned"

    def patron_due() -> bool:
        loans = data(gql(http, a["token"], PATRON_DUE, b="P-1"))["patron"]["loans"]
        return any(datetime.fromisoformat(loan["dueAt"]) == due for loan in loans)

    _wait(patron_due, "the patron's new due date")
    assert code(gql(http, supplier["token"], RENEW, input={"id": incoming})) == (
        "ILLEGAL_TRANSITION")  # no renewal asked any more
    data(gql(http, supplier["token"], RECALL, input={"id": incoming}))
    _requester_state(http, a, request["id"], "Recalled")
    assert code(gql(http, a["token"], RENEW, input={"id": request["id"]})) == (
        "ILLEGAL_TRANSITION")


def test_messages_delivered_twice_or_late_change_nothing(
    http: TestClient, consortium: dict[str, Any], services: Services
) -> None:
    a = consortium["a"]
    request, name, incoming = _loaned(http, consortium)
    supplier_scope = services.consortium.scope(consortium[name]["slug"])
    events = [e for e in supplier_scope.lending.events.get(UUID(incoming))
              if isinstance(e, IncomingRequest.StatusChanged)]
    will_supply = next(e for e in events if e.status == "WillSupply")
    desk = services.lending_desk(a["slug"])
    outgoing = desk.lending.outgoing(UUID(request["id"]))
    version = outgoing.version
    for message_id in sorted(outgoing.messages):  # every message again, as delivered
        desk.deliver_status(outgoing.id, consortium[name]["slug"], attempt=0,
                            event=will_supply, sent=Sent(message_id, will_supply.timestamp))
    assert desk.lending.outgoing(outgoing.id).version == version
    # The WillSupply again under a new id, sent before the Loaned: history only.
    late = desk.deliver_status(outgoing.id, consortium[name]["slug"], attempt=0,
                               event=will_supply, sent=Sent("replayed", will_supply.timestamp))
    assert late.status == "Loaned"
    node = _wait(lambda: next((h for h in _requester_state(
        http, a, request["id"], "Loaned")["history"] if "late" in h["message"]), None),
        "the late message in the history")
    assert node["state"] == "WillSupply"


OVERDUE_LOANS = "query { overdueLoans { itemBarcode dueAt } }"
FIGURES = """query { consortiumFigures { members { member { slug }
  interlibrary { requests filled unfilled turnaroundHours } } } }"""


def test_an_overdue_copy_shows_at_both_ends_and_in_the_figures(
    http: TestClient, consortium: dict[str, Any], services: Services,
    admin_headers: dict[str, str]
) -> None:
    a = consortium["a"]
    request = _request_loan(http, consortium)
    name = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    supplier = consortium[name]
    incoming = _supplier_request(http, supplier, request["id"])
    data(gql(http, supplier["token"], RESPOND, input={"id": incoming["id"],
                                                      "answer": "WILL_SUPPLY"}))
    due = datetime.now(UTC) + timedelta(seconds=1)
    data(gql(http, supplier["token"], SHIP, input={"id": incoming["id"],
                                                  "dueAt": due.isoformat()}))
    _requester_state(http, a, request["id"], "Loaned")
    data(gql(http, a["token"], RECEIVE, input={"id": request["id"]}))
    time.sleep(1.2)
    assert [loan["itemBarcode"] for loan in data(gql(
        http, supplier["token"], OVERDUE_LOANS))["overdueLoans"]] == [f"{name}-1"]
    assert [loan["itemBarcode"][:4] for loan in data(gql(
        http, a["token"], OVERDUE_LOANS))["overdueLoans"]] == ["ILL-"]

    def marked() -> bool:
        mark_overdue(services.consortium.scope, services.reads, datetime.now(UTC))
        return _requests_state(http, a, request["id"]) == "Overdue"

    _wait(marked, "the overdue copy at the requester")
    _supplier_request(http, supplier, request["id"], "Overdue")

    figures = http.get("/admin/lending/figures", headers=admin_headers)
    assert figures.status_code == 200, figures.text
    mine = next(row for row in figures.json() if row["member"] == a["slug"])
    assert (mine["requests"], mine["filled"], mine["unfilled"]) == (1, 1, 0)
    assert mine["turnaround_hours"] is not None
    assert http.get("/admin/lending/figures", headers={
        "Authorization": f"Bearer {a['token']}"}).status_code == 403
    (own,) = data(gql(http, a["token"], FIGURES))["consortiumFigures"]["members"]
    assert own["member"]["slug"] == a["slug"]
    assert own["interlibrary"]["requests"] == own["interlibrary"]["filled"] == 1
    assert own["interlibrary"]["unfilled"] == 0
    assert own["interlibrary"]["turnaroundHours"] is not None


def test_a_reaction_run_again_after_a_crash_delivers_nothing_twice(
    http: TestClient, consortium: dict[str, Any], services: Services
) -> None:
    """A process manager killed after its command but before its position was tracked
    reacts to the same event again when it restarts: the supplier's request stays one."""
    a = consortium["a"]
    request = _request_loan(http, consortium)
    name = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    incoming = _supplier_request(http, consortium[name], request["id"])
    requester = services.consortium.scope(a["slug"])
    (requested,) = [n for n in requester.lending.recorder.select_notifications(
        start=1, limit=1000, topics=[get_topic(OutgoingRequest.Requested)])
        if n.originator_id == UUID(request["id"])]
    supplier = services.consortium.scope(consortium[name]["slug"]).lending
    before = len(supplier.recorder.select_events(UUID(incoming["id"])))
    manager = LendingMessages(Commands(services.consortium, services.pipeline),
                              services.lending_desk, IllOutbox(services.database))
    event = requester.lending.mapper.to_domain_event(requested)
    for _ in range(2):
        manager.react(event, Source(a["slug"], requested.id))
    # and delivered again outside the process manager's key: still the same request
    services.lending_desk(consortium[name]["slug"]).deliver_request(
        a["slug"], UUID(request["id"]), 0, request["title"], f"{consortium[name]['slug']}:x",
        entry_id=consortium["entry"], needed_by=None, note="")
    assert len(supplier.recorder.select_events(UUID(incoming["id"]))) == before
    assert len([n for n in _requests(http, consortium[name]["token"], "SUPPLIER")
                if n["requestingAgencyRequestId"] == request["id"]]) == 1


def test_acting_needs_the_ill_scope_viewing_library_read(
    http: TestClient, library: dict[str, str], consortium: dict[str, Any]
) -> None:
    token = library["token"]  # library:read and library:write, not ill
    assert code(gql(http, token, REQUEST_LOAN, input={
        "unionCatalogEntryId": consortium["entry"], "patronBarcode": "P-1",
        "pickupLocation": "Main desk"})) == "FORBIDDEN"
    assert code(gql(http, token, SETTINGS, input={"autoAnswer": True})) == "FORBIDDEN"
    assert _requests(http, token) == []


ONE = f"query($id: ID!) {{ lendingRequest(id: $id) {{ {FIELDS} }} }}"
HOLD = """mutation($record: ID!, $patron: String!) {
  placeHold(input: {recordId: $record, patronBarcode: $patron}) { hold { id position } } }"""


def test_one_request_by_id_for_its_own_library_only(
    http: TestClient, library: dict[str, str], consortium: dict[str, Any]
) -> None:
    a, d = consortium["a"], consortium["d"]
    request = _request_loan(http, consortium)
    name = "b" if request["partner"]["slug"] == consortium["b"]["slug"] else "c"
    supplier = consortium[name]
    incoming = _supplier_request(http, supplier, request["id"])

    mine = data(gql(http, a["token"], ONE, id=request["id"]))["lendingRequest"]
    assert (mine["id"], mine["side"], mine["state"]) == (request["id"], "REQUESTER",
                                                         "RequestReceived")
    assert mine["partner"] == {"slug": supplier["slug"]}
    theirs = data(gql(http, supplier["token"], ONE, id=incoming["id"]))["lendingRequest"]
    assert (theirs["side"], theirs["requestingAgencyRequestId"]) == ("SUPPLIER", request["id"])

    # Each end's id is its own: the other end, a third member and a library outside the
    # transaction are told there is no such request, and learn nothing of it.
    for token, request_id in ((supplier["token"], request["id"]), (a["token"], incoming["id"]),
                              (d["token"], request["id"]), (d["token"], incoming["id"]),
                              (library["token"], request["id"])):
        answer = gql(http, token, ONE, id=request_id)
        assert code(answer) == "NOT_FOUND"
        assert answer.get("data") is None
    assert code(gql(http, a["token"], ONE, id="not-a-uuid")) == "INVALID_INPUT"


def test_the_completing_check_in_shelves_the_copy_for_a_waiting_patron(
    http: TestClient, consortium: dict[str, Any]
) -> None:
    """A patron of the supplier asked for the title while its copy was away: the check-in
    that completes the loan puts the copy on the hold shelf for them, as any check-in."""
    request, name, incoming_id = _loaned(http, consortium)
    supplier = consortium[name]
    data(gql(http, supplier["token"], REGISTER, input={
        "barcode": "S-1", "name": "Wai Ting", "patronGroup": "undergraduate",
        "expiresOn": "2030-06-30"}))
    hold = data(gql(http, supplier["token"], HOLD, record=consortium["records"][name],
                    patron="S-1"))["placeHold"]["hold"]
    assert hold["position"] == 1
    data(gql(http, consortium["a"]["token"], RETURN, input={"id": request["id"]}))
    _wait(lambda: any("ShippedReturn" in h["message"] for h in _supplier_request(
        http, supplier, request["id"], "Loaned")["history"]), "the return at the supplier")

    completed = data(gql(http, supplier["token"], COMPLETE, input={"id": incoming_id}))
    assert completed["completeLendingRequest"]["request"]["state"] == "LoanCompleted"
    assert _status(http, supplier["token"], f"{name}-1") == "ON_HOLD_SHELF"
    _requester_state(http, consortium["a"], request["id"], "LoanCompleted")
