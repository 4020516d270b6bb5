"""Shared acquisition end to end over real PostgreSQL and NATS: suggestions and orders with
what the consortium already has, their bad inputs, the analysis ranking titles by demand per
copy, prices hidden until the office shares them, and no library reaching another's."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from projections.union_catalog.view import UnionCatalogView
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, code, data, gql
from tests.integration.api.test_circulation import CHECK_OUT, HOLD, _patron
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
T = TypeVar("T")

WANTED = "wanted { entryId title isbn authors year }"
ORDER = f"""id {WANTED} copies price {{ amount currency }} vendor status note suggestionIds
  placedAt changedAt recordId barcodes"""
HOLDINGS = """holders { member { slug name } items available } copies available
  openOrders { member { slug } copies price { amount currency } } warning"""
SUGGEST = f"""mutation($input: SuggestPurchaseInput!) {{ suggestPurchase(input: $input) {{
  suggestion {{ id {WANTED} onBehalfOfPatron note }} }} }}"""
PLACE = f"""mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{
  order {{ {ORDER} }} consortium {{ {HOLDINGS} }} }} }}"""
CANCEL = f"""mutation($input: CancelOrderInput!) {{ cancelOrder(input: $input) {{
  order {{ {ORDER} }} }} }}"""
RECEIVE = f"""mutation($input: ReceiveOrderInput!) {{ receiveOrder(input: $input) {{
  order {{ {ORDER} }} }} }}"""
SHARING = """mutation($on: Boolean!) { setAcquisitionPriceSharing(input: {enabled: $on}) {
  pricesShared } }"""
SETTINGS = "{ acquisitionSettings { pricesShared } }"
ONE_ORDER = f"query($id: ID!) {{ purchaseOrder(id: $id) {{ {ORDER} }} }}"
ORDERS = f"query($status: OrderStatus) {{ purchaseOrders(status: $status) {{ {ORDER} }} }}"
HOLDINGS_OF = f"""query($entry: ID, $isbn: String, $title: String) {{
  consortiumHoldings(entryId: $entry, isbn: $isbn, title: $title) {{ {HOLDINGS} }} }}"""
CANDIDATES = """query($sort: AcquisitionCandidateSort!, $filters: AcquisitionCandidateFilters,
  $first: Int!, $after: String) {
  acquisitionCandidates(sort: $sort, filters: $filters, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id entryId title isbn holdingMembers copies available
      holdsWaiting loansLastYear interlibraryRequests interlibraryUnfilled suggestions
      suggestionsByMember { member { slug } count }
      demand demandPerCopy heldByMe holders { member { slug } items available }
      openOrders { member { slug } copies price { amount currency } } } } } }"""
RECORD = "query($id: ID!) { record(id: $id) { id title isbns items { barcode } } }"


def isbn13() -> str:
    """A random ISBN-13 with a right check digit (no other test's record has it)."""
    core = "979" + "".join(secrets.choice("0123456789") for _ in range(9))
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(core)) % 10) % 10
    return core + str(check)


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 30) -> T:
    """Reads until the answer is what the test waits for (read models are eventually
    consistent for what a command did not wait for)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def members(http: TestClient, admin_headers: dict[str, str],
            unique_slug: str) -> dict[str, Any]:
    """Three member libraries (a, b, c: slug and token), a read-only token of a, and the
    office's token."""
    found: dict[str, Any] = {"office": admin_headers["Authorization"].removeprefix("Bearer ")}
    for name in ("a", "b", "c"):
        slug = f"{unique_slug}-{name}"
        created = http.post("/admin/tenants", json={"slug": slug, "name": f"Library {name}"},
                            headers=admin_headers)
        assert created.status_code == 201, created.text
        client = http.post(f"/admin/tenants/{slug}/clients",
                           json={"name": "desk", "scopes": ["library:read", "library:write"]},
                           headers=admin_headers).json()
        found[name] = {"slug": slug,
                       "token": token_for(http, client["client_id"], client["client_secret"]),
                       "reader": token_for(http, client["client_id"], client["client_secret"],
                                           "library:read")}
    return found


def holding(http: TestClient, token: str, title: str, isbn: str | None,
            barcodes: list[str]) -> str:
    """A record with these copies; its id."""
    given: dict[str, Any] = {"title": title}
    if isbn:
        given["isbns"] = [isbn]
    record_id: str = data(gql(http, token, CREATE, input=given))["createRecord"]["record"]["id"]
    for barcode in barcodes:
        data(gql(http, token, ADD_ITEM, input={"recordId": record_id, "barcode": barcode,
                                               "location": {"branch": "MAIN"}}))
    return record_id


def entry_of(services: Services, slug: str, record_id: str, copies: int = 0) -> str:
    """The union entry of a member's record, once the union catalog shows it (with its
    copies)."""
    def read() -> tuple[str | None, int]:
        with services.view(UnionCatalogView) as view:
            entry_id = view.entry_of_record(slug, record_id)
            held = view.holdings(entry_id) if entry_id else []
        return entry_id, sum(h["items"] for h in held if h["tenant"] == slug)

    entry_id, _ = eventually(read, lambda found: found[0] is not None and found[1] >= copies)
    assert entry_id is not None, f"the union catalog never showed {slug}:{record_id}"
    return entry_id


def candidate(http: TestClient, token: str, candidate_id: str,
              done: Callable[[dict[str, Any] | None], bool] = lambda c: c is not None
              ) -> dict[str, Any] | None:
    """One title of the analysis as the token's library sees it (None: not in it)."""
    def read() -> dict[str, Any] | None:
        edges = data(gql(http, token, CANDIDATES, sort="DEMAND", first=100))[
            "acquisitionCandidates"]["edges"]
        return next((e["node"] for e in edges if e["node"]["id"] == candidate_id), None)

    return eventually(read, done)


def test_orders_warn_of_what_the_consortium_holds_and_others_have_on_order(
    http: TestClient, services: Services, members: dict[str, Any]
) -> None:
    a, b, c, office = members["a"], members["b"], members["c"], members["office"]
    isbn = isbn13()
    record_a = holding(http, a["token"], "The Shared Title", isbn, ["A-1", "A-2"])
    record_b = holding(http, b["token"], "The shared title", isbn, ["B-1"])
    entry = entry_of(services, a["slug"], record_a, copies=2)
    assert entry_of(services, b["slug"], record_b, copies=1) == entry

    _patron(http, c["token"], "C-P1", name="Ada Reader", email="ada@example.org")
    by_isbn = data(gql(http, c["token"], SUGGEST, input={
        "wanted": {"isbn": isbn}, "patronBarcode": "C-P1", "note": "book club"}))
    suggestion = by_isbn["suggestPurchase"]["suggestion"]
    assert suggestion["wanted"]["entryId"] == entry  # the ISBN is the consortium's entry
    assert suggestion["onBehalfOfPatron"] is True

    placed = data(gql(http, c["token"], PLACE, input={
        "wanted": {"entryId": entry}, "copies": 2, "price": {"amount": "25", "currency": "eur"},
        "vendor": "Books Ltd", "suggestionIds": [suggestion["id"]], "idempotencyKey": "o-1"}))
    order_c = placed["placeOrder"]["order"]
    assert (order_c["status"], order_c["copies"], order_c["price"]) == (
        "OPEN", 2, {"amount": "25.00", "currency": "EUR"})
    assert order_c["wanted"]["title"] == "The Shared Title"
    assert order_c["wanted"]["isbn"] == isbn
    consortium = placed["placeOrder"]["consortium"]
    assert sorted((h["member"]["slug"], h["items"], h["available"])
                  for h in consortium["holders"]) == [(a["slug"], 2, 2), (b["slug"], 1, 1)]
    assert (consortium["copies"], consortium["available"], consortium["openOrders"]) == (
        3, 3, [])
    assert "holds 3 copies" in consortium["warning"]
    again = data(gql(http, c["token"], PLACE, input={
        "wanted": {"entryId": entry}, "copies": 2, "price": {"amount": "25", "currency": "eur"},
        "vendor": "Books Ltd", "suggestionIds": [suggestion["id"]], "idempotencyKey": "o-1"}))
    assert again["placeOrder"]["order"]["id"] == order_c["id"]  # a retry: the same order

    placed_b = data(gql(http, b["token"], PLACE, input={
        "wanted": {"isbn": isbn}, "copies": 1, "price": {"amount": "30.00", "currency": "USD"}}))
    others = placed_b["placeOrder"]["consortium"]["openOrders"]
    assert others == [{"member": {"slug": c["slug"]}, "copies": 2, "price": None}]

    assert data(gql(http, office, SHARING, on=True))["setAcquisitionPriceSharing"] == {
        "pricesShared": True}
    assert data(gql(http, a["token"], SETTINGS))["acquisitionSettings"]["pricesShared"]
    shared = data(gql(http, a["token"], HOLDINGS_OF, entry=entry))["consortiumHoldings"]
    assert sorted((o["member"]["slug"], o["price"]["amount"]) for o in shared["openOrders"]
                  ) == [(b["slug"], "30.00"), (c["slug"], "25.00")]
    data(gql(http, office, SHARING, on=False))
    hidden = data(gql(http, a["token"], HOLDINGS_OF, entry=entry))["consortiumHoldings"]
    assert [o["price"] for o in hidden["openOrders"]] == [None, None]

    seen = candidate(http, a["token"], f"entry:{entry}")
    assert seen is not None
    assert (seen["suggestions"], seen["copies"], seen["holdingMembers"], seen["heldByMe"]) == (
        1, 3, 2, True)
    assert sorted(o["member"]["slug"] for o in seen["openOrders"]) == [b["slug"], c["slug"]]
    assert seen["suggestionsByMember"] == [{"member": {"slug": c["slug"]}, "count": 1}]
    assert "Ada" not in json.dumps(seen)
    assert "C-P1" not in json.dumps(seen)

    received = data(gql(http, b["token"], RECEIVE, input={
        "orderId": placed_b["placeOrder"]["order"]["id"], "barcodes": ["B-NEW-1"],
        "location": {"branch": "MAIN"}}))["receiveOrder"]["order"]
    assert (received["status"], received["recordId"], received["barcodes"]) == (
        "RECEIVED", record_b, ["B-NEW-1"])  # b's record in the entry got the copy
    cancelled = data(gql(http, c["token"], CANCEL, input={
        "orderId": order_c["id"], "reason": "budget"}))["cancelOrder"]["order"]
    assert cancelled["status"] == "CANCELLED"
    assert code(gql(http, c["token"], RECEIVE, input={
        "orderId": order_c["id"], "barcodes": ["C-1", "C-2"],
        "location": {"branch": "MAIN"}})) == "ORDER_CANCELLED"
    assert code(gql(http, b["token"], CANCEL, input={
        "orderId": received["id"]})) == "ORDER_RECEIVED"
    left = candidate(http, a["token"], f"entry:{entry}", lambda c: c is not None and not
                     c["openOrders"])
    assert left is not None
    assert left["openOrders"] == []


def test_receiving_an_order_for_a_title_nobody_holds_catalogues_its_record(
    http: TestClient, members: dict[str, Any]
) -> None:
    c = members["c"]
    title = f"A Title Nobody Holds {secrets.token_hex(3)}"
    placed = data(gql(http, c["token"], PLACE, input={
        "wanted": {"title": title, "authors": ["Doe, Jane"], "year": "2024"}, "copies": 2}))
    order = placed["placeOrder"]["order"]
    assert placed["placeOrder"]["consortium"] == {
        "holders": [], "copies": 0, "available": 0, "openOrders": [], "warning": None}
    assert order["wanted"]["entryId"] is None
    received = data(gql(http, c["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["N-1", "N-2"], "location": {"branch": "MAIN"},
        "idempotencyKey": "r-1"}))["receiveOrder"]["order"]
    record = data(gql(http, c["token"], RECORD, id=received["recordId"]))["record"]
    assert record["title"] == title
    assert sorted(i["barcode"] for i in record["items"]) == ["N-1", "N-2"]
    retried = data(gql(http, c["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["N-1", "N-2"], "location": {"branch": "MAIN"},
        "idempotencyKey": "r-1"}))["receiveOrder"]["order"]
    assert retried["recordId"] == received["recordId"]
    orders = data(gql(http, c["token"], ORDERS, status="RECEIVED"))["purchaseOrders"]
    assert [o["id"] for o in orders] == [order["id"]]


def test_bad_acquisition_input_gets_a_specific_code_and_records_nothing(
    http: TestClient, services: Services, members: dict[str, Any]
) -> None:
    a = members["a"]
    scope = services.scope(a["slug"])
    order = data(gql(http, a["token"], PLACE, input={"wanted": {"title": "Kept"},
                                                     "copies": 1}))["placeOrder"]["order"]
    before = scope.last_position()
    bad_orders = [
        ({"wanted": {"title": "X"}, "copies": 0}, "COPIES_INVALID", "copies"),
        ({"wanted": {"title": "X"}, "copies": -2}, "COPIES_INVALID", "copies"),
        ({"wanted": {"title": "X"}, "copies": 5000}, "COPIES_INVALID", "copies"),
        ({"wanted": {"entryId": "no-such-entry"}, "copies": 1}, "UNION_ENTRY_NOT_FOUND",
         "entryId"),
        ({"wanted": {"title": "X"}, "copies": 1, "price": {"amount": "-1", "currency": "EUR"}},
         "PRICE_INVALID", "price.amount"),
        ({"wanted": {"title": "X"}, "copies": 1,
          "price": {"amount": "999999999", "currency": "EUR"}}, "PRICE_INVALID", "beyond"),
        ({"wanted": {"title": "X"}, "copies": 1, "price": {"amount": "5", "currency": "€"}},
         "PRICE_INVALID", "price.currency"),
        ({"wanted": {}, "copies": 1}, "INVALID_INPUT", "entryId"),
        ({"wanted": {"isbn": "978-0-00-000000-1"}, "copies": 1}, "INVALID_INPUT", "isbn"),
        ({"wanted": {"title": "X"}, "copies": 1, "suggestionIds": ["not-an-id"]},
         "INVALID_INPUT", "suggestionIds"),
    ]
    for given, expected, named in bad_orders:
        body = gql(http, a["token"], PLACE, input=given)
        assert code(body) == expected, given
        assert named in body["errors"][0]["message"], body
    assert code(gql(http, a["token"], SUGGEST, input={
        "wanted": {"title": "X"}, "patronBarcode": "nobody"})) == "NOT_FOUND"
    receive = {"orderId": order["id"], "location": {"branch": "MAIN"}}
    assert code(gql(http, a["token"], RECEIVE, input={**receive, "barcodes": []})
                ) == "INVALID_INPUT"
    assert code(gql(http, a["token"], RECEIVE, input={**receive, "barcodes": ["x", "y"]})
                ) == "INVALID_INPUT"
    assert code(gql(http, a["token"], RECEIVE, input={**receive, "barcodes": [" "]})
                ) == "INVALID_INPUT"
    assert code(gql(http, a["token"], RECEIVE, input={
        **receive, "barcodes": ["ok-1"], "recordId": "00000000-0000-0000-0000-000000000000"})
                ) == "NOT_FOUND"
    assert code(gql(http, a["token"], CANCEL, input={
        "orderId": "00000000-0000-0000-0000-000000000000"})) == "NOT_FOUND"
    assert code(gql(http, a["token"], CANDIDATES, sort="DEMAND", first=0)) == "INVALID_INPUT"
    assert code(gql(http, a["token"], CANDIDATES, sort="DEMAND", first=5, after="bogus")
                ) == "INVALID_INPUT"
    assert code(gql(http, a["token"], CANDIDATES, sort="DEMAND", first=5,
                    filters={"minDemand": -1})) == "INVALID_INPUT"
    assert scope.last_position() == before  # nothing recorded by any of them
    data(gql(http, a["token"], PLACE, input={"wanted": {"title": "Y"}, "copies": 1,
                                             "idempotencyKey": "k-1"}))
    assert code(gql(http, a["token"], PLACE, input={"wanted": {"title": "Z"}, "copies": 1,
                                                    "idempotencyKey": "k-1"})
                ) == "IDEMPOTENCY_KEY_REUSED"


def test_another_library_reaches_none_of_our_orders_and_scopes_guard_each_call(
    http: TestClient, members: dict[str, Any]
) -> None:
    a, b, office = members["a"], members["b"], members["office"]
    suggestion = data(gql(http, a["token"], SUGGEST, input={"wanted": {"title": "Ours"}}))[
        "suggestPurchase"]["suggestion"]
    order = data(gql(http, a["token"], PLACE, input={
        "wanted": {"title": "Ours"}, "copies": 1,
        "price": {"amount": "12", "currency": "EUR"}}))["placeOrder"]["order"]
    assert data(gql(http, b["token"], ONE_ORDER, id=order["id"]))["purchaseOrder"] is None
    assert order["id"] not in [o["id"] for o in data(gql(http, b["token"], ORDERS))[
        "purchaseOrders"]]
    assert code(gql(http, b["token"], CANCEL, input={"orderId": order["id"]})) == "NOT_FOUND"
    assert code(gql(http, b["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["B-X"], "location": {"branch": "MAIN"}})
                ) == "NOT_FOUND"
    assert code(gql(http, b["token"], PLACE, input={
        "wanted": {"title": "Theirs"}, "copies": 1, "suggestionIds": [suggestion["id"]]})
                ) == "NOT_FOUND"
    assert data(gql(http, a["token"], ONE_ORDER, id=order["id"]))["purchaseOrder"][
        "status"] == "OPEN"
    # b sees a's open order for the title, without its price (not shared)
    seen = data(gql(http, b["token"], HOLDINGS_OF, title="Ours"))["consortiumHoldings"]
    assert seen["openOrders"] == [{"member": {"slug": a["slug"]}, "copies": 1, "price": None}]
    mine = data(gql(http, a["token"], HOLDINGS_OF, title="ours"))["consortiumHoldings"]
    assert mine["openOrders"] == []  # one's own orders are not a warning
    # scopes: a read-only token cannot write; the office places no orders; members set no
    # office settings
    assert code(gql(http, a["reader"], PLACE, input={"wanted": {"title": "R"}, "copies": 1})
                ) == "FORBIDDEN"
    assert code(gql(http, a["reader"], SUGGEST, input={"wanted": {"title": "R"}})
                ) == "FORBIDDEN"
    assert code(gql(http, office, PLACE, input={"wanted": {"title": "R"}, "copies": 1})
                ) == "FORBIDDEN"
    assert code(gql(http, a["token"], SHARING, on=True)) == "FORBIDDEN"
    assert code(gql(http, office, ORDERS)) == "FORBIDDEN"
    assert data(gql(http, a["reader"], CANDIDATES, sort="DEMAND", first=1))
    assert data(gql(http, office, CANDIDATES, sort="DEMAND", first=1))


def test_candidates_rank_by_demand_per_copy_with_holds_and_loans(
    http: TestClient, services: Services, members: dict[str, Any]
) -> None:
    a, b = members["a"], members["b"]
    busy_isbn, quiet_isbn = isbn13(), isbn13()
    busy = holding(http, a["token"], "Busy Title", busy_isbn, ["BUSY-1"])
    quiet = holding(http, b["token"], "Quiet Title", quiet_isbn, ["Q-1", "Q-2"])
    busy_entry = entry_of(services, a["slug"], busy, copies=1)
    quiet_entry = entry_of(services, b["slug"], quiet, copies=2)
    for n in (1, 2, 3):
        _patron(http, a["token"], f"AP-{n}")
    data(gql(http, a["token"], CHECK_OUT, item="BUSY-1", patron="AP-1"))
    data(gql(http, a["token"], HOLD, record=busy, patron="AP-2"))
    data(gql(http, a["token"], HOLD, record=busy, patron="AP-3"))
    data(gql(http, b["token"], SUGGEST, input={"wanted": {"entryId": quiet_entry}}))

    found = candidate(http, b["token"], f"entry:{busy_entry}",
                      lambda c: c is not None and c["holdsWaiting"] == 2 and c["available"] == 0)
    assert found is not None
    assert (found["holdsWaiting"], found["loansLastYear"], found["suggestions"],
            found["copies"], found["available"], found["demand"], found["demandPerCopy"],
            found["interlibraryRequests"], found["heldByMe"]) == (2, 1, 0, 1, 0, 3, 3.0, 0,
                                                                  False)
    low = candidate(http, b["token"], f"entry:{quiet_entry}")
    assert low is not None
    assert (low["demand"], low["copies"], low["demandPerCopy"], low["heldByMe"]) == (
        1, 2, 0.5, True)
    page = data(gql(http, b["token"], CANDIDATES, sort="DEMAND_PER_COPY", first=100))[
        "acquisitionCandidates"]
    ids = [e["node"]["id"] for e in page["edges"]]
    assert ids.index(f"entry:{busy_entry}") < ids.index(f"entry:{quiet_entry}")
    per_copy = [e["node"]["demandPerCopy"] for e in page["edges"]]
    assert per_copy == sorted(per_copy, reverse=True)
    lacking = data(gql(http, b["token"], CANDIDATES, sort="DEMAND", first=100,
                       filters={"heldByMe": False}))["acquisitionCandidates"]
    assert f"entry:{quiet_entry}" not in [e["node"]["id"] for e in lacking["edges"]]
    first = data(gql(http, b["token"], CANDIDATES, sort="DEMAND", first=1))[
        "acquisitionCandidates"]
    assert first["pageInfo"]["hasNextPage"] == (first["totalCount"] > 1)
    rest = data(gql(http, b["token"], CANDIDATES, sort="DEMAND", first=100,
                    after=first["pageInfo"]["endCursor"]))["acquisitionCandidates"]
    walked = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(walked) == len(set(walked)) == first["totalCount"]


def test_receiving_under_a_barcode_an_older_item_has_is_refused_and_a_resumed_receipt_is_not(
    http: TestClient, members: dict[str, Any]
) -> None:
    a = members["a"]
    holding(http, a["token"], "Old Copy", None, ["OLD-1"])
    order = data(gql(http, a["token"], PLACE, input={"wanted": {"title": "New"}, "copies": 2})
                 )["placeOrder"]["order"]
    taken = gql(http, a["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["OLD-1", "NEW-2"], "location": {"branch": "MAIN"}})
    assert code(taken) == "BARCODE_TAKEN"
    assert "OLD-1" in taken["errors"][0]["message"]
    # a first receipt that stopped after adding one copy: the retry goes on from there
    record = holding(http, a["token"], "New", None, ["NEW-1"])
    received = data(gql(http, a["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["NEW-1", "NEW-2"], "location": {"branch": "MAIN"}}
    ))["receiveOrder"]["order"]
    assert (received["status"], received["recordId"]) == ("RECEIVED", record)
    items = data(gql(http, a["token"], RECORD, id=record))["record"]["items"]
    assert sorted(i["barcode"] for i in items) == ["NEW-1", "NEW-2"]


def test_a_receipt_with_bad_item_details_catalogues_nothing_and_errors_name_their_field(
    http: TestClient, services: Services, members: dict[str, Any]
) -> None:
    c = members["c"]
    scope = services.scope(c["slug"])
    order = data(gql(http, c["token"], PLACE, input={
        "wanted": {"title": f"Never Catalogued {secrets.token_hex(3)}"},
        "copies": 1}))["placeOrder"]["order"]
    before = scope.last_position()
    # The copy's material type is refused: before, the order's record had been catalogued
    # already (a new one at each try), and stayed.
    refused = gql(http, c["token"], RECEIVE, input={
        "orderId": order["id"], "barcodes": ["BAD-1"], "location": {"branch": "MAIN"},
        "materialType": "  "})
    assert code(refused) == "INVALID_INPUT"
    assert "materialType" in refused["errors"][0]["message"]
    assert scope.last_position() == before
    long_vendor = gql(http, c["token"], PLACE, input={"wanted": {"title": "X"}, "copies": 1,
                                                      "vendor": "v" * 1001})
    assert code(long_vendor) == "INVALID_INPUT"
    assert long_vendor["errors"][0]["message"].startswith("vendor:")
    long_reason = gql(http, c["token"], CANCEL, input={"orderId": order["id"],
                                                       "reason": "r" * 1001})
    assert code(long_reason) == "INVALID_INPUT"
    assert long_reason["errors"][0]["message"].startswith("reason:")
    assert scope.last_position() == before  # nothing recorded by any of them
