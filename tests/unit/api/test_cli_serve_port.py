"""`commonshelf serve|demo` says, before anything starts, that its port is taken."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from api import cli


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_demo_port_taken_names_it_and_how_to_choose_another(
        taken_port: int, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_start(_: object) -> None:
        raise AssertionError("the servers started although the port is taken")

    monkeypatch.setattr(cli, "running_services", must_not_start)
    code = cli.main(["demo", "--port", str(taken_port), "--data-dir", "/nonexistent"])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"port {taken_port} on 127.0.0.1 is already in use" in err
    assert f"make demo PORT={taken_port + 1}" in err
    assert "serving at" not in out  # no URL printed for a server that cannot start


def test_serve_port_taken_suggests_the_serve_flag(
        taken_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["serve", "--port", str(taken_port)])
    assert code == 1
    assert f"commonshelf serve --port {taken_port + 1}" in capsys.readouterr().err


def test_listening_socket_port_zero_gets_a_free_port() -> None:
    with cli.listening_socket("127.0.0.1", 0) as sock:
        assert sock.getsockname()[1] > 0


def test_listening_socket_foreign_host_is_refused_clearly() -> None:
    with pytest.raises(cli.SettingsError, match="HOST must be an address of this machine"):
        cli.listening_socket("192.0.2.1", 0)  # TEST-NET-1: never this machine's


def test_listening_socket_out_of_range_port_is_refused() -> None:
    with pytest.raises(cli.SettingsError, match="not a TCP port"):
        cli.listening_socket("127.0.0.1", 70000)
