"""GraphQL viewer and its error conventions; health and readiness; export."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from api.rest.metrics import LAG_CACHE_S
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_viewer_shows_own_tenant_and_scopes(http: TestClient, library: dict[str, str]) -> None:
    response = http.post("/graphql", json={"query": "{ viewer { tenant { slug name status } "
                                                    "scopes } }"},
                         headers={"Authorization": f"Bearer {library['token']}"})
    assert response.json() == {"data": {"viewer": {
        "tenant": {"slug": library["slug"], "name": "Test Library", "status": "active"},
        "scopes": ["library:read", "library:write"]}}}


def test_viewer_without_token_is_unauthenticated(http: TestClient) -> None:
    body = http.post("/graphql", json={"query": "{ viewer { scopes } }"}).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_invalid_query_has_a_code(http: TestClient, library: dict[str, str]) -> None:
    body = http.post("/graphql", json={"query": "{ viewer { nonsense } }"},
                     headers={"Authorization": f"Bearer {library['token']}"}).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "nonsense" in body["errors"][0]["message"]


def test_health_and_readiness(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "nats": "ok"}
    assert http.get("/docs").status_code == 200


def test_export_has_every_event_of_the_tenant_only(services: Services,
                                                   library: dict[str, str]) -> None:
    lines = [json.loads(line) for line in services.consortium.export(library["slug"])]
    assert lines[0]["type"] == "tenant"
    assert lines[0]["slug"] == library["slug"]
    events = lines[1:]
    assert [e["topic"] for e in events] == ["tenants.client:ApiClient.Created"]
    assert events[0]["state"]["client_id"] == library["client_id"]
    assert "client_secret" not in json.dumps(events)


def test_metrics_count_requests_and_show_pipeline(http: TestClient, services: Services,
                                                  library: dict[str, str]) -> None:
    http.get("/healthz")
    http.post("/graphql", json={"query": "{ viewer { clientId } }"},
              headers={"Authorization": f"Bearer {library['token']}"})
    monitor = services.consortium.create_client(None, "monitor", ["metrics"])
    token = token_for(http, monitor.client.client_id, monitor.secret)
    text = http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert ('commonshelf_graphql_operations_total{field="viewer",kind="query",outcome="ok"}'
            in text)
    assert 'commonshelf_graphql_operation_seconds_count{field="viewer",kind="query"}' in text
    assert 'commonshelf_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "commonshelf_request_seconds_bucket" in text
    lag = f'commonshelf_projection_lag_events{{projection="activity",tenant="{library["slug"]}"}}'
    deadline = time.monotonic() + LAG_CACHE_S + 2  # a scrape may show figures that old
    while lag not in text and time.monotonic() < deadline:
        time.sleep(0.5)
        text = http.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert lag in text
