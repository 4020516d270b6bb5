"""COMMONSHELF_TENANT_SERVERS: name=URL pairs, each mistake named with its entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.servers import (
    MOVING_STATE,
    ServersError,
    TenantMovingError,
    moving,
    parse_servers,
    patiently,
)
from infra.settings import Settings, SettingsError


def test_pairs_are_read_in_order_and_blanks_are_skipped() -> None:
    assert parse_servers(" east=postgresql://a/cs , ,west=postgres://b/cs") == {
        "east": "postgresql://a/cs", "west": "postgres://b/cs"}
    assert parse_servers(None) == {}
    assert parse_servers("") == {}


@pytest.mark.parametrize(("raw", "problem"), [
    ("postgresql://a/cs", "entry 1 ('postgresql://a/cs'): write name=postgresql://"),
    ("east=postgresql://a,East=postgresql://b", "entry 2 ('East')"),
    ("default=postgresql://a", "the name 'default' is taken"),
    ("east=postgresql://a,east=postgresql://b", "entry 2 ('east'): the name 'east' is taken"),
    ("east=mysql://a", "entry 1 ('east'): the URL must start with postgresql://"),
])
def test_a_malformed_entry_is_refused_naming_it(raw: str, problem: str) -> None:
    with pytest.raises(ServersError, match="COMMONSHELF_TENANT_SERVERS") as caught:
        parse_servers(raw)
    assert problem in str(caught.value)


def test_settings_refuse_malformed_servers_at_start(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("COMMONSHELF_TENANT_SERVERS", "east")
    with pytest.raises(SettingsError, match="entry 1"):
        Settings.from_env(tmp_path)
    monkeypatch.setenv("COMMONSHELF_TENANT_SERVERS", "east=postgresql://a/cs")
    assert Settings.from_env(tmp_path).tenant_servers == (
        ("east", "postgresql://a/cs"),)


class _RefusedError(Exception):
    sqlstate = MOVING_STATE


def test_a_refusal_is_recognized_through_the_wrapping_errors() -> None:
    wrapped = RuntimeError("persistence")
    wrapped.__cause__ = _RefusedError()
    assert moving(wrapped)
    assert not moving(RuntimeError("other"))


def test_work_refused_by_a_move_runs_again_until_it_succeeds() -> None:
    attempts: list[int] = []

    def work() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TenantMovingError("moving")
        return "done"

    assert patiently(work) == "done"
    assert len(attempts) == 3
    with pytest.raises(TenantMovingError):
        patiently(lambda: (_ for _ in ()).throw(TenantMovingError("stuck")), pause_s=0.2)
