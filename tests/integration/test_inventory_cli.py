"""`commonshelf inventory simulate` and `localize` as a robot vendor runs them offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localization_ext import engines

CLI = [sys.executable, "-m", "api.cli", "inventory"]


@pytest.mark.parametrize("engine", engines())
def test_a_simulated_shelf_is_localized_from_its_batch_file(tmp_path: Path,
                                                            engine: str) -> None:
    batch, truth = tmp_path / "scan.ndjson", tmp_path / "truth.json"
    subprocess.run([*CLI, "simulate", "--books", "25", "--spacing-cm", "3", "--seed", "9",
                    "--out", str(batch), "--truth", str(truth)], check=True, timeout=60)
    done = subprocess.run([*CLI, "localize", str(batch), "--engine", engine, "--json"],
                          capture_output=True, text=True, check=True, timeout=120)
    answer = json.loads(done.stdout)
    assert answer["seconds"] >= 0
    where = {t["epc"]: t for t in answer["tags"]}
    true = {t["epc"]: t for t in json.loads(truth.read_text())}
    assert set(where) == set(true)
    errors = sorted(abs(where[e]["x"] - true[e]["x"]) for e in true)
    assert errors[len(errors) // 2] < 0.01  # median under a centimetre
    assert all(t["localized"] and t["reads"] >= 8 for t in answer["tags"])
    order = [e for e, _ in sorted(where.items(), key=lambda kv: kv[1]["x"])]
    assert order == [e for e, _ in sorted(true.items(), key=lambda kv: kv[1]["x"])]


def test_a_bad_batch_names_its_line(tmp_path: Path) -> None:
    batch = tmp_path / "bad.ndjson"
    batch.write_text('{"type": "header", "batch_id": "b", "robot": "r", "shelf": "s", '
                     '"layer": 1}\n{"t": 0, "epc": "E280", "phase": 7, "rssi": -50, '
                     '"freq": 920625000, "ax": 0, "ay": -0.3, "az": 1}\n')
    done = subprocess.run([*CLI, "localize", str(batch)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "line 2, field 'phase'" in done.stderr
