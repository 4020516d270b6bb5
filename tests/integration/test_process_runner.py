"""The process-manager runner on real PostgreSQL and NATS: a reaction's command is issued
once per source event, however often the event comes back."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg import sql

from domain.circulation.policy import LoanPolicy
from infra.database import Database
from infra.relay import Relay
from projections.framework import Delivery, DomainEvent, Source
from projections.watch import AppliedWatch
from tenants.commands import Command, CommandPipeline
from tenants.consortium import Consortium
from tenants.processes.runner import TRACKING, Commands, ProcessManager, ProcessRunner
from tenants.scope import tenant_schema
from tenants.tenant import Tenant
from tests.integration.test_relay import _seed, database_url, stream, tenant_of

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url", "stream"]  # fixtures shared with the relay tests
TENANTS = 3


class _CrashError(Exception):
    """The process dies here: after its command, before its event is tracked."""


class WelcomePolicy(ProcessManager):
    """A test manager across tenants: each library the office registers gets a first loan
    policy, set in the library's own store by a command keyed by the office's event."""

    name = "welcome_policy"
    events = (Tenant.Registered,)

    def __init__(self, commands: Commands, crashes: int = 0) -> None:
        self.commands = commands
        self.crashes = crashes
        self.issued: list[tuple[str, bool]] = []

    def accepts(self, delivery: Delivery) -> bool:
        return delivery.tenant == "office" and super().accepts(delivery)

    def react(self, event: DomainEvent, source: Source) -> None:
        assert isinstance(event, Tenant.Registered)
        scope = self.commands.consortium.scope(event.slug)
        issued = self.commands.run(event.slug, self.key(source), Command(
            operation="setLoanPolicy",
            input={"patronGroup": "staff", "materialType": "*", "loanDays": 28},
            run=lambda receipt: scope.circulation.set_policy(
                "staff", "*", LoanPolicy(loan_days=28), receipt),
            answer=lambda policies: {"rules": len(policies.rules)}))
        self.issued.append((event.slug, issued))
        if self.crashes > 0:
            self.crashes -= 1
            raise _CrashError


def _pipeline(url: str) -> CommandPipeline:
    """The command pipeline as a process runs it (reactions never wait for read models)."""
    return CommandPipeline(AppliedWatch(url), concurrency=2, read_your_writes_s=1)


def _policies_set(url: str, slug: str) -> tuple[int, int]:
    """How many policies the library's store records, and how many receipts it keeps."""
    schema = tenant_schema(slug)
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(
            sql.Identifier(schema, "events")), ("%LoanPolicies.PolicySet",)).fetchone()
        receipts = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(schema, "idempotency"))).fetchone()
    return (int(row[0]) if row else 0, int(receipts[0]) if receipts else 0)


def _tracked(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        if conn.execute("SELECT to_regclass('processes.tracking')").fetchone() == (None,):
            return {}
        return TRACKING.positions(cur, WelcomePolicy.name, 1)


def _office_head(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(notification_id) FROM office.events").fetchone()
    return int(row[0]) if row and row[0] else 0


async def _until(condition: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _react(url: str, nats_url: str, stream: tuple[str, str], crashes: int,
                 runners: int) -> list[WelcomePolicy]:
    """Relays the seeded logs and runs `runners` runners until the office is tracked."""
    database = Database(url, 4, name="processes-test")
    consortium = Consortium(database)
    commands = Commands(consortium, _pipeline(url))
    managers = [WelcomePolicy(commands, crashes) for _ in range(runners)]
    relay = Relay(url, nats_url, tenant_of, stream=stream[0], subject_prefix=stream[1])
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop))]
    tasks += [asyncio.create_task(ProcessRunner(
        [m], url, nats_url, stream=stream[0], subject_prefix=stream[1], batch=2,
        failure_delay_s=0.2).run(stop)) for m in managers]
    try:
        head = await asyncio.to_thread(_office_head, url)
        await _until(lambda: _tracked(url).get("office", 0) >= head)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        consortium.close()
        database.close()
    return managers


async def test_a_manager_dying_between_command_and_tracking_issues_the_command_once(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    await asyncio.to_thread(_seed, database_url, TENANTS, 0)
    crashes = 4  # the first reactions die after their command, redelivered each time
    [manager] = await _react(database_url, servers[1], stream, crashes, runners=1)
    slugs = [f"relay-{t}" for t in range(TENANTS)]
    assert sorted(slug for slug, issued in manager.issued if issued) == slugs
    assert len(manager.issued) > TENANTS  # events came back after each crash
    for slug in slugs:
        assert await asyncio.to_thread(_policies_set, database_url, slug) == (1, 1)


async def test_several_runners_at_once_issue_each_command_once(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    await asyncio.to_thread(_seed, database_url, TENANTS, 0)
    managers = await _react(database_url, servers[1], stream, crashes=0, runners=3)
    issued = [slug for m in managers for slug, done in m.issued if done]
    assert sorted(issued) == [f"relay-{t}" for t in range(TENANTS)]
    for t in range(TENANTS):
        assert await asyncio.to_thread(_policies_set, database_url, f"relay-{t}") == (1, 1)


class _FailsForOneLibrary(WelcomePolicy):
    """A manager whose reaction to one library's registration fails for good."""

    def react(self, event: DomainEvent, source: Source) -> None:
        if isinstance(event, Tenant.Registered) and event.slug == "relay-1":
            raise ValueError("cannot react to this event")
        super().react(event, source)


def _parked(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT manager, tenant, status FROM processes.parked").fetchall()
    return [(str(m), str(t), str(s)) for m, t, s in rows]


async def test_a_reaction_that_fails_for_good_is_parked_and_the_office_log_moves_on(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    await asyncio.to_thread(_seed, database_url, TENANTS, 0)
    database = Database(database_url, 4, name="processes-test")
    consortium = Consortium(database)
    manager = _FailsForOneLibrary(Commands(consortium, _pipeline(database_url)))
    runner = ProcessRunner([manager], database_url, servers[1], stream=stream[0],
                           subject_prefix=stream[1], failure_delay_s=0.2)
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0],
                  subject_prefix=stream[1])
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runner.run(stop))]
    try:
        head = await asyncio.to_thread(_office_head, database_url)
        await _until(lambda: _tracked(database_url).get("office", 0) >= head)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        consortium.close()
        database.close()
    # The office's log is shared: the manager moved on past the event it could not react to.
    assert runner.stats.parked == 1
    assert await asyncio.to_thread(_parked, database_url) == [
        ("welcome_policy", "office", "passed")]
    assert sorted(slug for slug, issued in manager.issued if issued) == ["relay-0", "relay-2"]
