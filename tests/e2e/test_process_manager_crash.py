"""A process manager SIGKILLed between issuing its command and acking its event: the process
that takes over reacts to the event again, and the command is recorded once.

The runner runs in a child process (this module, run as a script); its manager writes a
mark once its command is recorded and then, in the first child, hangs until it is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.database import Database
from infra.relay import Relay
from projections.framework import DomainEvent, Source
from tenants.consortium import Consortium
from tenants.processes.runner import Commands, ProcessRunner
from tests.integration.test_process_runner import (
    WelcomePolicy,
    _office_head,
    _pipeline,
    _policies_set,
    _tracked,
)
from tests.integration.test_relay import _seed, database_url, stream, tenant_of

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]
__all__ = ["database_url", "stream"]  # fixtures shared with the relay tests
TENANTS = 2


class HangingWelcome(WelcomePolicy):
    """WelcomePolicy that marks each command it recorded, then hangs (to be killed)."""

    def __init__(self, commands: Commands, marks: Path, hang: bool) -> None:
        super().__init__(commands)
        self.marks = marks
        self.hang = hang

    def react(self, event: DomainEvent, source: Source) -> None:
        super().react(event, source)
        slug, issued = self.issued[-1]
        (self.marks / f"{slug}.{'issued' if issued else 'skipped'}.{os.getpid()}").touch()
        while self.hang:
            time.sleep(1)  # after the command, before the event is tracked and acked


def _child(url: str, nats_url: str, stream_name: str, prefix: str, marks: str,
           hang: str) -> None:
    database = Database(url, 2, name="pm-child")
    manager = HangingWelcome(Commands(Consortium(database), _pipeline(url)), Path(marks),
                             hang == "1")
    runner = ProcessRunner([manager], url, nats_url, stream=stream_name, subject_prefix=prefix,
                           batch=1, ack_wait_s=2, failure_delay_s=0.2)
    stop = asyncio.Event()

    async def run() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await runner.run(stop)

    asyncio.run(run())


def _start(url: str, nats_url: str, stream: tuple[str, str], marks: Path,
           hang: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.test_process_manager_crash", url,
                             nats_url, stream[0], stream[1], str(marks), "1" if hang else "0"],
                            stdout=subprocess.DEVNULL, stderr=(marks / "child.log").open("wb"))


def _marks(directory: Path, pattern: str) -> list[Path]:
    return sorted(directory.glob(pattern))


def _wait(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_manager_killed_after_its_command_issues_it_once(
    database_url: str, servers: tuple[str, str], stream: tuple[str, str], tmp_path: Path
) -> None:
    await asyncio.to_thread(_seed, database_url, TENANTS, 0)
    relay = Relay(database_url, servers[1], tenant_of, stream=stream[0],
                  subject_prefix=stream[1])
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    first = _start(database_url, servers[1], stream, tmp_path, hang=True)
    try:
        await asyncio.to_thread(_wait, lambda: any(tmp_path.glob("*.issued.*")))
        first.send_signal(signal.SIGKILL)  # between its command and its ack
        first.wait(timeout=10)
        [killed_mark] = await asyncio.to_thread(_marks, tmp_path, "*.issued.*")
        killed_slug = killed_mark.name.split(".")[0]
        assert _tracked(database_url).get("office", 0) == 0  # its event was not tracked

        second = _start(database_url, servers[1], stream, tmp_path, hang=False)
        try:
            head = await asyncio.to_thread(_office_head, database_url)
            await asyncio.to_thread(_wait, lambda: _tracked(database_url).get("office", 0)
                                    >= head)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
    finally:
        stop.set()
        await relaying
    # The event came back to the second process, which recorded nothing for it.
    assert await asyncio.to_thread(_marks, tmp_path, f"{killed_slug}.skipped.{second.pid}")
    for t in range(TENANTS):
        assert await asyncio.to_thread(_policies_set, database_url, f"relay-{t}") == (1, 1)


if __name__ == "__main__":
    _child(*sys.argv[1:])
