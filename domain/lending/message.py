"""What travels between the two ends of a transaction, as the domain sees it: a message id
(so a message delivered twice is applied once) and when its sender sent it (so a message
overtaken by a later one is recognised as late)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.lending.errors import LendingInputInvalidError

MAX_NOTE = 2000


@dataclass(frozen=True)
class Sent:
    """A message's identity at its sender and the time it was sent (UTC, aware)."""

    message_id: str
    sent_at: datetime


def check_note(note: str | None, field: str = "note") -> str:
    """A free-text note: at most 2000 printable characters (line breaks allowed)."""
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise LendingInputInvalidError(f"{field}: at most {MAX_NOTE} characters")
    if any(not (c.isprintable() or c in "\n\t") for c in text):
        raise LendingInputInvalidError(f"{field}: control characters are not allowed")
    return text
