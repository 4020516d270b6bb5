"""What a command's events are recorded with, beside them in `<schema>.commands`: the request
that asked for it and the operation (other facts join by name). Set for the work at hand
(a context variable: it follows the request into the thread that runs the command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_metadata: ContextVar[dict[str, str] | None] = ContextVar("command_metadata", default=None)


@contextmanager
def command_metadata(**values: str | None) -> Iterator[None]:
    """Adds these facts (None: left out) to what commands run inside record."""
    merged = {**(_metadata.get() or {}), **{k: v for k, v in values.items() if v is not None}}
    token = _metadata.set(merged)
    try:
        yield
    finally:
        _metadata.reset(token)


def current_metadata() -> dict[str, str] | None:
    """The facts commands run now record (None: none)."""
    return _metadata.get() or None
