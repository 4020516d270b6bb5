"""A scan batch is checked line by line; the first bad line is named with its field."""

from __future__ import annotations

import io
import json
import math

import pytest

from infra.scan_batch import ScanBatchError, read_batch

HEADER = {"type": "header", "batch_id": "b-1", "robot": "r-1", "shelf": "A-01", "layer": 2}
READ = {"t": 0.5, "epc": "e2801160", "phase": 1.0, "rssi": -50.0, "freq": 920.625e6,
        "ax": 0.1, "ay": -0.3, "az": 1.0}


def _batch(*lines: object) -> io.StringIO:
    return io.StringIO("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                               for x in lines))


def test_a_good_batch_reads_into_arrays() -> None:
    batch = read_batch(_batch({**HEADER, "antenna_offset_m": [0.0, 0.05, -0.1]}, READ,
                              {**READ, "epc": "AABB"}, "", READ))
    assert batch.header["shelf"] == "A-01"
    assert batch.epcs == ["E2801160", "AABB"]
    assert batch.tag.tolist() == [0, 1, 0]
    assert batch.columns["ax"].tolist() == [0.1, 0.1, 0.1]


@pytest.mark.parametrize(("lines", "line", "field"), [
    ([], 1, "header"),
    ([READ], 1, "type"),
    ([{**HEADER, "shelf": ""}], 1, "shelf"),
    ([{**HEADER, "layer": "two"}], 1, "layer"),
    ([{**HEADER, "antenna_offset_m": [0, 0.1]}], 1, "antenna_offset_m"),
    ([{**HEADER, "antenna_offset_m": [0, "x", 1]}], 1, "antenna_offset_m"),
    ([HEADER, READ, "{not json"], 3, "line"),
    ([HEADER, {**READ, "epc": "XYZ1"}], 2, "epc"),
    ([HEADER, {**READ, "phase": 6.3}], 2, "phase"),
    ([HEADER, {**READ, "phase": -0.1}], 2, "phase"),
    ([HEADER, READ, {**READ, "phase": 6.2843}], 3, "phase"),
    ([HEADER, {**READ, "phase": -0.0011}], 2, "phase"),
    ([{**HEADER, "depth_m": [0.8, 0.3]}], 1, "depth_m"),
    ([{**HEADER, "depth_m": [0, 0.5]}], 1, "depth_m"),
    ([{**HEADER, "depth_m": 0.5}], 1, "depth_m"),
    ([{**HEADER, "depth_m": [0.1, True]}], 1, "depth_m"),
    ([{**HEADER, "window_m": -0.2}], 1, "window_m"),
    ([{**HEADER, "window_m": "wide"}], 1, "window_m"),
    ([HEADER, READ, {**READ, "rssi": "loud"}], 3, "rssi"),
    ([HEADER, '{"t": 0, "epc": "AABB", "phase": NaN, "rssi": -50, "freq": 1, "ax": 0, '
              '"ay": 0, "az": 0}'], 2, "phase"),
    ([HEADER, {k: v for k, v in READ.items() if k != "freq"}], 2, "freq"),
])
def test_bad_lines_are_named(lines: list[object], line: int, field: str) -> None:
    with pytest.raises(ScanBatchError) as error:
        read_batch(_batch(*lines))
    assert (error.value.line, error.value.field) == (line, field)


@pytest.mark.parametrize(("written", "folded"), [
    (6.2832, 6.2832 - 2 * math.pi), (2 * math.pi, 0.0), (2 * math.pi + 0.001, 0.001),
    (-0.0005, 2 * math.pi - 0.0005), (-1e-17, 0.0), (0.0, 0.0), (6.28, 6.28)])
def test_phases_rounded_at_the_edge_of_the_turn_are_folded(written: float,
                                                           folded: float) -> None:
    batch = read_batch(_batch(HEADER, {**READ, "phase": written}))
    phase = float(batch.columns["phase"][0])
    assert 0 <= phase < 2 * math.pi
    assert phase == pytest.approx(folded, abs=1e-12)


def test_a_robots_geometry_comes_with_the_header() -> None:
    batch = read_batch(_batch({**HEADER, "depth_m": [0.3, 1.2], "window_m": 0.5}, READ))
    assert batch.header["depth_m"] == [0.3, 1.2]
    assert batch.header["window_m"] == 0.5


def test_a_bad_line_deep_in_a_long_batch_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("infra.scan_batch.CHUNK_LINES", 4)
    reads = [{**READ, "t": float(n), "epc": f"AB{n % 3:02d}"} for n in range(20)]
    good = read_batch(_batch(HEADER, *reads, "", {**READ, "phase": 6.2832}))
    assert good.epcs == ["AB00", "AB01", "AB02", "E2801160"]
    assert good.tag.tolist() == [n % 3 for n in range(20)] + [3]
    assert good.columns["t"].tolist()[:20] == [float(n) for n in range(20)]
    assert 0 <= good.columns["phase"][-1] < 1e-3
    for bad, field in (({**READ, "rssi": True}, "rssi"), ({**READ, "freq": "9e8"}, "freq"),
                       ({**READ, "epc": 12}, "epc"), ([1, 2], "line"),
                       ({**READ, "phase": 6.5}, "phase")):
        with pytest.raises(ScanBatchError) as error:
            read_batch(_batch(HEADER, *reads[:13], bad, *reads[13:]))
        assert (error.value.line, error.value.field) == (15, field)
