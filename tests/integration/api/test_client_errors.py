"""GraphQL errors a client developer can act on: the field as sent, malformed ids, which
item holds a tag."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.test_catalog import ADD_ITEM, CREATE, code, data, gql

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_invalid_input_names_the_field_as_the_client_sent_it(
        http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    policy = gql(http, token, """mutation { setLoanPolicy(input: {maxRenewals: -1}) {
        policy { loanDays } } }""")
    assert code(policy) == "INVALID_INPUT"
    assert policy["errors"][0]["message"].startswith("maxRenewals:")
    record = data(gql(http, token, CREATE, input={"title": "Fields"}))["createRecord"]["record"]
    item = gql(http, token, ADD_ITEM, input={
        "recordId": record["id"], "barcode": "F-1", "callNumberScheme": "udc",
        "location": {"branch": "MAIN"}})
    assert code(item) == "INVALID_INPUT"
    assert item["errors"][0]["message"].startswith("callNumberScheme 'udc'")


def test_record_with_a_malformed_id_is_invalid_input(http: TestClient,
                                                     library: dict[str, str]) -> None:
    answer = gql(http, library["token"], "query($id: ID!) { record(id: $id) { id } }",
                 id="not-a-uuid")
    assert code(answer) == "INVALID_INPUT"
    assert "'not-a-uuid' is not a record id" in answer["errors"][0]["message"]
    missing = gql(http, library["token"], "query($id: ID!) { record(id: $id) { id } }",
                  id="00000000-0000-4000-8000-000000000000")
    assert data(missing) == {"record": None}  # well-formed but unknown: still null


def test_epc_taken_names_the_item_holding_the_tag(http: TestClient,
                                                  library: dict[str, str]) -> None:
    token = library["token"]
    record = data(gql(http, token, CREATE, input={"title": "Tags"}))["createRecord"]["record"]
    data(gql(http, token, ADD_ITEM, input={"recordId": record["id"], "barcode": "T-HOLDS",
                                           "epc": "A1B2C3D4E5", "location": {"branch": "MAIN"}}))
    again = gql(http, token, ADD_ITEM, input={"recordId": record["id"], "barcode": "T-NEW",
                                              "epc": "a1b2c3d4e5", "location": {"branch": "MAIN"}})
    assert code(again) == "EPC_TAKEN"
    assert "'T-HOLDS'" in again["errors"][0]["message"]
