"""How long events stop reaching JetStream when the active relay is SIGKILLed and the standby
takes over, beside the baseline: an event's way from its append to JetStream with a relay
running. Usage: python tests/bench/bench_relay_takeover.py [ROUNDS]

Two relays run as `commonshelf serve --role relay` processes; a library writes an event
every 20 ms; each round kills the one that leads and starts it again as the new standby."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from infra.database import Database
from infra.embedded import free_port
from infra.kek import load_kek
from infra.nats import connect
from infra.relay import RELAY_LOCK_KEY
from tenants.consortium import Consortium
from tests.bench.servers import bench_servers

WRITE_EVERY_S = 0.02


def _leader_pid(url: str) -> int | None:
    """The PostgreSQL backend holding the relay lock (None: no relay leads)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (RELAY_LOCK_KEY,)).fetchone()
    return int(row[0]) if row else None


def _relay(env: dict[str, str], data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--role", "relay",
                             "--port", str(free_port()), "--data-dir", str(data)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("timed out")


async def _measure(url: str, nats_url: str, rounds: int) -> tuple[list[float], list[float]]:
    prefix = f"cstk{secrets.token_hex(3)}"
    data = Path(tempfile.mkdtemp())
    load_kek(data / "kek", create=True)
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": prefix, "COMMONSHELF_KEK_FILE": str(data / "kek")}
    consortium = Consortium(Database(url, 2, name="bench-takeover"))
    consortium.register_tenant("takeover", "Takeover", None)
    appended: dict[int, float] = {}
    received: list[tuple[float, int]] = []
    stop = threading.Event()

    def write() -> None:
        recorder = consortium.scope("takeover").clients.recorder
        while not stop.is_set():
            consortium.create_client("takeover", "c", ["ill"])
            appended[recorder.max_notification_id() or 0] = time.monotonic()
            time.sleep(WRITE_EVERY_S)

    nc = await connect(nats_url)

    async def on_message(msg: object) -> None:
        position = int(msg.headers["Cs-Position"])  # type: ignore[attr-defined]
        received.append((time.monotonic(), position))

    await nc.subscribe(f"{prefix}.takeover.>", cb=on_message)
    relays = [_relay(env, data)]
    writer = threading.Thread(target=write)
    takeovers: list[float] = []
    try:
        await asyncio.to_thread(_wait, lambda: _leader_pid(url) is not None, 60)
        relays.append(_relay(env, data))  # the standby: the first one leads
        writer.start()
        await asyncio.sleep(3)
        for _ in range(rounds):
            leader = relays.pop(0)  # the older one leads; the one started last stands by
            before = len(received)
            killed_at = time.monotonic()
            leader.send_signal(signal.SIGKILL)
            leader.wait()
            await asyncio.to_thread(_wait, lambda before=before, killed_at=killed_at: len(
                received) > before and received[-1][0] > killed_at, 60)
            after = next(t for t, _ in received[before:] if t > killed_at)
            takeovers.append(after - killed_at)
            relays.append(_relay(env, data))  # back, as the standby
            await asyncio.sleep(3)
    finally:
        stop.set()
        if writer.is_alive():
            writer.join()
        for relay in relays:
            relay.send_signal(signal.SIGTERM)
            relay.wait(timeout=30)
        await nc.close()
        consortium.close()
    latencies = [t - appended[p] for t, p in received if p in appended and t >= appended[p]]
    return takeovers, latencies


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with bench_servers() as (url, nats_url):
        takeovers, latencies = asyncio.run(_measure(url, nats_url, rounds))
    print(f"relay takeover after SIGKILL of the active relay, {rounds} rounds "
          f"(an event appended every {WRITE_EVERY_S * 1000:.0f} ms)")
    print(f"  baseline: append -> JetStream with a relay leading: median "
          f"{statistics.median(latencies) * 1000:.0f} ms, p99 "
          f"{statistics.quantiles(latencies, n=100)[98] * 1000:.0f} ms "
          f"({len(latencies)} events)")
    print("  takeover: kill -> next event in JetStream: "
          + ", ".join(f"{t:.2f} s" for t in takeovers)
          + f" (median {statistics.median(takeovers):.2f} s)")


if __name__ == "__main__":
    main()
