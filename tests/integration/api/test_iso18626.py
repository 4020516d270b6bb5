"""ISO 18626 over HTTP on real PostgreSQL and NATS: the office registers an outside library
with a member; that library's messages, in both schema versions, are answered with the
matching confirmation (HTTP 200, OK or ERROR with the right errorType, never a 5xx); an
accepted request lands with the member's staff in RequestReceived; every sample message is
answered as a peer expects; a strict peer is held to the schema."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient

from api.dependencies import Services
from infra.ill_outbox import IllOutbox
from infra.iso18626 import (
    CONFIRMATIONS,
    NS,
    Header,
    Message,
    SupplierStatus,
    parse,
    supplying_message,
)
from tests.integration.api.test_catalog import CREATE, code, data, gql
from tests.integration.api.test_lending import REGISTER
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
SAMPLES = Path(__file__).parents[2] / "data" / "iso18626"
MESSAGES = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.xml")
                  if "Confirmation" not in p.name)
LIST = """query { lendingRequests(side: SUPPLIER, first: 50) { edges { node {
  id side state title requestingAgencyRequestId peer { agencyIdValue } partner { slug }
  history { state at } } } } }"""
RESPOND = """mutation($input: RespondToLendingRequestInput!) {
  respondToLendingRequest(input: $input) { request { id state } } }"""
Q = f"{{{NS}}}"


@pytest.fixture
def member(http: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    """A member with an ISIL, its ill client's token, and a registered outside peer."""
    slug = f"iso-{secrets.token_hex(4)}"
    isil = f"ZZ-{secrets.token_hex(4).upper()}"
    created = http.post("/admin/tenants", json={"slug": slug, "name": "ISO member",
                                                "isil": isil}, headers=admin_headers)
    assert created.status_code == 201, created.text
    client = http.post(f"/admin/tenants/{slug}/clients",
                       json={"name": "ill", "scopes": ["ill", "library:read"]},
                       headers=admin_headers).json()
    peer = f"PEER{secrets.token_hex(3).upper()}"
    registered = http.post(f"/admin/tenants/{slug}/ill-peers", headers=admin_headers, json={
        "agencyIdType": "RESHARE", "agencyIdValue": peer,
        "endpoint": "http://127.0.0.1:9/iso18626", "strict": False})
    assert registered.status_code == 201, registered.text
    assert registered.json() == {"tenant": slug, "agencyIdType": "RESHARE",
                                 "agencyIdValue": peer, "endpoint": "http://127.0.0.1:9/iso18626",
                                 "strict": False}
    return {"slug": slug, "isil": isil, "peer": peer,
            "token": token_for(http, client["client_id"], client["client_secret"])}


def _post(http: TestClient, body: bytes) -> dict[str, Any]:
    """Posts a message; the confirmation's kind, status, error type and value."""
    response = http.post("/iso18626", content=body, headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    (confirmation,) = list(fromstring(response.content))
    return {"kind": confirmation.tag.removeprefix(Q),
            "status": confirmation.findtext(f"{Q}confirmationHeader/{Q}messageStatus"),
            "error": confirmation.findtext(f"{Q}errorData/{Q}errorType"),
            "value": confirmation.findtext(f"{Q}errorData/{Q}errorValue") or "",
            "request": confirmation.findtext(
                f"{Q}confirmationHeader/{Q}requestingAgencyRequestId")}


def _agency(body: str, which: str, kind: str, value: str) -> str:
    """The message with one agency id replaced (element prefixes as the sample writes)."""
    pattern = re.compile(rf"(<(\w+:)?{which}>).*?(</(\w+:)?{which}>)", re.S)

    def put(found: re.Match[str]) -> str:
        prefix = found.group(2) or ""
        return (f"{found.group(1)}<{prefix}agencyIdType>{kind}</{prefix}agencyIdType>"
                f"<{prefix}agencyIdValue>{value}</{prefix}agencyIdValue>{found.group(3)}")

    return pattern.sub(put, body, count=1)


def _ours(sample: str, member: dict[str, str], request_id: str) -> bytes:
    """A sample addressed between the member (by ISIL) and its peer, with its own id."""
    body = (SAMPLES / sample).read_text()
    member_side, peer_side = ("supplyingAgencyId", "requestingAgencyId")
    if "supplyingAgencyMessage" in body.split("<", 3)[-1] or "supplyingAgencyMessage" in sample:
        member_side, peer_side = peer_side, member_side
    if member_side in body:  # a request may leave the supplier to the endpoint
        body = _agency(body, member_side, "ISIL", member["isil"])
    body = _agency(body, peer_side, "RESHARE", member["peer"])
    body = re.sub(r"(<(\w+:)?requestingAgencyRequestId>)[^<]*(</)", rf"\g<1>{request_id}\g<3>",
                  body)
    return body.encode()


def _staff_sees(http: TestClient, member: dict[str, str], request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for edge in data(gql(http, member["token"], LIST))["lendingRequests"]["edges"]:
            if edge["node"]["requestingAgencyRequestId"] == request_id:
                found: dict[str, Any] = edge["node"]
                return found
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} never reached the staff")


@pytest.mark.parametrize("sample", MESSAGES)
def test_every_sample_from_an_unknown_library_is_answered_error(
    http: TestClient, sample: str
) -> None:
    body = (SAMPLES / sample).read_bytes()
    answer = _post(http, body)
    assert answer["kind"] == CONFIRMATIONS[parse(body).kind]
    assert (answer["status"], answer["error"]) == ("ERROR", "UnrecognisedDataValue")
    assert answer["value"]


def test_an_unregistered_peer_naming_a_member_learns_nothing_of_its_slug(
        http: TestClient, member: dict[str, str]) -> None:
    sample = next(s for s in MESSAGES if s.rpartition("/")[2].lower().startswith("request"))
    body = _ours(sample, member, f"R-{secrets.token_hex(3)}").decode()
    stranger = f"STRANGER{secrets.token_hex(3).upper()}"
    body = body.replace(f">{member['peer']}<", f">{stranger}<")
    answer = _post(http, body.encode())
    assert (answer["status"], answer["error"]) == ("ERROR", "UnrecognisedDataValue")
    assert stranger in answer["value"]
    assert member["isil"] in answer["value"]
    assert member["slug"] not in answer["value"]  # an internal name, not the caller's business


@pytest.mark.parametrize("sample", [s for s in MESSAGES if "request" in s.rpartition("/")[2]
                                    .lower() and "requestingAgencyMessage" not in s])
def test_every_sample_request_from_a_registered_peer_lands_with_staff(
    http: TestClient, member: dict[str, str], sample: str
) -> None:
    request_id = f"r-{secrets.token_hex(4)}"
    body = _ours(sample, member, request_id)
    answer = _post(http, body)
    assert (answer["kind"], answer["status"], answer["request"]) == (
        "requestConfirmation", "OK", request_id)
    assert _post(http, body)["status"] == "OK"  # the same request again: the same request
    node = _staff_sees(http, member, request_id)
    assert (node["state"], node["side"], node["peer"], node["partner"]) == (
        "RequestReceived", "SUPPLIER", {"agencyIdValue": member["peer"]}, None)
    assert len([e for e in data(gql(http, member["token"], LIST))["lendingRequests"]["edges"]
                if e["node"]["requestingAgencyRequestId"] == request_id]) == 1


def test_the_requesters_actions_and_the_suppliers_messages_from_a_peer(
    http: TestClient, member: dict[str, str]
) -> None:
    request_id = f"r-{secrets.token_hex(4)}"
    assert _post(http, _ours("samples-realistic/case1_request.xml", member,
                             request_id))["status"] == "OK"
    action = _ours("samples-schema-exhaustive/requestingAgencyMessage.xml", member, request_id)
    assert _post(http, action) == {"kind": "requestingAgencyMessageConfirmation",
                                   "status": "OK", "error": None, "value": "",
                                   "request": request_id}
    received = action.replace(b"<action>StatusRequest</action>", b"<action>Received</action>")
    refused = _post(http, received)  # Received before Loaned
    assert (refused["status"], refused["error"]) == ("ERROR", "UnsupportedActionType")
    assert "needs the copy to be Loaned" in refused["value"]
    unknown = _post(http, action.replace(b"<action>StatusRequest</action>",
                                         b"<action>Borrow</action>"))
    assert (unknown["status"], unknown["error"]) == ("ERROR", "UnsupportedActionType")
    other = _post(http, _ours("samples-schema-exhaustive/requestingAgencyMessage.xml", member,
                              "no-such-request"))
    assert (other["status"], other["error"]) == ("ERROR", "UnrecognisedDataValue")
    # Supplying agencies' messages: none of ours went to an outside library.
    for sample in ("samples-schema-exhaustive/supplyingAgencyMessage.xml",
                   "samples-realistic/unfilledNotification.xml"):
        answer = _post(http, _ours(sample, member, request_id))
        assert (answer["kind"], answer["status"], answer["error"]) == (
            "supplyingAgencyMessageConfirmation", "ERROR", "UnrecognisedDataValue")
    reason = _post(http, _ours("samples-schema-exhaustive/supplyingAgencyMessage.xml", member,
                               request_id).replace(b">RequestResponse<", b">Gossip<"))
    assert reason["error"] == "UnsupportedReasonForMessageType"


def test_malformed_messages_and_a_strict_peer(
    http: TestClient, member: dict[str, str], admin_headers: dict[str, str]
) -> None:
    for body in (b"", b"<request>", b"\xff\xfe garbage", b"<ISO18626Message><borrow/>"
                 b"</ISO18626Message>",
                 b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 b"<request><header>&x;</header></request>"):
        answer = _post(http, body)
        assert answer["status"] == "ERROR"
        assert answer["error"] in ("BadlyFormedMessage", "UnrecognisedDataElement")
    request_id = f"r-{secrets.token_hex(4)}"
    body = _ours("samples-realistic/case1_request.xml", member, request_id)
    bad_time = body.replace(b"2014-03-17T09:30:47.0Z", b"yesterday")
    assert _post(http, bad_time)["error"] == "UnrecognisedDataValue"
    bad_service = body.replace(b">Loan<", b">Teleport<")
    assert _post(http, bad_service)["error"] == "UnrecognisedDataValue"

    strict = http.post(f"/admin/tenants/{member['slug']}/ill-peers", headers=admin_headers,
                       json={"agencyIdType": "RESHARE", "agencyIdValue": member["peer"],
                             "endpoint": "https://peer.example/iso18626", "strict": True})
    assert strict.status_code == 201
    assert strict.json()["strict"] is True
    extra = body.replace(b"</serviceInfo>", b"<colour>red</colour></serviceInfo>")
    answer = _post(http, extra)
    assert (answer["status"], answer["error"]) == ("ERROR", "UnrecognisedDataElement")
    assert "serviceInfo/colour" in answer["value"]
    lax = _post(http, body)  # the v1_2 schema wants a multipleItemRequestId
    assert (lax["status"], lax["error"]) == ("ERROR", "UnrecognisedDataElement")
    assert "multipleItemRequestId" in lax["value"]
    valid = body.replace(b"<timestamp>", b"<multipleItemRequestId/><timestamp>", 1)
    assert _post(http, valid)["status"] == "OK"


def test_registering_peers_is_the_offices_and_checked(
    http: TestClient, member: dict[str, str], admin_headers: dict[str, str]
) -> None:
    good = {"agencyIdType": "ISIL", "agencyIdValue": "DE-1", "endpoint": "https://x.example/",
            "strict": False}
    member_headers = {"Authorization": f"Bearer {member['token']}"}
    assert http.post(f"/admin/tenants/{member['slug']}/ill-peers", json=good,
                     headers=member_headers).status_code == 403
    assert http.post("/admin/tenants/no-such-lib/ill-peers", json=good,
                     headers=admin_headers).status_code == 404
    for field, value in (("endpoint", "ftp://x"), ("agencyIdValue", " "),
                         ("agencyIdType", "x" * 51)):
        refused = http.post(f"/admin/tenants/{member['slug']}/ill-peers",
                            json={**good, field: value}, headers=admin_headers)
        assert refused.status_code == 422, refused.text
        assert field in refused.json()["detail"]
    assert http.post(f"/admin/tenants/{member['slug']}/ill-peers", json={**good, "x": 1},
                     headers=admin_headers).status_code == 422


def test_staff_answer_a_peers_request(http: TestClient, member: dict[str, str]) -> None:
    request_id = f"r-{secrets.token_hex(4)}"
    assert _post(http, _ours("samples-realistic/patronRequest.xml", member,
                             request_id))["status"] == "OK"
    node = _staff_sees(http, member, request_id)
    assert node["title"] == "Lord of the Rings"
    answered = data(gql(http, member["token"], RESPOND, input={
        "id": node["id"], "answer": "UNFILLED", "reason": "not held"}))
    assert answered["respondToLendingRequest"]["request"]["state"] == "Unfilled"
    assert code(gql(http, member["token"], RESPOND, input={
        "id": node["id"], "answer": "WILL_SUPPLY"})) == "ILLEGAL_TRANSITION"


class _Peer(BaseHTTPRequestHandler):
    """An outside library's ISO 18626 endpoint: down (503) until told otherwise."""

    down = True
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if type(self).down:
            self.send_response(503)
            self.end_headers()
            return
        type(self).received.append(body)
        answer = (f'<ISO18626Message xmlns="{NS}"><supplyingAgencyMessageConfirmation>'
                  "<confirmationHeader><messageStatus>OK</messageStatus></confirmationHeader>"
                  "</supplyingAgencyMessageConfirmation></ISO18626Message>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        """Quiet."""


def test_a_peer_that_is_down_gets_its_message_once_it_is_back(
    http: TestClient, member: dict[str, str], admin_headers: dict[str, str],
    services: Services
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/iso18626"
        assert http.post(f"/admin/tenants/{member['slug']}/ill-peers", headers=admin_headers,
                         json={"agencyIdType": "RESHARE", "agencyIdValue": member["peer"],
                               "endpoint": endpoint}).status_code == 201
        request_id = f"r-{secrets.token_hex(4)}"
        assert _post(http, _ours("samples-realistic/case1_request.xml", member,
                                 request_id))["status"] == "OK"
        node = _staff_sees(http, member, request_id)
        data(gql(http, member["token"], RESPOND, input={"id": node["id"], "answer": "UNFILLED",
                                                        "reason": "not held"}))
        outbox = IllOutbox(services.database)

        def failed_once() -> bool:
            rows = outbox.pending(member["slug"])
            return bool(rows) and rows[0]["attempts"] >= 1 and rows[0]["sent_at"] is None

        deadline = time.monotonic() + 30
        while not failed_once():
            assert time.monotonic() < deadline, "the sender never tried the peer"
            time.sleep(0.2)
        assert _Peer.received == []
        _Peer.down = False
        while not _Peer.received:
            assert time.monotonic() < deadline + 30, "the message never reached the peer"
            time.sleep(0.2)
        time.sleep(1)  # a sender that would send it again has had its chance
        (message,) = _Peer.received
        assert f"<requestingAgencyRequestId>{request_id}<".encode() in message
        assert b"<status>Unfilled</status>" in message
        assert b"<reasonUnfilled>not held</reasonUnfilled>" in message
        (row,) = outbox.pending(member["slug"])
        assert row["sent_at"] is not None
        assert row["attempts"] >= 2
    finally:
        server.shutdown()


REQUEST_LOAN = """mutation($input: RequestLoanInput!) { requestLoan(input: $input) {
  request { id state peer { agencyIdValue } partner { slug } } } }"""
REQUESTED = """query { lendingRequests(side: REQUESTER, first: 10) { edges { node {
  id state history { state message } } } } }"""
RECEIVE = """mutation($input: ReceiveLendingRequestInput!) { receiveLendingRequest(input: $input) {
  request { id state } } }"""


def test_a_member_borrows_from_an_outside_library(
    http: TestClient, member: dict[str, str], admin_headers: dict[str, str],
    services: Services
) -> None:
    desk = http.post(f"/admin/tenants/{member['slug']}/clients", headers=admin_headers, json={
        "name": "desk", "scopes": ["ill", "library:read", "library:write"]}).json()
    token = token_for(http, desk["client_id"], desk["client_secret"])
    record = data(gql(http, token, CREATE, input={"title": "Borrowed abroad"}))[
        "createRecord"]["record"]["id"]
    data(gql(http, token, REGISTER, input={"barcode": "P-9", "name": "Pat", "patronGroup":
                                           "staff", "expiresOn": "2031-01-01"}))
    deadline = time.monotonic() + 30
    while (entry := services.reads.union_entry_of_record(member["slug"], record)) is None:
        assert time.monotonic() < deadline, "the union catalog never showed the record"
        time.sleep(0.1)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Peer.down, _Peer.received = False, []
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/iso18626"
        assert http.post(f"/admin/tenants/{member['slug']}/ill-peers", headers=admin_headers,
                         json={"agencyIdType": "RESHARE", "agencyIdValue": member["peer"],
                               "endpoint": endpoint}).status_code == 201
        asked = data(gql(http, token, REQUEST_LOAN, input={
            "unionCatalogEntryId": entry, "patronBarcode": "P-9", "pickupLocation": "Main",
            "peer": {"agencyIdType": "RESHARE", "agencyIdValue": member["peer"]}}))
        request = asked["requestLoan"]["request"]
        assert (request["state"], request["peer"], request["partner"]) == (
            "RequestReceived", {"agencyIdValue": member["peer"]}, None)
        sent = _arrived(lambda m: m.kind == "request")
        assert sent.get("header/requestingAgencyRequestId") == request["id"]
        assert sent.get("header/supplyingAgencyId/agencyIdValue") == member["peer"]
        assert sent.get("bibliographicInfo/title") == "Borrowed abroad"

        def told(reason: str, status: str, minutes: int, due: str = "") -> bytes:
            header = Header(("RESHARE", member["peer"]), ("ISIL", member["isil"]),
                            request["id"], datetime(2030, 1, 1, 12, minutes, tzinfo=UTC))
            return supplying_message(SupplierStatus(
                header, reason, status,
                due_date=datetime.fromisoformat(due) if due else None))

        assert _post(http, told("RequestResponse", "WillSupply", 1))["status"] == "OK"
        loaned = told("StatusChange", "Loaned", 2, "2030-02-01T00:00:00+00:00")
        assert _post(http, loaned)["status"] == "OK"
        assert _post(http, loaned)["status"] == "OK"  # delivered twice: applied once
        node = _state_of(http, token, request["id"], "Loaned")
        assert [h["state"] for h in node["history"]].count("Loaned") == 1
        back = _post(http, told("StatusChange", "WillSupply", 0))  # overtaken: history only
        assert back["status"] == "OK"
        data(gql(http, token, RECEIVE, input={"id": request["id"]}))
        action = _arrived(lambda m: m.kind == "requestingAgencyMessage")
        assert action.get("action") == "Received"
        assert _state_of(http, token, request["id"], "Loaned")["id"] == request["id"]
    finally:
        server.shutdown()


def _arrived(wanted: Callable[[Message], bool]) -> Message:
    """The first message the outside library received that is wanted."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for body in list(_Peer.received):
            message = parse(body)
            if wanted(message):
                return message
        time.sleep(0.1)
    raise AssertionError("the outside library never got the message")


def _state_of(http: TestClient, token: str, request_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for edge in data(gql(http, token, REQUESTED))["lendingRequests"]["edges"]:
            if edge["node"]["id"] == request_id and edge["node"]["state"] == state:
                found: dict[str, Any] = edge["node"]
                return found
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} never became {state}")


def test_a_requests_ids_and_texts_are_checked_and_long_ids_still_apply_once(
    http: TestClient, member: dict[str, str], admin_headers: dict[str, str]
) -> None:
    # An id too long or with control characters is refused naming it, not answered "send it
    # again later" (that came from the idempotency key it made, over 200 characters).
    for request_id in ("x" * 201, f"r-\x7f{secrets.token_hex(3)}"):
        answer = _post(http, _ours("samples-realistic/case1_request.xml", member, request_id))
        assert (answer["status"], answer["error"]) == ("ERROR", "UnrecognisedDataValue")
        assert "header/requestingAgencyRequestId" in answer["value"]
    body = _ours("samples-realistic/case1_request.xml", member, f"r-{secrets.token_hex(4)}")
    titled = body.replace(b"<supplierUniqueRecordId>", b"<title>A\x7ftitle</title>"
                                                       b"<supplierUniqueRecordId>")
    answer = _post(http, titled)
    assert (answer["status"], answer["error"]) == ("ERROR", "UnrecognisedDataValue")
    assert "bibliographicInfo/title" in answer["value"]
    # A peer with a long agency id sending a long (allowed) request id: applied, once.
    peer = "P" * 100
    registered = http.post(f"/admin/tenants/{member['slug']}/ill-peers", headers=admin_headers,
                           json={"agencyIdType": "RESHARE", "agencyIdValue": peer,
                                 "endpoint": "http://127.0.0.1:9/iso18626", "strict": False})
    assert registered.status_code == 201, registered.text
    request_id = f"r-{secrets.token_hex(4)}-" + "9" * 150
    long_one = _ours("samples-realistic/case1_request.xml", {**member, "peer": peer}, request_id)
    assert _post(http, long_one)["status"] == "OK"
    assert _post(http, long_one)["status"] == "OK"
    _staff_sees(http, member, request_id)
    assert len([e for e in data(gql(http, member["token"], LIST))["lendingRequests"]["edges"]
                if e["node"]["requestingAgencyRequestId"] == request_id]) == 1


def test_a_will_supply_answers_reason_is_checked_like_every_other_answers(
    http: TestClient, services: Services, member: dict[str, str]
) -> None:
    request_id = f"r-{secrets.token_hex(4)}"
    assert _post(http, _ours("samples-realistic/case1_request.xml", member,
                             request_id))["status"] == "OK"
    node = _staff_sees(http, member, request_id)
    before = services.scope(member["slug"]).last_position()
    for answer in ("WILL_SUPPLY", "UNFILLED"):  # WILL_SUPPLY kept any reason, unbounded
        refused = gql(http, member["token"], RESPOND, input={
            "id": node["id"], "answer": answer, "reason": "r" * 2001})
        assert code(refused) == "INVALID_INPUT", refused
        assert refused["errors"][0]["message"].startswith("reason:"), refused
    assert services.scope(member["slug"]).last_position() == before
