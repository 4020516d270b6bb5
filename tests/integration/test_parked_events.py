"""Poison events on real PostgreSQL and NATS: parked, passed or held, and resolved through
`commonshelf projections parked | retry | skip` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from prometheus_client import REGISTRY

from infra.relay import Relay
from projections.activity.projection import Activity
from projections.runner import ProjectionWorker
from tests.integration.test_projections import _from_event_store, _read_model, _until
from tests.integration.test_relay import _seed, database_url, stream, tenant_of

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url", "stream"]  # fixtures shared with the relay tests


class _Poisoned(Activity):
    """The activity projection failing on some events (by tenant and position) for good."""

    poison: frozenset[tuple[str, int]] = frozenset()

    def apply_batch(self, cur, deliveries):  # type: ignore[no-untyped-def]
        if any((d.tenant, d.position) in self.poison for d in deliveries):
            raise ValueError("cannot read this event")
        super().apply_batch(cur, deliveries)


class _PoisonedUnsafe(_Poisoned):
    skip_poison = False


class _LostConnection(Activity):
    """Fails on one event with a transient error a number of times, then applies it."""

    failures_left = 6

    def apply_batch(self, cur, deliveries):  # type: ignore[no-untyped-def]
        if self.failures_left and any((d.tenant, d.position) == ("relay-1", 1)
                                      for d in deliveries):
            self.failures_left -= 1
            raise ConnectionError("connection to the search index lost")
        super().apply_batch(cur, deliveries)


def _cli(db: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db,
           "NATS_URL": os.environ.get("NATS_URL", "nats://127.0.0.1:4222")}
    return subprocess.run([sys.executable, "-m", "api.cli", "projections", *args,
                           "--data-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def _positions(url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('projections.tracking')").fetchone() == (None,):
            return {}
        rows = conn.execute("SELECT projection, tenant, position FROM projections.tracking"
                            ).fetchall()
    return {(p, t): n for p, t, n in rows}


def _parked_rows(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tenant, position, status FROM projections.parked "
                            "ORDER BY tenant, position").fetchall()
    return [(str(t), int(p), str(s)) for t, p, s in rows]


def _parked_metric(tenant: str) -> float:
    value = REGISTRY.get_sample_value("commonshelf_projection_events_parked_total",
                                      {"projection": "activity", "tenant": tenant})
    return value or 0.0


async def _run(worker: ProjectionWorker, relay: Relay, until, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(worker.run(stop))]
    try:
        await _until(until, seconds)
        assert not any(t.done() for t in tasks)  # alive, not crashed
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def test_a_poison_event_is_parked_the_rest_applied_and_resolved_by_the_cli(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 3, 3)  # each tenant: positions 1-3
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    projection = _Poisoned()
    projection.poison = frozenset({("relay-1", 1), ("relay-1", 2)})
    worker = ProjectionWorker(projection, database_url, servers[1], stream=stream[0],
                              subject_prefix=stream[1], failure_delay_s=0.3)
    before = _parked_metric("relay-1")
    with caplog.at_level(logging.ERROR, logger="infra.follower"):
        await _run(worker, relay, lambda: worker.stats.applied >= expected - 2
                   and worker.stats.parked >= 2)

    # Parked, and the rest of relay-1's log applied; the other tenants moved on.
    assert worker.stats.parked == 2
    positions = await asyncio.to_thread(_positions, database_url)
    assert {t: positions[("activity", t)] for t in ("relay-0", "relay-1", "relay-2")} == {
        "relay-0": 3, "relay-1": 3, "relay-2": 3}
    truth = await asyncio.to_thread(_from_event_store, database_url)
    model = await asyncio.to_thread(_read_model, database_url, Activity())
    assert {k: n for k, n in model.items() if k[0] != "relay-1"} == {
        k: n for k, n in truth.items() if k[0] != "relay-1"}
    assert sum(n for k, n in model.items() if k[0] == "relay-1") == 1  # position 3 only
    assert _parked_metric("relay-1") - before == 2
    alerts = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
              and "PARKED EVENT: activity cannot apply tenant relay-1's" in r.getMessage()]
    assert len(alerts) == 2
    assert "tenant relay-1's event at position 1" in alerts[0]
    assert "ValueError: cannot read this event" in alerts[0]
    assert "commonshelf projections retry activity --tenant relay-1 --position 1" in alerts[0]

    listed = _cli(database_url, tmp_path, "parked", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["tenant"], r["position"], r["status"]) for r in rows] == [
        ("activity", "relay-1", 1, "passed"), ("activity", "relay-1", 2, "passed")]
    assert rows[0]["error"] == "ValueError: cannot read this event"
    assert rows[0]["topic"].endswith("Client.Created") or "Client" in rows[0]["topic"]
    assert rows[0]["parked_at"]

    # The fault is removed (the shipped projection applies it): retry re-applies, once.
    retried = _cli(database_url, tmp_path, "retry", "activity", "--tenant", "relay-1",
                   "--position", "1")
    assert retried.returncode == 0, retried.stderr
    assert await asyncio.to_thread(_parked_rows, database_url) == [("relay-1", 2, "passed")]
    model = await asyncio.to_thread(_read_model, database_url, Activity())
    assert sum(n for k, n in model.items() if k[0] == "relay-1") == 2
    again = _cli(database_url, tmp_path, "retry", "activity", "--tenant", "relay-1",
                 "--position", "1")
    assert again.returncode == 1
    assert "no parked event of projection 'activity'" in again.stderr

    skipped = _cli(database_url, tmp_path, "skip", "activity", "--tenant", "relay-1",
                   "--position", "2", "--json")
    assert skipped.returncode == 0, skipped.stderr
    assert json.loads(skipped.stdout)["result"] == "skipped"
    assert await asyncio.to_thread(_parked_rows, database_url) == [("relay-1", 2, "skipped")]
    for action in ("retry", "skip"):  # skipped for good: neither applies any more
        refused = _cli(database_url, tmp_path, action, "activity", "--tenant", "relay-1",
                       "--position", "2")
        assert refused.returncode == 1
        assert "no parked event" in refused.stderr
    missing = _cli(database_url, tmp_path, "skip", "activity", "--tenant", "relay-0",
                   "--position", "99")
    assert missing.returncode == 1
    assert "tenant 'relay-0' at position 99" in missing.stderr


async def test_a_projection_not_declared_safe_stays_held_but_never_on_the_office_log(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str], tmp_path: Path,
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 3, 2)  # office: positions 1-3
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    projection = _PoisonedUnsafe()
    projection.poison = frozenset({("relay-1", 1), ("office", 2)})
    worker = ProjectionWorker(projection, database_url, servers[1], stream=stream[0],
                              subject_prefix=stream[1], failure_delay_s=0.3)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(worker.run(stop))]
    try:
        await _until(lambda: worker.stats.applied >= expected - 3 and worker.stats.parked >= 2)
        await asyncio.sleep(1)  # several redeliveries of the held event
        positions = await asyncio.to_thread(_positions, database_url)
        assert positions[("activity", "relay-1")] == 0  # held behind its parked event
        assert positions[("activity", "office")] == 3  # the shared log moved on regardless
        assert positions[("activity", "relay-0")] == 2
        assert positions[("activity", "relay-2")] == 2
        assert worker.stats.parked == 2  # parked once, however often retried
        assert await asyncio.to_thread(_parked_rows, database_url) == [
            ("office", 2, "passed"), ("relay-1", 1, "held")]

        skipped = _cli(database_url, tmp_path, "skip", "activity", "--tenant", "relay-1",
                       "--position", "1")
        assert skipped.returncode == 0, skipped.stderr
        assert "later events follow now" in skipped.stdout
        await _until(lambda: _positions(database_url)[("activity", "relay-1")] == 2)
        assert not any(t.done() for t in tasks)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert _positions(database_url)[("activity", "relay-1")] == 2
    truth = await asyncio.to_thread(_from_event_store, database_url)
    model = await asyncio.to_thread(_read_model, database_url, Activity())
    assert sum(model.values()) == sum(truth.values()) - 2  # the two parked events


async def test_a_transient_error_is_retried_never_parked(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str],
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 2, 2)
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    projection = _LostConnection()
    worker = ProjectionWorker(projection, database_url, servers[1], stream=stream[0],
                              subject_prefix=stream[1], failure_delay_s=0.2, poison_attempts=2)
    await _run(worker, relay, lambda: worker.stats.applied >= expected)
    assert projection.failures_left == 0  # it failed more often than poison_attempts
    assert worker.stats.failed > 0
    assert worker.stats.parked == 0
    assert await asyncio.to_thread(_parked_rows, database_url) == []
    truth = await asyncio.to_thread(_from_event_store, database_url)
    assert await asyncio.to_thread(_read_model, database_url, Activity()) == Counter(truth)
