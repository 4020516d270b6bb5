"""JSON bodies checked before any framework parses them: not UTF-8, or nested deeper than
any request of ours needs, is a 400 naming the problem (never a Python decoding error or a
RecursionError turned into a 500)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def problem_of(body: bytes) -> str | None:
    """What makes a body unreadable as JSON text, if anything."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the body is not UTF-8 text (byte {error.start} is 0x{body[error.start]:02x})"
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            return f"the JSON nests deeper than {MAX_DEPTH} levels"
    return None


class JsonBodies:
    """Reads a JSON request's body (already bounded by the body limit), refuses it when it is
    not UTF-8 or too deep, and hands it on otherwise. Only JSON documents: NDJSON uploads
    (scans, gzipped or not) stream on untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        media = content_type.split(b";", 1)[0].strip().lower()
        # One JSON document; NDJSON scan batches (gzip allowed) are read line by line.
        if scope["type"] != "http" or not (media == b"application/json"
                                           or media.endswith(b"+json")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = problem_of(body)
        if problem is not None:
            answer = json.dumps({"detail": f"{problem}: send JSON as UTF-8 text",
                                 "code": "MALFORMED_JSON"}).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(answer)).encode())]})
            await send({"type": "http.response.body", "body": answer})
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body,
                                        "more_body": False}]), send)


def _replay(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive
