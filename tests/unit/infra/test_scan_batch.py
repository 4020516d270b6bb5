"""A scan batch is checked line by line; the first bad line is named with its field."""

from __future__ import annotations

import io
import json

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
    ([HEADER, READ, {**READ, "rssi": "loud"}], 3, "rssi"),
    ([HEADER, '{"t": 0, "epc": "AABB", "phase": NaN, "rssi": -50, "freq": 1, "ax": 0, '
              '"ay": 0, "az": 0}'], 2, "phase"),
    ([HEADER, {k: v for k, v in READ.items() if k != "freq"}], 2, "freq"),
])
def test_bad_lines_are_named(lines: list[object], line: int, field: str) -> None:
    with pytest.raises(ScanBatchError) as error:
        read_batch(_batch(*lines))
    assert (error.value.line, error.value.field) == (line, field)
