"""Shared metadata end to end: share, use, edit, merge, unlink; across libraries and the
consortium office, with tenant and scope checks."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.test_catalog import (
    CREATE,
    OURS,
    SEARCH,
    code,
    data,
    gql,
    import_bytes,
    titles,
)
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

SHARE = """mutation($id: ID!) { shareRecord(input: {recordId: $id}) {
  sharedRecord { id title contributor mergedInto } record { id title sharedRecordId } } }"""
USE = """mutation($shared: ID!, $record: ID) {
  useSharedRecord(input: {sharedRecordId: $shared, recordId: $record}) {
    record { id title sharedRecordId } } }"""
EDIT_SHARED = """mutation($input: EditSharedRecordInput!) { editSharedRecord(input: $input) {
  sharedRecord { id title year } } }"""
MERGE = """mutation($survivor: ID!, $merged: ID!) {
  mergeSharedRecords(input: {survivorId: $survivor, mergedId: $merged}) {
    sharedRecord { id title } } }"""
UNLINK = """mutation($id: ID!) { unlinkSharedRecord(input: {recordId: $id}) {
  record { id title sharedRecordId } } }"""
RECORD = "query($id: ID!) { record(id: $id) { id title year sharedRecordId } }"
SHARED = "query($id: ID!) { sharedRecord(id: $id) { id title contributor mergedInto } }"


@pytest.fixture
def libraries(http: TestClient, admin_headers: dict[str, str],
              unique_slug: str) -> dict[str, str]:
    """Three member libraries' tokens (a, b, c) and the office's."""
    tokens = {"office": admin_headers["Authorization"].removeprefix("Bearer ")}
    for name in ("a", "b", "c"):
        slug = f"{unique_slug}-{name}"
        http.post("/admin/tenants", json={"slug": slug, "name": f"Library {name}"},
                  headers=admin_headers)
        client = http.post(f"/admin/tenants/{slug}/clients",
                           json={"name": "desk", "scopes": ["library:read", "library:write"]},
                           headers=admin_headers).json()
        tokens[name] = token_for(http, client["client_id"], client["client_secret"])
    return tokens


def _create(http: TestClient, token: str, title: str, year: str = "2001") -> str:
    created = data(gql(http, token, CREATE, input={"title": title, "year": year}))
    record_id: str = created["createRecord"]["record"]["id"]
    return record_id


def _record(http: TestClient, token: str, record_id: str) -> dict[str, Any]:
    found: dict[str, Any] = data(gql(http, token, RECORD, id=record_id))["record"]
    return found


def test_a_shared_record_is_used_edited_and_followed_by_every_linked_library(
    http: TestClient, libraries: dict[str, str]
) -> None:
    a, b, office = libraries["a"], libraries["b"], libraries["office"]
    source = _create(http, a, "Moby Dick")
    shared = data(gql(http, a, SHARE, id=source))["shareRecord"]
    shared_id = shared["sharedRecord"]["id"]
    assert shared["sharedRecord"]["contributor"].endswith("-a")
    assert shared["record"] == {"id": source, "title": "Moby Dick", "sharedRecordId": shared_id}
    again = data(gql(http, a, SHARE, id=source))["shareRecord"]  # sharing twice: the same one
    assert again["sharedRecord"]["id"] == shared_id

    holding = data(gql(http, b, USE, shared=shared_id))["useSharedRecord"]["record"]
    assert holding["title"] == "Moby Dick"
    assert holding["sharedRecordId"] == shared_id
    assert titles(http, b, "moby") == ["Moby Dick"]

    edited = data(gql(http, a, EDIT_SHARED, input={"id": shared_id, "title": "Moby-Dick",
                                                   "year": "1851"}))
    assert edited["editSharedRecord"]["sharedRecord"] == {"id": shared_id, "title": "Moby-Dick",
                                                          "year": "1851"}
    assert _record(http, b, holding["id"])["title"] == "Moby-Dick"  # every linked member
    assert _record(http, a, source)["year"] == "1851"
    by_office = gql(http, office, EDIT_SHARED, input={"id": shared_id, "title": "Moby Dick; "
                                                      "or, The Whale"})
    assert data(by_office)["editSharedRecord"]["sharedRecord"]["title"] == (
        "Moby Dick; or, The Whale")
    assert titles(http, b, "whale") == ["Moby Dick; or, The Whale"]

    assert code(gql(http, b, EDIT_SHARED, input={"id": shared_id, "title": "Mine"})) == (
        "FORBIDDEN")
    linked_edit = gql(http, b, """mutation($input: EditRecordInput!) { editRecord(
        input: $input) { record { id } } }""", input={"id": holding["id"], "title": "Mine"})
    assert code(linked_edit) == "RECORD_LINKED"

    unlinked = data(gql(http, b, UNLINK, id=holding["id"]))["unlinkSharedRecord"]["record"]
    assert unlinked == {"id": holding["id"], "title": "Moby Dick; or, The Whale",
                        "sharedRecordId": None}
    data(gql(http, a, EDIT_SHARED, input={"id": shared_id, "title": "Moby Dick (1851)"}))
    assert _record(http, b, holding["id"])["title"] == "Moby Dick; or, The Whale"  # a copy now
    assert code(gql(http, b, UNLINK, id=holding["id"])) == "RECORD_NOT_LINKED"


def test_merging_moves_links_to_the_survivor(http: TestClient,
                                             libraries: dict[str, str]) -> None:
    a, b, c, office = libraries["a"], libraries["b"], libraries["c"], libraries["office"]
    survivor = data(gql(http, a, SHARE, id=_create(http, a, "War and Peace")))
    survivor_id = survivor["shareRecord"]["sharedRecord"]["id"]
    duplicate = data(gql(http, c, SHARE, id=_create(http, c, "War & Peace")))
    duplicate_id = duplicate["shareRecord"]["sharedRecord"]["id"]
    own = _create(http, b, "War and peace / Tolstoy")
    linked = data(gql(http, b, USE, shared=duplicate_id, record=own))["useSharedRecord"]
    assert linked["record"]["title"] == "War & Peace"

    assert code(gql(http, a, MERGE, survivor=survivor_id, merged=duplicate_id)) == "FORBIDDEN"
    assert code(gql(http, office, MERGE, survivor=survivor_id, merged=survivor_id)) == (
        "INVALID_INPUT")
    merged = data(gql(http, office, MERGE, survivor=survivor_id, merged=duplicate_id))
    assert merged["mergeSharedRecords"]["sharedRecord"]["title"] == "War and Peace"

    after = _record(http, b, own)
    assert after["title"] == "War and Peace"
    assert after["sharedRecordId"] == survivor_id
    assert _record(http, c, duplicate["shareRecord"]["record"]["id"])["sharedRecordId"] == (
        survivor_id)  # the contributor of the duplicate follows the survivor too
    assert data(gql(http, b, SHARED, id=duplicate_id))["sharedRecord"]["mergedInto"] == (
        survivor_id)
    listed = data(gql(http, b, """{ sharedRecords(query: "war", first: 10) {
        edges { node { id } } } }"""))["sharedRecords"]["edges"]
    assert [e["node"]["id"] for e in listed] == [survivor_id]
    stale = gql(http, c, EDIT_SHARED, input={"id": duplicate_id, "title": "Late"})
    assert code(stale) == "SHARED_RECORD_MERGED"
    data(gql(http, a, EDIT_SHARED, input={"id": survivor_id, "title": "War and Peace (1869)"}))
    assert _record(http, b, own)["title"] == "War and Peace (1869)"


def test_sharing_respects_tenants_and_scopes(http: TestClient, libraries: dict[str, str],
                                             admin_headers: dict[str, str]) -> None:
    a, b = libraries["a"], libraries["b"]
    record = _create(http, a, "Private notes")
    assert code(gql(http, b, SHARE, id=record)) == "NOT_FOUND"  # not b's record
    shared_id = data(gql(http, a, SHARE, id=record))["shareRecord"]["sharedRecord"]["id"]
    assert code(gql(http, b, UNLINK, id=record)) == "NOT_FOUND"
    assert code(gql(http, b, USE, shared=shared_id, record=record)) == "NOT_FOUND"
    assert code(gql(http, b, USE, shared="00000000-0000-0000-0000-000000000000")) == (
        "NOT_FOUND")
    assert code(gql(http, b, USE, shared="not-an-id")) == "INVALID_INPUT"
    assert code(gql(http, libraries["office"], SHARE, id=record)) == "FORBIDDEN"
    # shared records are the consortium's: every member reads them
    assert data(gql(http, b, SHARED, id=shared_id))["sharedRecord"]["title"] == "Private notes"
    assert data(gql(http, b, SEARCH, q="Private"))["records"]["edges"] == []  # not b's own
    tenant = data(gql(http, a, "{ viewer { tenant { slug } } }"))["viewer"]["tenant"]["slug"]
    reader = http.post(f"/admin/tenants/{tenant}/clients",
                       json={"name": "reader", "scopes": ["library:read"]},
                       headers=admin_headers).json()
    read_only = token_for(http, reader["client_id"], reader["client_secret"])
    assert code(gql(http, read_only, SHARE, id=record)) == "FORBIDDEN"
    assert code(gql(http, read_only, EDIT_SHARED, input={"id": shared_id, "title": "x"})) == (
        "FORBIDDEN")


def test_sharing_keeps_holdings_and_local_fields_in_the_library(
    http: TestClient, libraries: dict[str, str]
) -> None:
    token = libraries["a"]
    import_bytes(http, token, (OURS / "cjk_vi.xml").read_bytes())
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:  # the import is asynchronous
        found = data(gql(http, token, SEARCH, q="hong lou meng"))["records"]["edges"]
    record_id = found[0]["node"]["id"]
    shared = data(gql(http, token, """mutation($id: ID!) { shareRecord(input: {recordId: $id})
        { sharedRecord { id marcxml } strippedFields } }""", id=record_id))["shareRecord"]
    assert shared["strippedFields"] == ["952"]
    assert "Hong lou meng" in shared["sharedRecord"]["marcxml"]  # the description travels
    assert 'tag="952"' not in shared["sharedRecord"]["marcxml"]  # the holdings do not
    assert "CN-0001" not in shared["sharedRecord"]["marcxml"]
    seen_by_b = data(gql(http, libraries["b"], "query($id: ID!) { sharedRecord(id: $id) "
                         "{ marcxml } }", id=shared["sharedRecord"]["id"]))["sharedRecord"]
    assert "CN-0001" not in seen_by_b["marcxml"]
