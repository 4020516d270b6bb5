"""Every HTTP request has an id: the caller's `X-Request-Id` when it is a sensible one, else a
new one. It comes back in the response header, goes into the JSON logs, and is recorded with
the events of the commands the request ran (`<schema>.commands`)."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.command_metadata import command_metadata

HEADER = b"x-request-id"
GIVEN = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def request_id(scope: Scope) -> str:
    """The caller's id for the request if it is 1-128 letters, digits or `._:-`; else new."""
    for name, value in scope.get("headers", []):
        if name == HEADER and GIVEN.match(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


class RequestIds:
    """Gives each request its id for the work it does, and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = request_id(scope)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (HEADER, given.encode("ascii"))]
            await send(message)

        with command_metadata(request_id=given):
            await self.app(scope, receive, tagged)
