"""The embedded default admits only its own: no trust auth, no open NATS, private files."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest
from nats.errors import NoServersError
from psycopg.conninfo import conninfo_to_dict

from infra.embedded import EmbeddedRuntime, Endpoints

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def runtime() -> Iterator[EmbeddedRuntime]:
    # Not under pytest's base directory: a concurrent pytest run makes it 0700 again, which
    # locks out the cluster's own user when these tests run as root.
    base = Path(tempfile.mkdtemp(prefix="cs-lockdown-"))
    started = EmbeddedRuntime(base / "data")
    yield started
    started.stop()
    shutil.rmtree(base, ignore_errors=True)


def _ports(endpoints: Endpoints) -> tuple[int, int]:
    pg_port = int(str(conninfo_to_dict(endpoints.database_url)["port"]))
    return pg_port, int(endpoints.nats_url.rsplit(":", 1)[1])


def _private(path: Path) -> bool:
    """Only the owner may read it (a root-run cluster's directory lets the server's own
    group pass through it, nothing more)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    allowed = 0o710 if os.geteuid() == 0 and path.is_dir() else 0o700
    return mode & ~allowed == 0


def _refuses_passwordless(pg_port: int) -> bool:
    try:
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
                        connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False


async def _nats_refuses(url: str) -> bool:
    try:
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False,
                                max_reconnect_attempts=0)
    except (NoServersError, nats.errors.Error, OSError):
        return True
    await nc.close()
    return False


async def test_embedded_servers_refuse_whoever_lacks_the_generated_credentials(
        runtime: EmbeddedRuntime) -> None:
    endpoints = runtime.start()
    pg_port, nats_port = _ports(endpoints)

    assert _refuses_passwordless(pg_port)
    with psycopg.connect(endpoints.database_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert await _nats_refuses(f"nats://127.0.0.1:{nats_port}")
    assert await _nats_refuses(f"nats://wrong-token@127.0.0.1:{nats_port}")
    nc = await nats.connect(endpoints.nats_url, connect_timeout=2)
    await nc.jetstream().account_info()
    await nc.close()

    for private in (runtime.data_dir, runtime.state_file, runtime.password_file,
                    runtime.data_dir / "nats.conf", runtime.logs):
        assert _private(private), f"{private} is readable by others"
    token = endpoints.nats_url.split("//", 1)[1].split("@", 1)[0]
    for cmdline in _command_lines(runtime):
        assert token not in cmdline
        assert runtime.password_file.read_text().strip() not in cmdline


def _command_lines(runtime: EmbeddedRuntime) -> list[str]:
    """What `ps` shows anyone of the servers' processes."""
    return [Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
            for _, process, _ in runtime._children]


async def test_a_data_directory_an_earlier_version_left_open_is_locked_down(
        runtime: EmbeddedRuntime) -> None:
    runtime.start()
    runtime.stop()
    # What an earlier version left: a cluster that trusts every local connection, an
    # empty superuser password, and a directory anyone may read.
    hba = runtime.pgdata / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    runtime.password_file.unlink()
    runtime.data_dir.chmod(0o755)

    endpoints = runtime.start()

    assert _refuses_passwordless(_ports(endpoints)[0])
    with psycopg.connect(endpoints.database_url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert "trust" not in hba.read_text()
    assert _private(runtime.data_dir)
    assert _private(runtime.password_file)
