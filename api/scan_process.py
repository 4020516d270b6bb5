"""In the `all` role the scan worker runs in a child process (`serve --role scans`): a batch
is localized, and held whole in memory, only there, never in the process serving the API."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from infra.settings import Settings

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel stops it when the API process dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@contextmanager
def scan_worker_process(settings: Settings, log_level: str,
                        log_format: str) -> Iterator[subprocess.Popen[bytes]]:
    """A scan worker process on the same servers and keys, stopped when the block ends."""
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "NATS_URL": settings.nats_url or "", "COMMONSHELF_DATA_DIR": str(settings.data_dir),
           "COMMONSHELF_KEK_FILE": str(settings.kek_path),
           "COMMONSHELF_NATS_PREFIX": settings.nats_prefix}
    process = subprocess.Popen(  # noqa: S603 (our own command; stdout: not the API's)
        [sys.executable, "-m", "api.cli", "serve", "--role", "scans", "--host", "127.0.0.1",
         "--port", "0", "--log-level", log_level, "--log-format", log_format],
        env=env, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent)  # noqa: PLW1509
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
