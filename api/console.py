"""The web console at `/`: a page of plain ES modules and CSS shipped in the package
(api/static/console), a client of the public GraphQL and REST API with the signed-in
person's token. Nothing is built or downloaded at run time."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.browser import page_text

router = APIRouter(include_in_schema=False)
CONSOLE_PATH = "/"


@router.get(CONSOLE_PATH)
def console() -> HTMLResponse:
    """The console's page; its scripts load from /static/console under CONSOLE_POLICY."""
    return HTMLResponse(page_text("console/index.html"), headers={"Cache-Control": "no-cache"})
