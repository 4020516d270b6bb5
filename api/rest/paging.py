"""Cursors of the REST lists: a page's last (time, id), opaque to clients."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from fastapi import HTTPException

MAX_LIMIT = 100


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor that continues after this row."""
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The row a cursor continues after; 422 naming `after` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, TypeError):
        raise HTTPException(422, f"after: {cursor!r} is not a cursor of this list; pass the "
                                 "next_cursor of the previous page") from None
