"""Reading a robot's scan batch (NDJSON: a header line, then one line per tag read), checked
line by line: the first bad line is named with its number and field, and nothing is kept.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

HEX = re.compile(r"^(?:[0-9A-Fa-f]{2}){2,32}$")
READ_FIELDS = ("t", "phase", "rssi", "freq", "ax", "ay", "az")


class ScanBatchError(ValueError):
    """A batch that cannot be accepted; names the line and the field."""

    def __init__(self, line: int, field: str, problem: str) -> None:
        super().__init__(f"line {line}, field {field!r}: {problem}")
        self.line, self.field, self.problem = line, field, problem


@dataclass
class ScanBatch:
    """A checked batch: its header and its reads as arrays (tags by index into `epcs`)."""

    header: dict[str, Any]
    epcs: list[str]
    tag: NDArray[np.int64]
    columns: dict[str, NDArray[np.float64]]


def _number(line: int, record: dict[str, Any], name: str) -> float:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScanBatchError(line, name, f"a number is required, not {value!r}")
    if not math.isfinite(value):
        raise ScanBatchError(line, name, "must be a finite number")
    return float(value)


def _header(text: str) -> dict[str, Any]:
    try:
        header = json.loads(text)
    except ValueError as error:
        raise ScanBatchError(1, "header", f"not JSON ({error})") from None
    if not isinstance(header, dict) or header.get("type") != "header":
        raise ScanBatchError(1, "type", 'the first line must be {"type": "header", ...}')
    for name in ("batch_id", "robot", "shelf"):
        if not isinstance(header.get(name), str) or not header[name].strip():
            raise ScanBatchError(1, name, "a non-empty string is required")
    if isinstance(header.get("layer"), bool) or not isinstance(header.get("layer"), int):
        raise ScanBatchError(1, "layer", "an integer is required")
    offset = header.get("antenna_offset_m")
    if offset is not None and not (
            isinstance(offset, list) and len(offset) == 3 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in offset)):
        raise ScanBatchError(1, "antenna_offset_m", "three finite numbers [x, y, z] in metres")
    return header


def read_batch(stream: IO[str]) -> ScanBatch:
    """The batch, or ScanBatchError at its first bad line."""
    first = stream.readline()
    if not first.strip():
        raise ScanBatchError(1, "header", "the batch is empty: the first line is a header")
    header = _header(first)
    index: dict[str, int] = {}
    tags = array("q")  # packed: a million reads are not a million Python objects
    columns = {name: array("d") for name in READ_FIELDS}
    for number, text in enumerate(stream, start=2):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as error:
            raise ScanBatchError(number, "line", f"not JSON ({error})") from None
        if not isinstance(record, dict):
            raise ScanBatchError(number, "line", "each read is a JSON object")
        epc = record.get("epc")
        if not isinstance(epc, str) or not HEX.match(epc):
            raise ScanBatchError(number, "epc", f"{epc!r} is not a hexadecimal EPC")
        values = {name: _number(number, record, name) for name in READ_FIELDS}
        if not 0 <= values["phase"] < 2 * math.pi:
            raise ScanBatchError(number, "phase", f"{values['phase']} is outside [0, 2π)")
        tags.append(index.setdefault(epc.upper(), len(index)))
        for name in READ_FIELDS:
            columns[name].append(values[name])
    return ScanBatch(header, list(index), np.frombuffer(tags, dtype=np.int64),
                     {name: np.frombuffer(values, dtype=np.float64)
                      for name, values in columns.items()})
