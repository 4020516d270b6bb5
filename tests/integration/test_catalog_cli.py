"""`commonshelf catalog import` as an operator runs it: a process on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_relay import database_url

pytestmark = [pytest.mark.postgres]
__all__ = ["database_url"]  # a database of the test's own
SHARED = Path(__file__).parents[1] / "data" / "marc" / "shared"  # copies of ../shared/data/marc
OURS = Path(__file__).parents[1] / "data" / "marc"


def _cli(db: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db,
           "NATS_URL": os.environ.get("NATS_URL", "nats://127.0.0.1:4222")}
    return subprocess.run([sys.executable, "-m", "api.cli", *args, "--data-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_import_prints_the_summary_and_reimport_is_unchanged(database_url: str,
                                                              tmp_path: Path) -> None:
    assert _cli(database_url, tmp_path, "tenants", "create", "cli-lib",
                "--name", "CLI Library").returncode == 0
    first = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-lib",
                 str(OURS / "cjk_vi.xml"), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert {k: summary[k] for k in ("read", "created", "updated", "unchanged", "skipped")} == {
        "read": 5, "created": 4, "updated": 0, "unchanged": 0, "skipped": 1}
    assert summary["errors"][0]["record"] == 5
    assert summary["errors"][0]["offset"] > 0
    assert "records" in first.stderr  # progress, on stderr

    again = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-lib",
                 str(OURS / "cjk_vi.xml"))
    assert again.returncode == 0
    assert "0 created, 0 updated, 4 unchanged, 1 skipped" in again.stdout
    assert "record 5 (byte " in again.stdout


def test_import_errors_tell_what_to_do(database_url: str, tmp_path: Path) -> None:
    _cli(database_url, tmp_path, "tenants", "create", "cli-err", "--name", "CLI Errors")
    unknown = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "nobody",
                   str(SHARED / "pymarc" / "one.dat"))
    assert unknown.returncode == 1
    assert "no tenant with slug 'nobody'" in unknown.stderr
    missing = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-err",
                   str(tmp_path / "nothing.mrc"))
    assert missing.returncode == 1
    assert "no such file" in missing.stderr
    not_marc = tmp_path / "notes.txt"
    not_marc.write_text("just some notes\n")
    wrong = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-err",
                 str(not_marc))
    assert wrong.returncode == 1
    assert "neither MARC 21" in wrong.stderr
    asked = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-err",
                 "--format", "marcxml", str(SHARED / "pymarc" / "one.dat"))
    assert asked.returncode == 1
    assert "the file is marc21" in asked.stderr


def test_import_json_and_text_list_item_warnings(database_url: str, tmp_path: Path) -> None:
    import pymarc  # noqa: PLC0415 (only this test writes MARC)

    record = pymarc.Record(force_utf8=True)
    record.add_field(
        pymarc.Field(tag="001", data="cliw1"), pymarc.Field(tag="003", data="CLI"),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("0", "0"),
                     subfields=[pymarc.Subfield("a", "Warned")]),
        pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "),
                     subfields=[pymarc.Subfield("a", "MAIN")]))
    path = tmp_path / "warned.mrc"
    path.write_bytes(record.as_marc())
    _cli(database_url, tmp_path, "tenants", "create", "cli-warn", "--name", "CLI Warnings")
    as_json = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-warn",
                   str(path), "--json")
    assert as_json.returncode == 0, as_json.stderr
    summary = json.loads(as_json.stdout)
    assert summary["errors"] == []
    assert summary["warnings"] == [{"record": 1, "offset": 0, "field": "952", "occurrence": 1,
                                    "reason": "no $p barcode: that item was not added"}]
    as_text = _cli(database_url, tmp_path, "catalog", "import", "--tenant", "cli-warn",
                   str(path))
    assert "1 warnings" in as_text.stdout
    assert "warning: record 1 (byte 0), field 952 #1: no $p barcode" in as_text.stdout
