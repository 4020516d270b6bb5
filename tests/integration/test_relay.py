"""The relay over real PostgreSQL and NATS: order, deduplication, takeover."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator

import nats
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.database import Database
from infra.nats import connect
from infra.relay import Relay, subject_for
from tenants.consortium import Consortium, log_name

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


tenant_of = log_name


@pytest.fixture
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """A database of this test's own: the relay follows every event store in it."""
    name = f"cs_relay_{secrets.token_hex(4)}"
    with psycopg.connect(servers[0], autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(servers[0])
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(servers[0], autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def stream(servers: tuple[str, str]) -> AsyncIterator[tuple[str, str]]:
    """A stream name and subject prefix of this test's own, deleted afterwards."""
    suffix = secrets.token_hex(4)
    name, prefix = f"CS_TEST_{suffix.upper()}", f"cstest{suffix}"
    yield name, prefix
    nc = await connect(servers[1])
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_stream(name)
    await nc.close()


def _seed(url: str, tenants: int, clients: int) -> int:
    database = Database(url, 2, name="relay-seed")
    try:
        consortium = Consortium(database)
        for t in range(tenants):
            slug = f"relay-{t}"
            consortium.register_tenant(slug, slug, None)
            for c in range(clients):
                consortium.create_client(slug, f"client {c}", ["library:read"])
        return tenants + tenants * clients  # office Registered events + clients
    finally:
        database.close()


async def _run_until(relay: Relay, count: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for _ in range(300):
            if relay.stats.published >= count:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def _stream_messages(nats_url: str, name: str) -> list[tuple[str, dict[str, str]]]:
    nc = await connect(nats_url)
    js = nc.jetstream()
    info = await js.stream_info(name)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(name, seq)
        out.append((msg.subject, dict(msg.headers or {})))
    await nc.close()
    return out


def test_subject_names_tenant_aggregate_and_event() -> None:
    assert subject_for("city-lib", "tenants.client:ApiClient.Created") == (
        "cs.city-lib.ApiClient.Created")


async def test_relay_publishes_every_log_in_order_and_drops_republished(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 3, 4)
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    await _run_until(relay, expected)
    messages = await _stream_messages(servers[1], stream[0])
    assert len(messages) == expected
    positions: dict[str, list[int]] = {}
    for subject, headers in messages:
        assert subject.startswith(f"{stream[1]}.{headers['Cs-Tenant']}.")
        positions.setdefault(headers["Cs-Tenant"], []).append(int(headers["Cs-Position"]))
    assert set(positions) == {"office", "relay-0", "relay-1", "relay-2"}
    for sequence in positions.values():
        assert sequence == sorted(sequence)
        assert len(set(sequence)) == len(sequence)

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM relay.positions")  # as if the relay lost its place
    again = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    await _run_until(again, expected)
    assert again.stats.published == expected
    assert len(await _stream_messages(servers[1], stream[0])) == expected


async def test_standby_takes_over_when_active_relay_stops(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    await asyncio.to_thread(_seed, database_url, 1, 1)
    first = Relay(database_url, servers[1], tenant_of, stream=stream[0], subject_prefix=stream[1])
    second = Relay(database_url, servers[1], tenant_of, stream=stream[0],
                   subject_prefix=stream[1])
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    task_first = asyncio.create_task(first.run(stop_first))
    await asyncio.wait_for(first.leading.wait(), 10)
    task_second = asyncio.create_task(second.run(stop_second))
    await asyncio.sleep(1.5)
    assert not second.leading.is_set()
    stop_first.set()
    await task_first
    await asyncio.wait_for(second.leading.wait(), 5)
    await asyncio.to_thread(_seed_more, database_url)
    for _ in range(100):
        if second.stats.published:
            break
        await asyncio.sleep(0.05)
    stop_second.set()
    await task_second
    assert second.stats.published >= 1


def _seed_more(url: str) -> None:
    database = Database(url, 1, name="relay-seed")
    try:
        Consortium(database).create_client("relay-0", "late", ["ill"])
    finally:
        database.close()


async def test_relay_follows_the_logs_notifications_name_and_skips_one_gone(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 1, 1)
    # Long idle and sweep periods: within the test, only notifications make the relay read
    # a log again.
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0],
                  subject_prefix=stream[1], idle_s=60, sweep_s=60)
    async with _running(relay) as task:
        await _published(relay, expected)
        await asyncio.sleep(0.5)  # its listener is connected
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("NOTIFY commonshelf_events, 't_dropped_meanwhile'")
        await asyncio.to_thread(_seed_more, database_url)
        await _published(relay, expected + 1)
        assert not task.done()
    assert relay.stats.by_tenant == {"office": 1, "relay-0": 2}


@contextlib.asynccontextmanager
async def _running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    """The relay running for the block; stopped after it, whatever happens."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task


async def _published(relay: Relay, count: int) -> None:
    for _ in range(100):
        if relay.stats.published >= count:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the relay published {relay.stats.published} of {count} events in 5 s")


async def test_a_log_whose_notification_was_lost_is_swept_while_others_keep_the_relay_busy(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str]
) -> None:
    expected = await asyncio.to_thread(_seed, database_url, 2, 0)
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0],
                  subject_prefix=stream[1], idle_s=60, sweep_s=0.5)
    async with _running(relay):
        await _published(relay, expected)
        with psycopg.connect(database_url, autocommit=True) as conn:
            # An event whose notification never came (the listener was reconnecting) ...
            conn.execute("INSERT INTO t_relay_1.events (originator_id, originator_version, "
                         "topic, state) VALUES (gen_random_uuid(), 1, 'tests:Lost', '{}')")
            for _ in range(30):  # ... while another log keeps waking the relay
                conn.execute("NOTIFY commonshelf_events, 't_relay_0'")
                await asyncio.sleep(0.1)
                if relay.stats.published > expected:
                    break
        assert relay.stats.by_tenant.get("relay-1") == 1
