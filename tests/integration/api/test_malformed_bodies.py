"""Bodies no client should send still get a clear 4xx naming the problem, never a 500 or
Python internals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
DEEP = b"[" * 20_000 + b"]" * 20_000


def _post(http: TestClient, path: str, body: bytes, token: str,
          content_type: str = "application/json") -> tuple[int, str]:
    response = http.post(path, content=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type})
    return response.status_code, response.text


@pytest.mark.parametrize("body", [
    b'{"query": "{ viewer { clientId } }", "x": "\xff\xfe"}',  # not UTF-8
    b'{"query": ' + DEEP + b"}",  # nested 20,000 deep
    b'{"query": "{ viewer ',  # cut short
])
def test_graphql_bodies_that_are_not_json_are_refused_clearly(
        http: TestClient, library: dict[str, str], body: bytes) -> None:
    status, text = _post(http, "/graphql", body, library["token"])
    assert status == 400, text
    assert "Traceback" not in text
    assert "RecursionError" not in text
    assert "codec" not in text


@pytest.mark.parametrize("body", [
    b'{"slug": "x\xff", "name": "n"}',
    b'{"slug": ' + DEEP + b"}",
])
def test_admin_bodies_that_are_not_json_are_refused_clearly(
        http: TestClient, admin_headers: dict[str, str], body: bytes) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    status, text = _post(http, "/admin/tenants", body, token)
    assert status in (400, 422), text
    assert "Traceback" not in text
    assert "codec" not in text
