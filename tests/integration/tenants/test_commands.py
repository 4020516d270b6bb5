"""The one command pipeline end to end: idempotency keys bound to their operation and input,
for catalog and sharing mutations as for circulation's; racing retries record once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from tests.integration.api.test_catalog import code, data, gql
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

CREATE = """mutation($title: String!, $key: String) {
  createRecord(input: {title: $title, idempotencyKey: $key}) { record { id title } } }"""
EDIT = """mutation($id: ID!, $title: String, $key: String) {
  editRecord(input: {id: $id, title: $title, idempotencyKey: $key}) { record { id title } } }"""
ADD_ITEM = """mutation($record: ID!, $barcode: String!, $key: String) {
  addItem(input: {recordId: $record, barcode: $barcode, location: {branch: "main"},
                  idempotencyKey: $key}) { item { id barcode } } }"""
SHARE = """mutation($record: ID!, $key: String) {
  shareRecord(input: {recordId: $record, idempotencyKey: $key}) {
    sharedRecord { id } record { id sharedRecordId } } }"""
COUNT = "{ records(first: 100) { edges { node { id title } } } }"


def _events(services: Services, slug: str) -> int:
    return services.scope(slug).last_position()


def test_a_retry_with_the_same_key_and_input_answers_as_the_first_and_records_nothing(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token, slug = library["token"], library["slug"]
    first = data(gql(http, token, CREATE, title="Moby-Dick", key="c-1"))
    recorded = _events(services, slug)
    again = data(gql(http, token, CREATE, title="Moby-Dick", key="c-1"))
    assert again == first
    assert _events(services, slug) == recorded
    titles = [e["node"]["title"] for e in data(gql(http, token, COUNT))["records"]["edges"]]
    assert titles == ["Moby-Dick"]

    record = first["createRecord"]["record"]["id"]
    item = data(gql(http, token, ADD_ITEM, record=record, barcode="B-1", key="i-1"))
    assert data(gql(http, token, ADD_ITEM, record=record, barcode="B-1", key="i-1")) == item


def test_a_key_reused_with_another_input_or_operation_is_refused_naming_the_first(
        http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    data(gql(http, token, CREATE, title="Moby-Dick", key="c-2"))
    other_input = gql(http, token, CREATE, title="Typee", key="c-2")
    assert code(other_input) == "IDEMPOTENCY_KEY_REUSED"
    assert "createRecord" in other_input["errors"][0]["message"]
    assert "another input" in other_input["errors"][0]["message"]

    record = data(gql(http, token, CREATE, title="Omoo"))["createRecord"]["record"]["id"]
    other_operation = gql(http, token, EDIT, id=record, title="Omoo!", key="c-2")
    assert code(other_operation) == "IDEMPOTENCY_KEY_REUSED"
    assert "was used for createRecord" in other_operation["errors"][0]["message"]
    titles = {e["node"]["title"] for e in data(gql(http, token, COUNT))["records"]["edges"]}
    assert titles == {"Moby-Dick", "Omoo"}  # nothing recorded by the refused calls


def test_a_command_that_changes_nothing_still_binds_its_key(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token, slug = library["token"], library["slug"]
    record = data(gql(http, token, CREATE, title="Mardi"))["createRecord"]["record"]["id"]
    recorded = _events(services, slug)
    same = data(gql(http, token, EDIT, id=record, title="Mardi", key="e-1"))
    assert same["editRecord"]["record"]["title"] == "Mardi"
    assert _events(services, slug) == recorded  # nothing changed, nothing recorded
    assert code(gql(http, token, EDIT, id=record, title="Redburn", key="e-1")) == (
        "IDEMPOTENCY_KEY_REUSED")


def test_retries_racing_with_one_key_record_one_record(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    token = library["token"]
    answers: list[dict[str, Any]] = []

    def send() -> None:
        answers.append(gql(http, token, CREATE, title="Pierre", key="race-1"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {data(a)["createRecord"]["record"]["id"] for a in answers}
    assert len(ids) == 1
    titles = [e["node"]["title"] for e in data(gql(http, token, COUNT))["records"]["edges"]]
    assert titles == ["Pierre"]


def test_sharing_takes_a_key_and_one_librarys_key_is_not_anothers(
        http: TestClient, services: Services, library: dict[str, str],
        admin_headers: dict[str, str]) -> None:
    token = library["token"]
    record = data(gql(http, token, CREATE, title="Israel Potter"))["createRecord"]["record"]["id"]
    shared = data(gql(http, token, SHARE, record=record, key="s-1"))["shareRecord"]
    assert data(gql(http, token, SHARE, record=record, key="s-1"))["shareRecord"] == shared
    assert shared["record"]["sharedRecordId"] == shared["sharedRecord"]["id"]

    other = http.post("/admin/tenants", json={"slug": library["slug"] + "-b", "name": "B"},
                      headers=admin_headers)
    assert other.status_code == 201, other.text
    client = http.post(f"/admin/tenants/{library['slug']}-b/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin_headers).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    # the same key in another library is that library's own: it creates their record
    created = data(gql(http, theirs, CREATE, title="Israel Potter", key="s-1"))
    assert created["createRecord"]["record"]["id"] != record
    assert [e["node"]["title"] for e in data(gql(http, theirs, COUNT))["records"]["edges"]] == [
        "Israel Potter"]


@pytest.mark.parametrize("key", ["", "x" * 201, "bad\u0000key", "line\nbreak"])
def test_a_malformed_key_is_invalid_input(http: TestClient, library: dict[str, str],
                                          key: str) -> None:
    assert code(gql(http, library["token"], CREATE, title="Typee", key=key)) == "INVALID_INPUT"
