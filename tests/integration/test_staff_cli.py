"""`commonshelf staff` as an operator runs it: a process on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.postgres]
__all__ = ["database_url"]  # a database of the test's own
PASSWORD = "correct horse battery staple"


def _cli(db: str, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db,
           "NATS_URL": os.environ.get("NATS_URL", "nats://127.0.0.1:4222")}
    return subprocess.run([sys.executable, "-m", "api.cli", *args, "--data-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False,
                          input=stdin)


def test_staff_create_list_reset_disable(database_url: str, tmp_path: Path) -> None:
    assert _cli(database_url, tmp_path, "tenants", "create", "cli-staff",
                "--name", "CLI Staff").returncode == 0
    made = _cli(database_url, tmp_path, "staff", "create", "--tenant", "cli-staff",
                "--username", "ann", "--role", "cataloguer", "--role", "circulation",
                "--display-name", "Ann Lee", "--password-stdin", "--json",
                stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["roles"] == ["cataloguer", "circulation"]
    assert shown["scopes"] == ["library:read", "library:write"]
    assert PASSWORD not in made.stdout + made.stderr
    office = _cli(database_url, tmp_path, "staff", "create", "--tenant", "office",
                  "--username", "boss", "--role", "office-admin", "--password-stdin",
                  stdin=PASSWORD + "\n")
    assert office.returncode == 0, office.stderr
    assert "office/boss: active, roles office-admin" in office.stdout
    listed = _cli(database_url, tmp_path, "staff", "list", "--tenant", "cli-staff", "--json")
    assert [u["username"] for u in json.loads(listed.stdout)] == ["ann"]
    reset = _cli(database_url, tmp_path, "staff", "reset-password", "--tenant", "cli-staff",
                 "--username", "ann", "--password-stdin", stdin="a different passphrase\n")
    assert reset.returncode == 0, reset.stderr
    disabled = _cli(database_url, tmp_path, "staff", "disable", "--tenant", "cli-staff",
                    "--username", "ann")
    assert "cli-staff/ann: disabled" in disabled.stdout
    with psycopg.connect(database_url) as conn:
        logged = conn.execute("SELECT metadata ->> 'actor', metadata ->> 'operation' "
                              "FROM t_cli_staff.commands ORDER BY position").fetchall()
    assert logged == [("cli", "staff create"), ("cli", "staff reset-password"),
                      ("cli", "staff disable")]


def test_staff_errors_tell_what_to_do(database_url: str, tmp_path: Path) -> None:
    _cli(database_url, tmp_path, "tenants", "create", "cli-bad", "--name", "CLI Bad")
    weak = _cli(database_url, tmp_path, "staff", "create", "--tenant", "cli-bad",
                "--username", "bob", "--role", "ill", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1
    assert "password: use at least 12 characters" in weak.stderr
    role = _cli(database_url, tmp_path, "staff", "create", "--tenant", "cli-bad",
                "--username", "bob", "--role", "office-admin", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert role.returncode == 1
    assert "not roles of a library" in role.stderr
    no_stdin = _cli(database_url, tmp_path, "staff", "create", "--tenant", "cli-bad",
                    "--username", "bob", "--role", "ill")
    assert no_stdin.returncode == 2
    assert "--password-stdin" in no_stdin.stderr
    nobody = _cli(database_url, tmp_path, "staff", "disable", "--tenant", "cli-bad",
                  "--username", "nobody")
    assert nobody.returncode == 1
    assert "no staff user 'nobody'" in nobody.stderr
    unknown = _cli(database_url, tmp_path, "staff", "list", "--tenant", "no-such-lib")
    assert unknown.returncode == 1
    assert "no tenant with slug 'no-such-lib'" in unknown.stderr
