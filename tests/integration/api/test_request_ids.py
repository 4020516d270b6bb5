"""Request ids: echoed in the response, and recorded with the events of the commands the
request ran (`<schema>.commands`), so a log line and an event lead to each other."""

from __future__ import annotations

import time

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from tests.integration.api.test_catalog import ADD_ITEM, CREATE

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _create(http: TestClient, token: str, title: str, request_id: str | None) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    answer = http.post("/graphql", headers=headers, json={
        "query": CREATE, "variables": {"input": {"title": title}}})
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json(), answer.json()
    return answer.json()["data"]["createRecord"]["record"]["id"], answer.headers["x-request-id"]


def _commands(services: Services, slug: str) -> list[tuple[int, int, dict[str, str]]]:
    with psycopg.connect(str(services.settings.database_url)) as conn:
        return [(int(r[0]), int(r[1]), r[2]) for r in conn.execute(
            f"SELECT position, first_position, metadata FROM t_{slug.replace('-', '_')}"  # noqa: S608
            ".commands ORDER BY position")]


def test_a_given_request_id_is_echoed_and_recorded_with_the_commands_events(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    record_id, echoed = _create(http, library["token"], "Bleak House", "req-7f3a.2:b")
    assert echoed == "req-7f3a.2:b"
    recorded = _commands(services, library["slug"])
    ours = [c for c in recorded if c[2].get("request_id") == "req-7f3a.2:b"]
    assert len(ours) == 1
    last, first, metadata = ours[0]
    assert metadata["operation"] == "createRecord"
    events = services.consortium.scope(library["slug"]).catalog.recorder.select_notifications(
        start=first, limit=last - first + 1)
    assert str(events[0].originator_id) == record_id  # the positions are the command's events


@pytest.mark.parametrize("given", [None, "has spaces", "x" * 129, "semi;colon"])
def test_a_missing_or_unfit_request_id_is_replaced_by_a_new_one(
        http: TestClient, services: Services, library: dict[str, str], given: str | None) -> None:
    _, echoed = _create(http, library["token"], f"Hard Times {given!r}", given)
    assert echoed != given
    assert len(echoed) == 32
    assert int(echoed, 16) >= 0
    assert echoed in {c[2].get("request_id") for c in _commands(services, library["slug"])}


def test_a_process_managers_command_records_the_event_that_caused_it(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    record_id, _ = _create(http, library["token"], "Little Dorrit", "req-dorrit")
    answer = http.post("/graphql", headers={"Authorization": f"Bearer {library['token']}"},
                       json={"query": ADD_ITEM, "variables": {"input": {
                           "recordId": record_id, "barcode": "LD-1",
                           "location": {"branch": "MAIN"}}}})
    assert "errors" not in answer.json(), answer.json()
    deadline = time.monotonic() + 30
    caused: list[dict[str, str]] = []
    while not caused and time.monotonic() < deadline:  # the copy is made by a process manager
        caused = [c[2] for c in _commands(services, library["slug"]) if "cause" in c[2]]
        time.sleep(0.2)
    assert caused, "no process manager's command was recorded"
    assert caused[0]["cause"].startswith("pm:")
    assert "request_id" not in caused[0]
