"""In the `all` role the scan worker runs in a child process (`serve --role scans`): a batch
is localized, and held whole in memory, only there, never in the process serving the API.
A child that dies (killed for memory, say) is started again."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from infra.settings import Settings

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel stops it when the API process dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


RESTART_AFTER_S = (1.0, 30.0)  # the first wait before a dead worker is started again, the most
STEADY_S = 60.0  # a worker that ran this long before dying is started again after the first wait

log = logging.getLogger(__name__)


class ScanWorkerProcess:
    """The child scan worker, started again (after a growing wait) whenever it dies while
    the API serves: scans queued meanwhile wait in the stream, none is lost."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self._command, self._env = command, env
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.process = self._start()
        self._watcher = threading.Thread(target=self._watch, name="scan-worker-watch",
                                         daemon=True)
        self._watcher.start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 (our own command; stdout: not the API's)
            self._command, env=self._env, stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)  # noqa: PLW1509

    def _watch(self) -> None:
        wait = RESTART_AFTER_S[0]
        while not self._stopping.is_set():
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            wait = RESTART_AFTER_S[0] if time.monotonic() - started >= STEADY_S else wait
            log.warning("the scan worker (pid %d) exited with %s: starting it again in %.0f s",
                        self.process.pid, code, wait)
            if self._stopping.wait(wait):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._start()
            wait = min(wait * 2, RESTART_AFTER_S[1])

    def stop(self) -> None:
        """Stops the worker (SIGTERM, then SIGKILL after 30 s) and stops starting it."""
        with self._lock:
            self._stopping.set()
            process = self.process
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._watcher.join(timeout=5)


@contextmanager
def scan_worker_process(settings: Settings, log_level: str,
                        log_format: str) -> Iterator[ScanWorkerProcess]:
    """A scan worker process on the same servers and keys, kept running (started again if
    it dies) until the block ends, then stopped."""
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "NATS_URL": settings.nats_url or "", "COMMONSHELF_DATA_DIR": str(settings.data_dir),
           "COMMONSHELF_KEK_FILE": str(settings.kek_path),
           "COMMONSHELF_NATS_PREFIX": settings.nats_prefix}
    worker = ScanWorkerProcess(
        [sys.executable, "-m", "api.cli", "serve", "--role", "scans", "--host", "127.0.0.1",
         "--port", "0", "--log-level", log_level, "--log-format", log_format], env)
    try:
        yield worker
    finally:
        worker.stop()
