"""A variable the schema refuses (unknown field, missing field, wrong type, a number past
what its type holds) is the client's input: INVALID_INPUT naming the variable and where, never
`internal error` (found by the GraphQL fuzz run; issue 12, finding 9)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.test_catalog import CREATE, gql

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.mark.parametrize(("value", "named"), [
    ({"bogus": 1}, "'title'"), ({"title": 10**30}, ".title"), ({"title": ["a"]}, ".title"),
    ({"title": "T", "year": 2**40}, ".year"), ("not an object", "RecordInput"),
])
def test_a_refused_variable_is_invalid_input_naming_it(
        http: TestClient, library: dict[str, str], value: Any, named: str) -> None:
    answer = gql(http, library["token"], CREATE, input=value)
    assert answer["data"] is None
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"INVALID_INPUT"}
    assert all("$input" in e["message"] for e in answer["errors"])
    assert any(named in e["message"] for e in answer["errors"])
