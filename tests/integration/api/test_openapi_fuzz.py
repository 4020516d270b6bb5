"""A bounded schemathesis run over the service's own /openapi.json: every REST operation, with
an office token on /admin and a library's token elsewhere, gets generated (valid and invalid)
input; no answer is a 5xx, invalid input is refused (4xx), and every answer's status, content
type and body are the ones the document says (issue 12, findings 9 and 11)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.fuzz]
EXAMPLES = 20  # per operation: the whole run stays near a minute on two cores
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def openapi(http: TestClient) -> BaseSchema:
    """The service's OpenAPI document, as served."""
    return schemathesis.openapi.from_dict(http.get("/openapi.json").json())


def fuzzed_library(http: TestClient, admin_headers: dict[str, str]) -> tuple[str, str]:
    """A new library's slug and a token of it holding every library scope."""
    slug = f"fuzz-{secrets.token_hex(4)}"
    http.post("/admin/tenants", json={"slug": slug, "name": "Fuzz Library"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{slug}/clients", headers=admin_headers, json={
        "name": "fuzz", "scopes": ["library:read", "library:write", "inventory:upload",
                                   "ill"]}).json()
    return slug, token_for(http, client["client_id"], client["client_secret"])


@pytest.fixture(scope="module")
def fuzz_tokens(http: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    """An office token and a token of a library holding every library scope."""
    return {"office": admin_headers["Authorization"],
            "library": f"Bearer {fuzzed_library(http, admin_headers)[1]}"}


@schemathesis.serializer("application/x-ndjson")
def ndjson(_: Any, value: Any) -> dict[str, Any]:
    """A scan batch body: a list as one JSON document a line."""
    if isinstance(value, bytes):
        return {"data": value}
    lines = value if isinstance(value, list) else [value]
    return {"data": "".join(json.dumps(line) + "\n" for line in lines).encode()}


def send(http: TestClient, request: dict[str, Any]) -> httpx.Response:
    """Sends a schemathesis request (requests' keywords) through the test client."""
    body: dict[str, Any] = {}
    if "json" in request:
        body["json"] = request["json"]
    elif isinstance(request.get("data"), bytes | str):
        body["content"] = request["data"]
    elif request.get("data") is not None:
        body["data"] = request["data"]
    if request.get("files"):
        body["files"] = request["files"]
    if request.get("cookies"):
        http.cookies.clear()  # the service reads no cookie; sent on the client, not per request
        http.cookies.update(request["cookies"])
    try:
        return http.request(request["method"], request["url"], headers=request["headers"],
                            params=request.get("params"), **body)
    finally:
        http.cookies.clear()


def fuzz(http: TestClient, operation: Any, mode: GenerationMode,
         tokens: dict[str, str]) -> int:
    """Runs EXAMPLES generated requests of one operation; how many were sent."""
    token = tokens["office" if operation.path.startswith("/admin") else "library"]
    sent = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        request = case.as_transport_kwargs(base_url="http://testserver",
                                           headers={"Authorization": token})
        sent.append(case)
        case.validate_response(send(http, request), checks=CHECKS + (
            [negative_data_rejection] if mode == GenerationMode.NEGATIVE else []))

    run()
    return len(sent)


def _described(failure: BaseException) -> str:
    if isinstance(failure, BaseExceptionGroup):
        return "; ".join(_described(e) for e in failure.exceptions)
    return str(failure).replace("\n\n", "\n")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_rest_answers_as_documented(http: TestClient, openapi: BaseSchema,
                                    fuzz_tokens: dict[str, str], mode: GenerationMode) -> None:
    counts, failures = {}, []
    for result in openapi.get_all_operations():
        operation = result.ok()
        if mode == GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
            continue  # a path alone has no invalid form worth the search for one
        try:
            counts[operation.label] = fuzz(http, operation, mode, fuzz_tokens)
        except Unsatisfiable:  # no invalid input exists (nothing to send but the path)
            counts[operation.label] = 0
        except (AssertionError, BaseExceptionGroup) as failure:  # every operation's
            counts[operation.label] = 1
            failures.append(f"{operation.label}: {_described(failure)}")
    print(f"schemathesis ({mode}): {sum(counts.values())} requests over "
          f"{len(counts)} operations")
    assert not failures, "\n\n".join(failures)
    assert len(counts) > (20 if mode == GenerationMode.POSITIVE else 5)
    assert sum(counts.values()) > 5 * len(counts)
