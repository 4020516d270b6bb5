"""The pipeline on a three-node NATS JetStream cluster, its streams at R3: one node (the events
stream's leader) SIGKILLed while events flow and brought back. Afterwards the read model equals
the event stores and the stream holds every tenant's log once, in order."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.database import Database
from infra.embedded import free_port
from infra.nats import connect, log_error
from infra.relay import ensure_events_stream
from projections.activity.projection import Activity
from tenants.consortium import Consortium
from tests.e2e.test_pipeline_faults import (
    LOGS,
    NATS_BIN,
    _role,
    _settle,
    _stop,
    _store_logs,
    _stream_logs,
    _wait_for,
)
from tests.integration.test_projections import _from_event_store, _read_model
from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats_cluster]
__all__ = ["database_url"]  # the per-test database fixture of the relay tests
STREAM = "CS_EVENTS"


class NatsNode:
    """One `nats-server` of the cluster: a client port, a route port, a store of its own."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.port, self.route_port = free_port(), free_port()
        self.store = root / name
        self.config = root / f"{name}.conf"
        self.log = root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def write_config(self, routes: list[int]) -> None:
        seeds = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
        self.config.write_text(
            f'server_name: "{self.name}"\n'
            f"listen: 127.0.0.1:{self.port}\n"
            f'jetstream {{ store_dir: "{self.store}" }}\n'
            f'cluster {{ name: "cs-test", listen: 127.0.0.1:{self.route_port}, '
            f"routes: [{seeds}] }}\n")

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([str(NATS_BIN), "-c", str(self.config)],
                                            stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


class NatsCluster:
    """Three JetStream nodes on 127.0.0.1, each routed to the other two."""

    def __init__(self, root: Path) -> None:
        self.nodes = [NatsNode(f"n{i}", root) for i in range(1, 4)]
        for node in self.nodes:
            node.write_config([n.route_port for n in self.nodes if n is not node])

    @property
    def url(self) -> str:
        """The seeds, as NATS_URL names a cluster."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> NatsNode:
        return next(n for n in self.nodes if n.name == name)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        _wait_for(lambda: asyncio.run(self._has_meta_leader()), 30)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.kill()

    async def _has_meta_leader(self) -> bool:
        """True once the nodes have elected JetStream's meta leader (so R3 streams work)."""
        try:
            nc = await connect(self.url, connect_timeout=1, allow_reconnect=False,
                               error_cb=log_error)
        except Exception:  # noqa: BLE001 (not listening yet)
            return False
        try:
            await nc.jetstream(timeout=1).account_info()
        except Exception:  # noqa: BLE001 (no meta leader yet: JetStream is unavailable)
            return False
        finally:
            await nc.close()
        return True

    def stream_state(self) -> tuple[str | None, int, list[bool]]:
        """The events stream's leader, replica count and whether each follower is current."""

        async def read() -> tuple[str | None, int, list[bool]]:
            nc = await connect(self.url, connect_timeout=1, error_cb=log_error)
            try:
                info = await nc.jetstream(timeout=2).stream_info(STREAM)
            finally:
                await nc.close()
            cluster = info.cluster
            followers = [bool(r.current) for r in (cluster.replicas or [])] if cluster else []
            return (cluster.leader if cluster else None, info.config.num_replicas or 1,
                    followers)

        return asyncio.run(read())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A three-node cluster of this test's own, stopped even when the test fails."""
    cluster = NatsCluster(tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def _create_stream(url: str, replicas: int) -> None:
    nc = await connect(url)
    try:
        await ensure_events_stream(nc.jetstream(), STREAM, "cs", replicas=replicas)
    finally:
        await nc.close()


def _replicated(cluster: NatsCluster, replicas: int, *, current: bool = False) -> bool:
    """The stream has a leader and `replicas` copies (all caught up, if `current`)."""
    try:
        leader, have, followers = cluster.stream_state()
    except Exception:  # noqa: BLE001 (electing)
        return False
    return (leader is not None and have == replicas and len(followers) == replicas - 1
            and (all(followers) or not current))


def test_node_killed_and_restarted_loses_duplicates_and_reorders_nothing(
    database_url: str, cluster: NatsCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_create_stream(cluster.url, replicas=1))  # as a one-replica release left it
    monkeypatch.setenv("COMMONSHELF_NATS_REPLICAS", "3")  # the roles' environment: R3
    database = Database(database_url, 2, name="cluster-writer")
    consortium = Consortium(database)
    for t in range(3):
        consortium.register_tenant(f"cluster-{t}", f"Cluster {t}", None)
    relay = _role("relay", database_url, cluster.url, tmp_path)
    worker = _role("projections", database_url, cluster.url, tmp_path)

    def write() -> None:
        for i in range(240):
            consortium.create_client(f"cluster-{i % 3}", f"client {i}", ["ill"])
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    try:
        _wait_for(lambda: _replicated(cluster, 3), 60)  # the roles start
        writer.start()
        time.sleep(1.0)
        leader, replicas, _ = cluster.stream_state()
        assert replicas == 3  # the roles raised it from 1
        assert leader is not None
        assert writer.is_alive()  # events are flowing
        victim = cluster.node(leader)
        victim.kill()  # the stream's leader: the others must elect a new one and go on
        time.sleep(2.0)
        victim.start()
        writer.join()
        _settle(database_url)
        assert _read_model(database_url, Activity()) == _from_event_store(database_url)
        assert _stream_logs(cluster.url) == _store_logs(database_url)
        _wait_for(lambda: _replicated(cluster, 3, current=True), 30)  # the victim caught up
        assert relay.poll() is None, LOGS["relay"].read_text()[-2000:]
        assert worker.poll() is None, LOGS["projections"].read_text()[-2000:]
    finally:
        if writer.is_alive():
            writer.join()
        _stop(*(p for p in (worker, relay) if p.poll() is None))
        database.close()
