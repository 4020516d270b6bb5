"""Text the service keeps: no control characters but tab and line breaks, no broken Unicode.
A NUL byte in an event would stop every read model that stores it (PostgreSQL's text refuses
it), so every command checks its text before anything is recorded."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value: str) -> str | None:
    """What makes a text unfit to keep, or None."""
    if _CONTROL.search(value):
        return "control characters (such as NUL) are not allowed; only tab and line breaks"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode text (a lone surrogate)"
    return None


def without_controls(value: str) -> str:
    """The text with its control characters (but tab and line breaks) removed."""
    return _CONTROL.sub("", value)
