"""Reading a robot's scan batch (NDJSON: a header line, then one line per tag read), checked
line by line: the first bad line is named with its number and field, and nothing is kept.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from array import array
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import orjson
from numpy.typing import NDArray

HEX = re.compile(r"^(?:[0-9A-Fa-f]{2}){2,32}$")
READ_FIELDS = ("t", "phase", "rssi", "freq", "ax", "ay", "az")
PHASE_TOLERANCE = 1e-3  # middleware rounds: 2π written as 6.2832 is folded, not refused
TWO_PI = 2 * math.pi
CHUNK_LINES = 50_000  # reads checked at once (a bad chunk is read again line by line)


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


MAX_NAME = 200  # a batch id, robot or shelf name
MAX_LAYER = 999
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # and lone surrogates

def _header(text: str) -> dict[str, Any]:
    try:
        header = json.loads(text)
    except ValueError as error:
        raise ScanBatchError(1, "header", f"not JSON ({error})") from None
    except RecursionError:
        raise ScanBatchError(1, "header", "not a header: JSON nested too deep") from None
    if not isinstance(header, dict) or header.get("type") != "header":
        raise ScanBatchError(1, "type", 'the first line must be {"type": "header", ...}')
    for name in ("batch_id", "robot", "shelf"):
        if not isinstance(header.get(name), str) or not header[name].strip():
            raise ScanBatchError(1, name, "a non-empty string is required")
        if len(header[name]) > MAX_NAME or _CONTROL.search(header[name]):
            raise ScanBatchError(1, name, f"at most {MAX_NAME} characters, no control "
                                 "characters (such as NUL) or lone surrogates")
    if isinstance(header.get("layer"), bool) or not isinstance(header.get("layer"), int):
        raise ScanBatchError(1, "layer", "an integer is required")
    if not 0 <= header["layer"] <= MAX_LAYER:
        raise ScanBatchError(1, "layer", f"a shelf layer from 0 to {MAX_LAYER}")
    offset = header.get("antenna_offset_m")
    if offset is not None and not (
            isinstance(offset, list) and len(offset) == 3 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in offset)):
        raise ScanBatchError(1, "antenna_offset_m", "three finite numbers [x, y, z] in metres")
    _geometry(header)
    return header


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def _geometry(header: dict[str, Any]) -> None:
    """The robot's geometry, when the header gives it: `depth_m` [nearest, farthest] a tag
    may stand behind the antenna's path, `window_m` how far along the shelf from the
    strongest reads a tag may be (both in metres)."""
    depth = header.get("depth_m")
    if depth is not None and not (
            isinstance(depth, list) and len(depth) == 2 and all(_finite(v) for v in depth)
            and 0 < depth[0] < depth[1] <= 5):
        raise ScanBatchError(1, "depth_m", "[nearest, farthest] in metres, "
                             "0 < nearest < farthest <= 5")
    window = header.get("window_m")
    if window is not None and not (_finite(window) and 0.02 <= window <= 5):
        raise ScanBatchError(1, "window_m", "a number of metres in [0.02, 5]")


class _RecheckError(Exception):
    """A chunk the fast path cannot vouch for: the careful path names its bad line."""


def _fast(lines: list[str], index: dict[str, int]
          ) -> tuple[NDArray[np.int64], dict[str, NDArray[np.float64]]]:
    """A chunk of good reads, checked column by column (a bad one: _RecheckError)."""
    texts = [text for text in lines if not text.isspace()]
    try:
        # orjson: a few times faster; what it refuses (NaN, nesting deeper than 1024) the
        # careful path reads with json and names
        records = orjson.loads("[" + ",".join(texts) + "]")
    except (ValueError, RecursionError):
        raise _RecheckError from None
    if len(records) != len(texts) or (records and set(map(type, records)) != {dict}):
        raise _RecheckError
    epcs = [record.get("epc") for record in records]
    if epcs and (set(map(type, epcs)) != {str} or not all(map(HEX.match, epcs))):
        raise _RecheckError
    columns = {}
    for name in READ_FIELDS:
        values = [record.get(name) for record in records]
        if values and not set(map(type, values)) <= {int, float}:
            raise _RecheckError
        column = np.array(values, dtype=np.float64)
        if not np.isfinite(column).all():
            raise _RecheckError
        columns[name] = column
    phase = columns["phase"]
    edge = (phase < 0) | (phase >= TWO_PI)
    if edge.any():
        if ((phase < -PHASE_TOLERANCE) | (phase > TWO_PI + PHASE_TOLERANCE)).any():
            raise _RecheckError
        folded = np.mod(phase[edge], TWO_PI)  # rounded edge values, folded
        phase[edge] = np.where(folded < TWO_PI, folded, 0.0)
    upper = list(map(str.upper, epcs))
    for epc in dict.fromkeys(upper):
        index.setdefault(epc, len(index))
    return np.fromiter(map(index.__getitem__, upper), np.int64, len(upper)), columns


def _careful(lines: list[str], first: int, index: dict[str, int]
             ) -> tuple[NDArray[np.int64], dict[str, NDArray[np.float64]]]:
    """A chunk read line by line: ScanBatchError at its first bad line."""
    tags = array("q")
    columns = {name: array("d") for name in READ_FIELDS}
    for number, text in enumerate(lines, start=first):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as error:
            raise ScanBatchError(number, "line", f"not JSON ({error})") from None
        except RecursionError:
            raise ScanBatchError(number, "line", "not a read: JSON nested too deep") from None
        if not isinstance(record, dict):
            raise ScanBatchError(number, "line", "each read is a JSON object")
        epc = record.get("epc")
        if not isinstance(epc, str) or not HEX.match(epc):
            raise ScanBatchError(number, "epc", f"{epc!r} is not a hexadecimal EPC")
        values = {name: _number(number, record, name) for name in READ_FIELDS}
        phase = values["phase"]
        if not 0 <= phase < TWO_PI:
            if not -PHASE_TOLERANCE <= phase <= TWO_PI + PHASE_TOLERANCE:
                raise ScanBatchError(number, "phase", f"{phase} is outside [0, 2π)")
            folded = phase % TWO_PI  # a rounded edge value, folded
            values["phase"] = folded if folded < TWO_PI else 0.0  # (-1e-17 % 2π is 2π)
        tags.append(index.setdefault(epc.upper(), len(index)))
        for name in READ_FIELDS:
            columns[name].append(values[name])
    return (np.frombuffer(tags, dtype=np.int64),
            {name: np.frombuffer(values, dtype=np.float64) for name, values in columns.items()})


def check_reads(lines: list[str], first: int, index: dict[str, int]
                ) -> tuple[NDArray[np.int64], dict[str, NDArray[np.float64]]]:
    """Reads (line `first` onwards) as arrays, tags added to `index`; ScanBatchError at the
    first bad line. The fast, columnar check first; a chunk it cannot vouch for is read again
    line by line."""
    try:
        return _fast(lines, index)
    except _RecheckError:
        return _careful(lines, first, index)


def check_header(text: str) -> dict[str, Any]:
    """The header (line 1), or ScanBatchError naming its bad field."""
    if not text.strip():
        raise ScanBatchError(1, "header", "the batch is empty: the first line is a header")
    return _header(text)


def read_batch(stream: IO[str]) -> ScanBatch:
    """The batch, or ScanBatchError at its first bad line, read in chunks."""
    header = check_header(stream.readline())
    index: dict[str, int] = {}
    parts = []
    number = 2
    while lines := list(itertools.islice(stream, CHUNK_LINES)):
        parts.append(check_reads(lines, number, index))
        number += len(lines)
    return ScanBatch(header, list(index),
                     np.concatenate([tags for tags, _ in parts]) if parts
                     else np.zeros(0, dtype=np.int64),
                     {name: np.concatenate([c[name] for _, c in parts]) if parts
                      else np.zeros(0) for name in READ_FIELDS})
