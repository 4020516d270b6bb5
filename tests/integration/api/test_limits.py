"""What one request and one library may ask, through HTTP: refusals with their codes, and
nothing recorded by a refused request."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from api.graphql.limits import MAX_ALIASES, TenantShare
from tests.integration.api.test_catalog import code, data, gql
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
COUNT = "{ records(first: 100) { edges { node { id } } } }"


def test_a_request_with_too_many_aliases_is_refused_as_too_complex(
        http: TestClient, library: dict[str, str]) -> None:
    aliases = " ".join(f'a{i}: records(query: "x") {{ edges {{ node {{ id }} }} }}'
                       for i in range(MAX_ALIASES + 1))
    assert code(gql(http, library["token"], f"{{ {aliases} }}")) == "QUERY_TOO_COMPLEX"


def test_two_mutations_in_one_request_record_nothing(
        http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    both = gql(http, token, 'mutation { a: createRecord(input: {title: "A"}) { record { id } } '
                            'b: createRecord(input: {title: "B"}) { record { id } } }')
    assert code(both) == "QUERY_TOO_COMPLEX"
    assert data(gql(http, token, COUNT))["records"]["edges"] == []


@pytest.mark.parametrize("title", ["nul\u0000byte", "bell\u0007", "lone \ud800 surrogate"])
def test_text_the_service_cannot_keep_is_refused_and_nothing_recorded(
        http: TestClient, library: dict[str, str], title: str) -> None:
    token = library["token"]
    body = json.dumps({"query": "mutation($t: String!) { createRecord(input: {title: $t}) "
                                "{ record { id } } }", "variables": {"t": title}})
    answer = http.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"}).json()
    assert code(answer) == "INVALID_INPUT"
    assert "$t" in answer["errors"][0]["message"]
    assert data(gql(http, token, COUNT))["records"]["edges"] == []


@pytest.mark.parametrize("query", ["a\u0000b", "w " * 10_000, "x" * 501])
def test_searches_the_service_cannot_answer_quickly_are_invalid_input(
        http: TestClient, library: dict[str, str], query: str) -> None:
    answer = gql(http, library["token"], "query($q: String) { records(query: $q) "
                 "{ edges { node { id } } } }", q=query)
    assert code(answer) == "INVALID_INPUT"
    assert "Traceback" not in answer["errors"][0]["message"]


def test_a_library_over_its_share_is_refused_while_another_is_served(
        http: TestClient, services: Services, library: dict[str, str],
        admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    other = library["slug"] + "-o"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients", json={
        "name": "desk", "scopes": ["library:read"]}, headers=admin_headers).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    monkeypatch.setattr(services, "share", TenantShare(concurrency=4, rate=0.01, burst=2))
    ours = library["token"]
    data(gql(http, ours, COUNT))
    data(gql(http, ours, COUNT))
    refused = gql(http, ours, COUNT)
    assert code(refused) == "RATE_LIMITED"
    assert refused["errors"][0]["extensions"]["retryAfter"] > 0
    data(gql(http, theirs, COUNT))  # the other library's share is its own
