"""JSON log lines: one object per record, extras kept, exceptions included."""

from __future__ import annotations

import json
import logging
import sys

from infra.command_metadata import command_metadata
from infra.logformat import JsonFormatter


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("commonshelf.test", logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_record_is_one_json_line_with_its_fields() -> None:
    line = JsonFormatter().format(_record("relay interrupted (%s)", "timeout"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "commonshelf.test"
    assert entry["message"] == "relay interrupted (timeout)"
    assert entry["ts"].endswith("+00:00")


def test_extra_fields_are_kept_and_unserializable_ones_stringified() -> None:
    entry = json.loads(JsonFormatter().format(_record("x", request_id="r-1", tenant=object())))
    assert entry["request_id"] == "r-1"
    assert entry["tenant"].startswith("<object object")


def _fail() -> None:
    raise ValueError("bad batch")


def test_an_exception_is_included_on_the_same_line() -> None:
    try:
        _fail()
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: bad batch" in json.loads(line)["exception"]


def test_a_line_logged_while_a_request_runs_names_its_request_id() -> None:
    with command_metadata(request_id="req-42"):
        inside = json.loads(JsonFormatter().format(_record("applied")))
    outside = json.loads(JsonFormatter().format(_record("idle")))
    assert inside["request_id"] == "req-42"
    assert "request_id" not in outside
