"""/metrics: only for the office's monitoring, bounded labels whatever clients send, and
lag figures that do not cost a query per tenant on every scrape."""

from __future__ import annotations

import secrets

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

import api.app
from api.cli import _serve_metrics, parser
from api.dependencies import Services
from api.rest.metrics import PipelineCollector
from tenants.errors import ClientScopeInvalidError
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture(scope="module")
def metrics_headers(http: TestClient, services: Services) -> dict[str, str]:
    """A token of an office client holding only the metrics scope (Prometheus's)."""
    issued = services.consortium.create_client(None, "prometheus", ["metrics"])
    return {"Authorization": f"Bearer {token_for(http, issued.client.client_id, issued.secret)}"}


def test_metrics_answer_only_an_office_token_with_the_metrics_scope(
        http: TestClient, library: dict[str, str], admin_headers: dict[str, str],
        metrics_headers: dict[str, str]) -> None:
    assert http.get("/metrics").status_code == 401
    library_token = {"Authorization": f"Bearer {library['token']}"}
    assert http.get("/metrics", headers=library_token).status_code == 403
    refused = http.get("/metrics", headers=admin_headers)  # consortium:admin alone is not it
    assert refused.status_code == 403
    assert "metrics" in refused.json()["detail"]
    answer = http.get("/metrics", headers=metrics_headers)
    assert answer.status_code == 200
    assert "commonshelf_requests_total" in answer.text


def _operation_labels(text: str) -> set[str]:
    return {line.split("}")[0] for line in text.splitlines()
            if line.startswith("commonshelf_graphql_operations_total{")}


def test_names_clients_send_never_become_labels(
        http: TestClient, library: dict[str, str], metrics_headers: dict[str, str]) -> None:
    bearer = {"Authorization": f"Bearer {library['token']}"}
    http.post("/graphql", json={"query": "{ viewer { clientId } }"}, headers=bearer)
    before = _operation_labels(http.get("/metrics", headers=metrics_headers).text)
    invented = [f"f{secrets.token_hex(6)}" for _ in range(5)]
    for name in invented:  # unauthenticated, then authenticated, with fields that do not exist
        http.post("/graphql", json={"query": f"{{ {name} {name}x: viewer {{ clientId }} }}"})
        http.post("/graphql", json={"query": f"mutation {{ {name} }}"}, headers=bearer)
    text = http.get("/metrics", headers=metrics_headers).text
    for name in invented:
        assert name not in text
    after = _operation_labels(text)
    assert len(after - before) <= 2  # unauthenticated, unknown: not one per request
    assert 'commonshelf_graphql_operations_total{field="unauthenticated",kind="query"' in text
    assert 'commonshelf_graphql_operations_total{field="unknown",kind="mutation"' in text
    assert 'commonshelf_graphql_operations_total{field="viewer",kind="query",outcome="ok"}' in (
        text)


def test_scrapes_reuse_recent_lag_figures(http: TestClient, metrics_headers: dict[str, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    original = api.app.projection_status

    def counted(services: Services) -> list[dict[str, object]]:
        reads.append(1)
        return original(services)

    monkeypatch.setattr(api.app, "projection_status", counted)
    for _ in range(5):
        text = http.get("/metrics", headers=metrics_headers).text
        assert "commonshelf_projection_lag_events" in text
    assert len(reads) <= 1  # five scrapes, at most one read of the logs


def test_the_pipeline_collector_reads_again_only_when_its_figures_are_old() -> None:
    reads: list[int] = []

    def status() -> list[dict[str, object]]:
        reads.append(1)
        return [{"name": "activity", "tenant": "t", "position": len(reads), "lag": 0}]

    fresh = PipelineCollector(status, max_age_s=60)
    for _ in range(3):
        list(fresh.collect())
    assert len(reads) == 1
    always = PipelineCollector(status, max_age_s=0)
    samples = [s for _ in range(2) for family in always.collect() for s in family.samples
               if s.name == "commonshelf_projection_position"]
    assert [s.value for s in samples] == [2.0, 3.0]


def test_figures_that_cannot_be_read_leave_the_last_ones_and_the_rest_served() -> None:
    # A closed pool (PostgreSQL gone, or services shut down) made every scrape, and with it the
    # process's request and operation counters, fail.
    answers: list[list[dict[str, object]] | Exception] = [
        [{"name": "activity", "tenant": "t", "position": 7, "lag": 1}],
        psycopg.OperationalError("the connection pool is closed")]

    def status() -> list[dict[str, object]]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    collector = PipelineCollector(status, max_age_s=0)
    for _ in range(2):
        positions = [s.value for family in collector.collect() for s in family.samples
                     if s.name == "commonshelf_projection_position"]
        assert positions == [7.0]
    assert answers == []


def test_a_metrics_port_serves_this_host_only_without_a_token(http: TestClient) -> None:
    args = parser().parse_args(["serve", "--metrics-port", "0"])
    assert args.metrics_host == "127.0.0.1"
    url = _serve_metrics(args.metrics_host, args.metrics_port)
    assert url.startswith("http://127.0.0.1:")
    answer = httpx.get(url, timeout=5)
    assert answer.status_code == 200
    assert "commonshelf_requests_total" in answer.text
    assert "server" not in answer.headers


def test_the_office_may_hold_the_metrics_scope_and_libraries_may_not(
        services: Services, library: dict[str, str]) -> None:
    office = services.consortium.create_client(None, "monitoring", ["metrics"])
    assert office.client.scopes == ["metrics"]
    with pytest.raises(ClientScopeInvalidError, match="metrics"):
        services.consortium.create_client(library["slug"], "sneaky", ["metrics"])
