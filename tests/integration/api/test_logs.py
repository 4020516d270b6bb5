"""Logs keep nothing erasure must remove: expected failures are one line with the code, the
operation and the library, never the query, its variables or a traceback; query strings stay
out of the access log."""

from __future__ import annotations

import logging
import secrets

import pytest
from fastapi.testclient import TestClient

from api.app import QueryStringsOut
from tests.integration.api.test_catalog import code, data, gql
from tests.integration.api.test_circulation import REGISTER

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_a_patrons_name_reaches_no_log_line_through_errors_and_erasure(
        http: TestClient, library: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    token = library["token"]
    name = f"Zelda Quintessa {secrets.token_hex(4)}"
    patron = {"barcode": f"LOG-{secrets.token_hex(3)}", "name": name,
              "email": "zelda@example.org", "patronGroup": "public", "expiresOn": "2031-01-01"}
    caplog.set_level(logging.DEBUG)
    data(gql(http, token, REGISTER, input=patron))
    assert code(gql(http, token, REGISTER, input=patron)) == "PATRON_BARCODE_TAKEN"
    assert code(gql(http, token, REGISTER, input={**patron, "expiresOn": "soon"})) == (
        "INVALID_INPUT")
    assert code(gql(http, token, f'mutation {{ registerPatron(input: {{barcode: "X", name: '
                                 f'"{name}", patronGroup: "public", expiresOn: "2031-01-01", '
                                 f'email: "not an address"}}) {{ patron {{ id }} }} }}')) == (
        "INVALID_INPUT")
    data(gql(http, token, """mutation($b: String!) { erasePatron(input: {barcode: $b}) {
        erased } }""", b=patron["barcode"]))
    logged = [record.getMessage() + (logging.Formatter().formatException(record.exc_info)
                                     if record.exc_info else "")
              for record in caplog.records]
    assert any("PATRON_BARCODE_TAKEN" in line for line in logged)  # the failure is logged
    assert not [line for line in logged if name in line or "zelda@example.org" in line]


def test_a_query_string_is_kept_out_of_the_access_log() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/graphql?token=s3cret&q=x", "1.1", 200),
                               None)
    assert QueryStringsOut().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/graphql?…" in record.getMessage()
