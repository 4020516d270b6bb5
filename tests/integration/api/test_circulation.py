"""Circulation end to end over GraphQL and against the real event store: loans, renewals,
holds, idempotency, races between desks, erasure by crypto-shredding, bad input, tenants."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from domain.circulation.errors import CirculationError
from projections.postgres import active_generation
from tenants.desk import expire_uncollected
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, code, data, gql
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

REGISTER = """mutation($input: RegisterPatronInput!) { registerPatron(input: $input) {
  patron { id barcode name } } }"""
CHECK_OUT = """mutation($item: String!, $patron: String!, $key: String) {
  checkOut(input: {itemBarcode: $item, patronBarcode: $patron, idempotencyKey: $key}) {
    loan { id dueAt renewals } } }"""
CHECK_IN = """mutation($item: String!, $key: String) {
  checkIn(input: {itemBarcode: $item, idempotencyKey: $key}) { item { barcode status } } }"""
RENEW = """mutation($item: String!, $key: String) {
  renew(input: {itemBarcode: $item, idempotencyKey: $key}) { loan { id dueAt renewals } } }"""
BY_LOAN = """mutation($loan: ID, $item: String) {
  renew(input: {loanId: $loan, itemBarcode: $item}) { loan { id dueAt renewals } } }"""
CHECK_IN_BY_LOAN = """mutation($loan: ID) {
  checkIn(input: {loanId: $loan}) { item { barcode status } } }"""
CHECK_IN_SLIP = """mutation($item: String!, $key: String) {
  checkIn(input: {itemBarcode: $item, idempotencyKey: $key}) { item { barcode status }
    heldFor { holdId patronId pickupUntil } } }"""
DECLARE_LOST = """mutation($item: String, $loan: ID, $key: String) {
  declareItemLost(input: {itemBarcode: $item, loanId: $loan, idempotencyKey: $key}) {
    item { barcode status } } }"""
ERASE = """mutation($patron: String!, $key: String) {
  erasePatron(input: {barcode: $patron, idempotencyKey: $key}) {
    erased cancelledHolds { holdId recordId itemBarcode } } }"""
HOLD = """mutation($record: ID!, $patron: String!, $key: String) {
  placeHold(input: {recordId: $record, patronBarcode: $patron, idempotencyKey: $key}) {
    hold { id position } } }"""
ITEM = "query($b: String!) { item(barcode: $b) { barcode status loan { id dueAt } } }"
PATRON = """query($b: String, $id: ID) { patron(barcode: $b, id: $id) { id barcode name email
  patronGroup erased blocks loans { id itemBarcode } holds { id position status }
  history { id checkedInAt } } }"""


def _patron(http: TestClient, token: str, barcode: str, name: str | None = None,
            email: str | None = None) -> str:
    answer = data(gql(http, token, REGISTER, input={
        "barcode": barcode, "name": name or f"Patron {barcode}", "email": email,
        "patronGroup": "undergraduate", "expiresOn": "2030-06-30"}))
    patron_id: str = answer["registerPatron"]["patron"]["id"]
    return patron_id


@pytest.fixture
def shelf(http: TestClient, library: dict[str, str]) -> dict[str, Any]:
    """A record with three copies (I-1..I-3) and patrons P-1..P-4."""
    token = library["token"]
    record = data(gql(http, token, CREATE, input={"title": "Middlemarch"}))
    record_id = record["createRecord"]["record"]["id"]
    for n in (1, 2, 3):
        data(gql(http, token, ADD_ITEM, input={"recordId": record_id, "barcode": f"I-{n}",
                                               "location": {"branch": "MAIN"}}))
    patrons = {f"P-{n}": _patron(http, token, f"P-{n}") for n in (1, 2, 3, 4)}
    return {"token": token, "record": record_id, "patrons": patrons}


def test_check_out_renew_and_check_in_with_idempotent_retries(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token = shelf["token"]
    loan = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1", key="k-1"))
    loan = loan["checkOut"]["loan"]
    assert loan["renewals"] == 0
    item = data(gql(http, token, ITEM, b="I-1"))["item"]
    assert item == {"barcode": "I-1", "status": "CHECKED_OUT",
                    "loan": {"id": loan["id"], "dueAt": loan["dueAt"]}}

    recorder = services.consortium.scope(library["slug"]).circulation.recorder
    before = recorder.max_notification_id()
    retried = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1", key="k-1"))
    assert retried["checkOut"]["loan"] == loan  # the first answer, nothing new recorded
    assert recorder.max_notification_id() == before
    assert code(gql(http, token, RENEW, item="I-1", key="k-1")) == "IDEMPOTENCY_KEY_REUSED"

    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="P-2")) == "ITEM_NOT_AVAILABLE"
    renewed = data(gql(http, token, RENEW, item="I-1", key="r-1"))["renew"]["loan"]
    assert renewed["id"] == loan["id"]
    assert renewed["renewals"] == 1
    assert renewed["dueAt"] >= loan["dueAt"]
    back = data(gql(http, token, CHECK_IN, item="I-1", key="c-1"))["checkIn"]["item"]
    assert back == {"barcode": "I-1", "status": "AVAILABLE"}
    again = data(gql(http, token, CHECK_IN, item="I-1", key="c-1"))["checkIn"]["item"]
    assert again == back
    assert code(gql(http, token, CHECK_IN, item="I-1")) == "NOT_ON_LOAN"
    patron = data(gql(http, token, PATRON, b="P-1"))["patron"]
    assert patron["loans"] == []
    assert [h["id"] for h in patron["history"]] == [loan["id"]]


def test_renew_and_check_in_by_the_loan_id(http: TestClient, shelf: dict[str, Any]) -> None:
    token = shelf["token"]
    loan = data(gql(http, token, CHECK_OUT, item="I-2", patron="P-1"))["checkOut"]["loan"]
    renewed = data(gql(http, token, BY_LOAN, loan=loan["id"]))["renew"]["loan"]
    assert (renewed["id"], renewed["renewals"]) == (loan["id"], 1)
    assert code(gql(http, token, BY_LOAN, loan=loan["id"], item="I-3")) == "INVALID_INPUT"
    assert code(gql(http, token, BY_LOAN)) == "INVALID_INPUT"
    assert code(gql(http, token, BY_LOAN, loan="not-an-id")) == "INVALID_INPUT"
    assert data(gql(http, token, ITEM, b="I-2"))["item"]["loan"]["id"] == loan["id"]
    back = data(gql(http, token, CHECK_IN_BY_LOAN, loan=loan["id"]))["checkIn"]["item"]
    assert back == {"barcode": "I-2", "status": "AVAILABLE"}
    assert code(gql(http, token, BY_LOAN, loan=loan["id"])) == "NOT_ON_LOAN"


def test_every_circulation_mutation_takes_an_idempotency_key(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token = shelf["token"]
    recorder = services.consortium.scope(library["slug"]).circulation.recorder
    patron = {"barcode": "K-1", "name": "Kim", "patronGroup": "staff",
              "expiresOn": "2031-01-01", "idempotencyKey": "reg-1"}
    first = data(gql(http, token, REGISTER, input=patron))["registerPatron"]["patron"]
    before = recorder.max_notification_id()
    again = data(gql(http, token, REGISTER, input=patron))["registerPatron"]["patron"]
    assert again == first  # not PATRON_BARCODE_TAKEN: the first answer
    assert recorder.max_notification_id() == before

    block = """mutation($key: String) { blockPatron(input: {barcode: "K-1", reason: "fines",
        idempotencyKey: $key}) { patron { blocks } } }"""
    assert data(gql(http, token, block, key="b-1"))["blockPatron"]["patron"]["blocks"] == [
        "fines"]
    before = recorder.max_notification_id()
    assert data(gql(http, token, block, key="b-1"))["blockPatron"]["patron"]["blocks"] == [
        "fines"]
    assert recorder.max_notification_id() == before
    unblock = """mutation { unblockPatron(input: {barcode: "K-1", idempotencyKey: "u-1"}) {
        patron { blocks } } }"""
    assert data(gql(http, token, unblock))["unblockPatron"]["patron"]["blocks"] == []

    policy = """mutation { setLoanPolicy(input: {patronGroup: "staff", loanDays: 30,
        idempotencyKey: "p-1"}) { policy { loanDays } } }"""
    data(gql(http, token, policy))
    before = recorder.max_notification_id()
    assert data(gql(http, token, policy))["setLoanPolicy"]["policy"]["loanDays"] == 30
    assert recorder.max_notification_id() == before

    erase = """mutation { erasePatron(input: {barcode: "K-1", idempotencyKey: "e-1"}) {
        erased } }"""
    assert data(gql(http, token, erase))["erasePatron"]["erased"] is True
    assert data(gql(http, token, erase))["erasePatron"]["erased"] is True  # the first answer
    assert code(gql(http, token, """mutation { erasePatron(input: {barcode: "K-1"}) {
        erased } }""")) == "NOT_FOUND"
    shown = data(gql(http, token, REGISTER, input=patron))["registerPatron"]["patron"]
    assert shown["id"] == first["id"]
    assert shown["name"] is None  # the same patron, as they are now: erased
    # another operation's key
    assert code(gql(http, token, block, key="reg-1")) == "IDEMPOTENCY_KEY_REUSED"


def test_holds_queue_and_the_hold_shelf(http: TestClient, shelf: dict[str, Any]) -> None:
    token, record = shelf["token"], shelf["record"]
    for item in ("I-1", "I-2", "I-3"):
        data(gql(http, token, CHECK_OUT, item=item, patron="P-1"))
    first = data(gql(http, token, HOLD, record=record, patron="P-2"))["placeHold"]["hold"]
    second = data(gql(http, token, HOLD, record=record, patron="P-3"))["placeHold"]["hold"]
    assert (first["position"], second["position"]) == (1, 2)
    assert code(gql(http, token, HOLD, record=record, patron="P-2")) == "HOLD_EXISTS"
    queue = data(gql(http, token, "query($id: ID!) { record(id: $id) { holdQueueLength } }",
                     id=record))
    assert queue["record"]["holdQueueLength"] == 2
    assert code(gql(http, token, RENEW, item="I-1")) == "HOLD_WAITING"

    shelved = data(gql(http, token, CHECK_IN, item="I-1"))["checkIn"]["item"]
    assert shelved["status"] == "ON_HOLD_SHELF"
    assert data(gql(http, token, ITEM, b="I-1"))["item"]["status"] == "ON_HOLD_SHELF"
    waiting = data(gql(http, token, PATRON, b="P-3"))["patron"]["holds"]
    assert waiting == [{"id": second["id"], "position": 1, "status": "WAITING"}]
    on_shelf = data(gql(http, token, PATRON, b="P-2"))["patron"]["holds"]
    assert on_shelf[0]["status"] == "ON_SHELF"
    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="P-3")) == (
        "HELD_FOR_ANOTHER_PATRON")
    collected = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-2"))
    assert collected["checkOut"]["loan"]["renewals"] == 0
    assert data(gql(http, token, PATRON, b="P-2"))["patron"]["holds"] == []


def _circulation_caught_up(services: Services, slug: str) -> bool:
    """The circulation view shows every event of the tenant's log recorded so far."""
    return services.watch.wait("circulation", slug, services.scope(slug).last_position(), 5)


def test_an_uncollected_hold_expires_and_the_copy_passes_to_the_next_patron(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token, record, slug = shelf["token"], shelf["record"], library["slug"]
    for item in ("I-1", "I-2", "I-3"):
        data(gql(http, token, CHECK_OUT, item=item, patron="P-1"))
    data(gql(http, token, HOLD, record=record, patron="P-2"))
    second = data(gql(http, token, HOLD, record=record, patron="P-3"))["placeHold"]["hold"]
    data(gql(http, token, CHECK_IN, item="I-1"))
    # the shelf period (7 days) has not passed
    assert expire_uncollected(services.desk, services.reads) == 0

    a_week_later = datetime.now(UTC) + timedelta(days=7, hours=1)
    assert expire_uncollected(services.desk, services.reads, a_week_later) >= 1
    assert _circulation_caught_up(services, slug)
    assert data(gql(http, token, PATRON, b="P-2"))["patron"]["holds"] == []
    [waiting] = data(gql(http, token, PATRON, b="P-3"))["patron"]["holds"]
    assert (waiting["id"], waiting["status"]) == (second["id"], "ON_SHELF")
    assert data(gql(http, token, ITEM, b="I-1"))["item"]["status"] == "ON_HOLD_SHELF"
    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="P-2")) == (
        "HELD_FOR_ANOTHER_PATRON")

    assert expire_uncollected(services.desk, services.reads,
                              a_week_later + timedelta(days=7, hours=1)) >= 1
    assert _circulation_caught_up(services, slug)
    assert data(gql(http, token, ITEM, b="I-1"))["item"]["status"] == "AVAILABLE"
    assert data(gql(http, token, PATRON, b="P-3"))["patron"]["holds"] == []


def test_retries_racing_with_one_key_record_once_and_share_the_answer(
    http: TestClient, shelf: dict[str, Any], library: dict[str, str]
) -> None:
    token = shelf["token"]
    data(gql(http, token, CHECK_OUT, item="I-3", patron="P-1"))
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def renew() -> None:
        answer = gql(http, token, RENEW, item="I-3", key="one-renewal")
        with lock:
            answers.append(answer)

    assert _race(*([renew] * 4)) == ["ok"] * 4
    loans = [data(a)["renew"]["loan"] for a in answers]
    assert all(loan == loans[0] for loan in loans), answers
    assert loans[0]["renewals"] == 1
    with psycopg.connect(str(http.app.state.services.settings.database_url)) as conn:
        row = conn.execute(sql.SQL(
            "SELECT count(*) FROM {} WHERE topic LIKE %s").format(
                sql.Identifier("t_" + library["slug"].replace("-", "_"), "events")),
            ("%ItemLending.Renewed",)).fetchone()
    assert row == (1,)


def _race(*calls: Any) -> list[str]:
    """Runs the calls at once; each one's outcome: "ok" or the error's class name."""
    outcomes: list[str] = [""] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int, call: Any) -> None:
        barrier.wait()
        try:
            call()
            outcomes[i] = "ok"
        except CirculationError as error:
            outcomes[i] = type(error).__name__

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_desks_racing_for_one_copy_exactly_one_wins(
    shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    desk = services.desk(library["slug"])
    outcomes = _race(*(lambda p=p: desk.check_out("I-2", p) for p in
                       ("P-1", "P-2", "P-3", "P-4")))
    assert Counter(outcomes) == {"ok": 1, "ItemNotAvailableError": 3}

    outcomes = _race(lambda: desk.check_in("I-2"), lambda: desk.renew("I-2"))
    assert outcomes[0] == "ok"  # check-in always ends the loan; renew won or lost the race
    assert outcomes[1] in ("ok", "NotOnLoanError")
    assert desk.circulation.lending_of(desk.copy("I-2")).status == "available"

    record = desk.copy("I-2").record_id
    positions = []
    lock = threading.Lock()

    def hold(patron: str) -> None:
        _, position = desk.place_hold(record, patron)
        with lock:
            positions.append(position)

    assert _race(*(lambda p=p: hold(p) for p in ("P-1", "P-2", "P-3", "P-4"))) == ["ok"] * 4
    assert sorted(positions) == [1, 2, 3, 4]


def _database_holds(url: str, needle: str) -> list[str]:
    """Every table column, in every schema, whose text or bytes contain the needle."""
    found = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE "
            "table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            try:
                rows = conn.execute(sql.SQL("SELECT * FROM {}").format(
                    sql.Identifier(schema, table))).fetchall()
            except psycopg.errors.UndefinedTable:
                continue  # dropped meanwhile (an old read-model generation): holds nothing
            for row in rows:
                for value in row:
                    text = (bytes(value).decode("utf-8", "replace")
                            if isinstance(value, (bytes, memoryview)) else str(value))
                    if needle in text:
                        found.append(f"{schema}.{table}")
    return found


def test_erasure_shreds_the_patron_and_keeps_the_statistics(
    http: TestClient, shelf: dict[str, Any], services: Services
) -> None:
    token = shelf["token"]
    name, email = f"Ada {secrets.token_hex(4)}", f"ada.{secrets.token_hex(4)}@example.org"
    patron_id = _patron(http, token, "ERASE-ME", name, email)
    shown = data(gql(http, token, PATRON, b="ERASE-ME"))["patron"]
    assert (shown["name"], shown["email"]) == (name, email)
    loan = data(gql(http, token, CHECK_OUT, item="I-3", patron="ERASE-ME"))["checkOut"]["loan"]
    refused = gql(http, token, 'mutation { erasePatron(input: {barcode: "ERASE-ME"}) '
                               "{ erased } }")
    assert code(refused) == "PATRON_HAS_LOANS"
    assert "check them in" in refused["errors"][0]["message"]
    data(gql(http, token, CHECK_IN, item="I-3"))
    erased = data(gql(http, token, 'mutation { erasePatron(input: {barcode: "ERASE-ME"}) '
                                    "{ erased } }"))
    assert erased == {"erasePatron": {"erased": True}}

    assert code(gql(http, token, PATRON, b="ERASE-ME")) == "NOT_FOUND"
    after = data(gql(http, token, PATRON, id=patron_id))["patron"]
    assert after["erased"] is True
    assert (after["name"], after["email"], after["barcode"]) == (None, None, None)
    assert after["history"] == []
    url = services.settings.database_url
    assert url is not None
    assert _database_holds(url, name) == []
    assert _database_holds(url, email) == []
    with psycopg.connect(url) as conn:  # the loan still counts, without its patron
        generation = active_generation(conn.cursor(), "circulation")  # a rebuild may have run
        row = conn.execute(sql.SQL("SELECT borrower, checked_in_at FROM {} WHERE loan_id = %s")
                           .format(sql.Identifier("projections",
                                                  f"circulation_g{generation}_loans")),
                           (loan["id"],)).fetchone()
    assert row is not None
    assert row[0] is None
    assert row[1] is not None
    # the same barcode may be given to someone new
    _patron(http, token, "ERASE-ME")


def test_bad_circulation_input_gets_a_code_and_records_nothing(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token = shelf["token"]
    recorder = services.consortium.scope(library["slug"]).circulation.recorder
    before = recorder.max_notification_id()
    assert code(gql(http, token, CHECK_OUT, item="NOPE", patron="P-1")) == "NOT_FOUND"
    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="NOBODY")) == "NOT_FOUND"
    duplicate = gql(http, token, REGISTER, input={
        "barcode": "P-1", "name": "Again", "patronGroup": "staff", "expiresOn": "2030-01-01"})
    assert code(duplicate) == "PATRON_BARCODE_TAKEN"
    bad_date = gql(http, token, REGISTER, input={
        "barcode": "P-9", "name": "Bad", "patronGroup": "staff", "expiresOn": "2030-13-01"})
    assert code(bad_date) == "INVALID_INPUT"
    assert "expiresOn" in bad_date["errors"][0]["message"]
    bad_email = gql(http, token, REGISTER, input={
        "barcode": "P-9", "name": "Bad", "email": "not-an-address", "patronGroup": "staff",
        "expiresOn": "2030-01-01"})
    assert code(bad_email) == "INVALID_INPUT"
    negative = gql(http, token, """mutation { setLoanPolicy(input: {loanDays: -3}) {
        policy { loanDays } } }""")
    assert code(negative) == "INVALID_INPUT"
    assert "loanDays" in negative["errors"][0]["message"]  # as the client sent it
    assert "loan_days" not in negative["errors"][0]["message"]
    assert recorder.max_notification_id() == before
    data(gql(http, token, """mutation { withdrawItem(input: {barcode: "I-3"}) {
        item { status } } }"""))
    withdrawn = gql(http, token, CHECK_OUT, item="I-3", patron="P-1")
    assert code(withdrawn) == "ITEM_NOT_AVAILABLE"
    assert "withdrawn" in withdrawn["errors"][0]["message"]
    blocked = data(gql(http, token, """mutation { blockPatron(input: {barcode: "P-4",
        reason: "lost card"}) { patron { blocks } } }"""))
    assert blocked["blockPatron"]["patron"]["blocks"] == ["lost card"]
    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="P-4")) == "PATRON_BLOCKED"
    data(gql(http, token, """mutation { setLoanPolicy(input: {patronGroup: "undergraduate",
        maxLoans: 1}) { policy { maxLoans } } }"""))
    data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))
    assert code(gql(http, token, CHECK_OUT, item="I-2", patron="P-1")) == "LIMIT_REACHED"


def test_another_library_reaches_none_of_our_patrons_or_items(
    http: TestClient, shelf: dict[str, Any], admin_headers: dict[str, str],
    library: dict[str, str]
) -> None:
    token = shelf["token"]
    loan = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))["checkOut"]["loan"]
    other = library["slug"] + "-o"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin_headers).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    _patron(http, theirs, "P-1")  # the same barcode in another library is another patron
    assert code(gql(http, theirs, PATRON, id=shelf["patrons"]["P-1"])) == "NOT_FOUND"
    assert code(gql(http, theirs, CHECK_OUT, item="I-2", patron="P-1")) == "NOT_FOUND"
    assert code(gql(http, theirs, CHECK_IN, item="I-1")) == "NOT_FOUND"
    assert code(gql(http, theirs, RENEW, item="I-1")) == "NOT_FOUND"
    assert code(gql(http, theirs, BY_LOAN, loan=loan["id"])) == "NOT_ON_LOAN"
    assert code(gql(http, theirs, CHECK_IN_BY_LOAN, loan=loan["id"])) == "NOT_ON_LOAN"
    assert code(gql(http, theirs, DECLARE_LOST, item="I-1")) == "NOT_FOUND"
    assert code(gql(http, theirs, DECLARE_LOST, loan=loan["id"])) == "NOT_ON_LOAN"
    assert data(gql(http, token, ITEM, b="I-1"))["item"]["status"] == "CHECKED_OUT"
    assert code(gql(http, theirs, HOLD, record=shelf["record"], patron="P-1")) == "NOT_FOUND"
    assert data(gql(http, theirs, ITEM, b="I-1"))["item"] is None
    assert data(gql(http, theirs, PATRON, b="P-1"))["patron"]["loans"] == []
    assert data(gql(http, theirs, "{ overdueLoans { id } }"))["overdueLoans"] == []

    reader = token_for(http, library["client_id"], library["client_secret"], "library:read")
    assert code(gql(http, reader, CHECK_OUT, item="I-2", patron="P-2")) == "FORBIDDEN"
    assert data(gql(http, reader, PATRON, b="P-2"))["patron"]["name"] == "Patron P-2"


def test_another_library_cannot_block_cancel_or_change_our_policies(
    http: TestClient, shelf: dict[str, Any], admin_headers: dict[str, str],
    library: dict[str, str]
) -> None:
    token = shelf["token"]
    data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))
    hold = data(gql(http, token, HOLD, record=shelf["record"], patron="P-2"))["placeHold"]
    other = library["slug"] + "-p"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin_headers).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    blocked = gql(http, theirs, """mutation { blockPatron(input: {barcode: "P-3",
        reason: "x"}) { patron { id } } }""")
    assert code(blocked) == "NOT_FOUND"
    cancel = gql(http, theirs, """mutation($r: ID!, $h: ID!) { cancelHold(input: {recordId: $r,
        holdId: $h}) }""", r=shelf["record"], h=hold["hold"]["id"])
    assert code(cancel) == "NOT_FOUND"
    data(gql(http, theirs, """mutation { setLoanPolicy(input: {loanDays: 3}) {
        policy { loanDays } } }"""))
    ours = data(gql(http, token, "{ loanPolicies { patronGroup materialType loanDays } }"))
    assert ours["loanPolicies"] == [{"patronGroup": "*", "materialType": "*", "loanDays": 21}]
    assert data(gql(http, token, PATRON, b="P-3"))["patron"]["blocks"] == []
    assert [h["position"] for h in data(gql(http, token, PATRON, b="P-2"))["patron"]["holds"]
            ] == [1]


def test_check_in_answers_for_whom_the_copy_waits_on_the_hold_shelf(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token, record = shelf["token"], shelf["record"]
    data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))
    data(gql(http, token, CHECK_OUT, item="I-2", patron="P-1"))
    nobody = data(gql(http, token, CHECK_IN_SLIP, item="I-2"))["checkIn"]
    assert nobody == {"item": {"barcode": "I-2", "status": "AVAILABLE"}, "heldFor": None}
    hold = data(gql(http, token, HOLD, record=record, patron="P-2"))["placeHold"]["hold"]
    before = datetime.now(UTC)
    slip = data(gql(http, token, CHECK_IN_SLIP, item="I-1", key="slip-1"))["checkIn"]
    assert slip["item"] == {"barcode": "I-1", "status": "ON_HOLD_SHELF"}
    held = slip["heldFor"]
    assert (held["holdId"], held["patronId"]) == (hold["id"], shelf["patrons"]["P-2"])
    until = datetime.fromisoformat(held["pickupUntil"])
    assert before + timedelta(days=7) <= until <= datetime.now(UTC) + timedelta(days=7)
    recorder = services.scope(library["slug"]).circulation.recorder
    position = recorder.max_notification_id()
    again = data(gql(http, token, CHECK_IN_SLIP, item="I-1", key="slip-1"))["checkIn"]
    assert again == slip
    assert recorder.max_notification_id() == position
    url = services.settings.database_url
    assert url is not None  # the answer kept under the key does not link hold and patron
    kept = [t for t in _database_holds(url, held["holdId"]) if t.endswith(".idempotency")]
    assert len(kept) == 1
    assert not [t for t in _database_holds(url, held["patronId"])
                if t.endswith(".idempotency")]
    data(gql(http, token, CHECK_OUT, item="I-1", patron="P-2"))  # collected: no slip any more
    assert data(gql(http, token, CHECK_IN_SLIP, item="I-1", key="slip-1"))["checkIn"][
        "heldFor"]["patronId"] is None


def test_a_patrons_own_hold_does_not_block_their_renewal(
    http: TestClient, shelf: dict[str, Any]
) -> None:
    token, record = shelf["token"], shelf["record"]
    data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))
    data(gql(http, token, HOLD, record=record, patron="P-1"))
    renewed = data(gql(http, token, RENEW, item="I-1"))["renew"]["loan"]
    assert renewed["renewals"] == 1
    data(gql(http, token, HOLD, record=record, patron="P-2"))
    refused = gql(http, token, RENEW, item="I-1")
    assert code(refused) == "HOLD_WAITING"
    assert "another patron's hold waits for this title" in refused["errors"][0]["message"]


def test_declare_item_lost_closes_the_loan_so_the_patron_can_be_erased(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token = shelf["token"]
    loan = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-1"))["checkOut"]["loan"]
    refused = gql(http, token, ERASE, patron="P-1")
    assert code(refused) == "PATRON_HAS_LOANS"
    assert "(declareItemLost)" in refused["errors"][0]["message"]

    lost = data(gql(http, token, DECLARE_LOST, loan=loan["id"], key="lost-1"))
    assert lost == {"declareItemLost": {"item": {"barcode": "I-1", "status": "LOST"}}}
    recorder = services.scope(library["slug"]).circulation.recorder
    position = recorder.max_notification_id()
    assert data(gql(http, token, DECLARE_LOST, loan=loan["id"], key="lost-1")) == lost
    assert recorder.max_notification_id() == position
    assert _circulation_caught_up(services, library["slug"])
    shown = data(gql(http, token, ITEM, b="I-1"))["item"]
    assert (shown["status"], shown["loan"]) == ("LOST", None)  # the view closed the loan
    assert code(gql(http, token, DECLARE_LOST, item="I-1")) == "NOT_ON_LOAN"
    assert code(gql(http, token, DECLARE_LOST, item="I-1", key="lost-1")) == (
        "IDEMPOTENCY_KEY_REUSED")
    unavailable = gql(http, token, CHECK_OUT, item="I-1", patron="P-2")
    assert code(unavailable) == "ITEM_NOT_AVAILABLE"
    assert "item I-1 is lost" in unavailable["errors"][0]["message"]
    assert code(gql(http, token, RENEW, item="I-1")) == "NOT_ON_LOAN"

    erased = data(gql(http, token, ERASE, patron="P-1"))["erasePatron"]
    assert erased == {"erased": True, "cancelledHolds": []}
    found = data(gql(http, token, CHECK_IN, item="I-1"))["checkIn"]["item"]
    assert found == {"barcode": "I-1", "status": "AVAILABLE"}
    assert data(gql(http, token, CHECK_OUT, item="I-1", patron="P-2"))["checkOut"]["loan"]
    assert code(gql(http, token, DECLARE_LOST)) == "INVALID_INPUT"
    assert code(gql(http, token, DECLARE_LOST, item="NOPE")) == "NOT_FOUND"


def test_erasing_a_patron_who_only_has_holds_cancels_them(
    http: TestClient, shelf: dict[str, Any], services: Services, library: dict[str, str]
) -> None:
    token, record = shelf["token"], shelf["record"]
    for item in ("I-1", "I-2", "I-3"):
        data(gql(http, token, CHECK_OUT, item=item, patron="P-1"))
    waiting = data(gql(http, token, HOLD, record=record, patron="P-2"))["placeHold"]["hold"]
    shelved = data(gql(http, token, HOLD, record=record, patron="P-3"))["placeHold"]["hold"]
    data(gql(http, token, HOLD, record=record, patron="P-4"))

    first = data(gql(http, token, ERASE, patron="P-2", key="erase-2"))["erasePatron"]
    assert first == {"erased": True, "cancelledHolds": [
        {"holdId": waiting["id"], "recordId": record, "itemBarcode": None}]}
    assert data(gql(http, token, ERASE, patron="P-2", key="erase-2"))["erasePatron"] == first
    assert _circulation_caught_up(services, library["slug"])
    assert [h["position"] for h in data(gql(http, token, PATRON, b="P-3"))["patron"][
        "holds"]] == [1]
    queue = data(gql(http, token, "query($id: ID!) { record(id: $id) { holdQueueLength } }",
                     id=record))
    assert queue["record"]["holdQueueLength"] == 2

    slip = data(gql(http, token, CHECK_IN_SLIP, item="I-1"))["checkIn"]["heldFor"]
    assert (slip["holdId"], slip["patronId"]) == (shelved["id"], shelf["patrons"]["P-3"])
    erased = data(gql(http, token, ERASE, patron="P-3"))["erasePatron"]
    assert erased["cancelledHolds"] == [
        {"holdId": shelved["id"], "recordId": record, "itemBarcode": "I-1"}]
    # the copy passed to the next in the queue; the erased patron's hold blocks nobody
    assert _circulation_caught_up(services, library["slug"])
    assert data(gql(http, token, ITEM, b="I-1"))["item"]["status"] == "ON_HOLD_SHELF"
    [next_hold] = data(gql(http, token, PATRON, b="P-4"))["patron"]["holds"]
    assert next_hold["status"] == "ON_SHELF"
    assert code(gql(http, token, CHECK_OUT, item="I-1", patron="P-1")) == (
        "HELD_FOR_ANOTHER_PATRON")
    collected = data(gql(http, token, CHECK_OUT, item="I-1", patron="P-4"))
    assert collected["checkOut"]["loan"]["renewals"] == 0
