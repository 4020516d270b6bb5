"""Interlibrary lending over REST. ISO 18626: `POST /iso18626` (an outside library's message
in, the matching confirmation out: HTTP 200 for OK and ERROR alike, never a 5xx), and the
office's registration of an outside library with a member, `POST
/admin/tenants/{slug}/ill-peers`. The office's figures: `GET /admin/lending/figures`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import AdminDep, Services, ServicesDep
from api.rest.admin import IdempotencyKey
from projections.lending.view import LendingView
from tenants.commands import Command
from tenants.iso18626 import Iso18626Exchange
from tenants.tenant import ACTIVE

router = APIRouter(tags=["interlibrary lending"])
XML = "application/xml"


class PeerIn(BaseModel):
    """An outside library a member lends to over ISO 18626."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agency_id_type: str = Field(alias="agencyIdType", description="ISIL, or another type")
    agency_id_value: str = Field(alias="agencyIdValue")
    endpoint: str = Field(description="where its ISO 18626 messages are sent (http or https)")
    strict: bool = Field(default=False, description="hold its messages to the schema: the "
                         "namespace and only the elements ISO 18626 defines")


class PeerOut(BaseModel):
    """A registered outside library."""

    tenant: str
    agencyIdType: str  # noqa: N815 (the contract's JSON names)
    agencyIdValue: str  # noqa: N815
    endpoint: str
    strict: bool


def exchange(svc: Services) -> Iso18626Exchange:
    """The ISO 18626 exchange of this process."""

    def tenant_of_isil(isil: str) -> str | None:
        wanted = isil.strip().upper()
        return next((t["slug"] for t in svc.tenant_directory()
                     if (t["isil"] or "").upper() == wanted and t["status"] == ACTIVE), None)

    def members() -> list[str]:
        return [t["slug"] for t in svc.tenant_directory() if t["status"] == ACTIVE]

    def run(tenant: str, key: str, command: Command[Any]) -> object:
        return svc.pipeline.execute_here(svc.scope(tenant), key, command)

    return Iso18626Exchange(tenant_of_isil, members, svc.lending_desk, run,
                           lambda: datetime.now(UTC))


@router.post("/iso18626", response_class=Response,
             responses={200: {"content": {XML: {}},
                              "description": "the confirmation, OK or ERROR"}})
async def iso18626(request: Request, svc: ServicesDep) -> Response:
    """An ISO 18626 message (request, supplyingAgencyMessage, requestingAgencyMessage) in
    either schema version; the matching confirmation."""
    body = await request.body()
    answer = await svc.pipeline.run_in_thread(lambda: exchange(svc).answer(body))
    return Response(answer, media_type=XML)


@router.post("/admin/tenants/{slug}/ill-peers", status_code=201, tags=["consortium office"])
async def register_peer(slug: str, body: PeerIn, svc: ServicesDep, _: AdminDep,
                        key: IdempotencyKey = None) -> PeerOut:
    """Registers an outside library with a member (again: changes its endpoint and
    strictness)."""
    await svc.pipeline.run_in_thread(lambda: svc.consortium.not_archived(slug))
    scope = svc.scope(slug)
    answer = await svc.pipeline.execute(scope, key, Command(
        "registerIllPeer", body.model_dump(by_alias=True),
        lambda receipt: scope.lending.register_peer(
            body.agency_id_type, body.agency_id_value, body.endpoint, strict=body.strict,
            receipt=receipt),
        lambda peer: {"agencyIdType": peer.agency_id_type,
                      "agencyIdValue": peer.agency_id_value, "endpoint": peer.endpoint,
                      "strict": peer.strict}))
    return PeerOut(tenant=slug, **answer)


class FiguresOut(BaseModel):
    """What consortia report of a member's interlibrary requests (as requester)."""

    member: str
    requests: int
    filled: int
    unfilled: int
    turnaround_hours: float | None = Field(description="mean hours from the request to the "
                                                       "copy shipped, of those filled")


@router.get("/admin/lending/figures", tags=["consortium office"])
async def lending_figures(svc: ServicesDep, _: AdminDep) -> list[FiguresOut]:
    """Per member: interlibrary requests made, filled, unfilled, and the turnaround."""

    def read() -> list[FiguresOut]:
        with svc.view(LendingView) as view:
            return [FiguresOut(**row) for row in view.figures()]

    return await svc.pipeline.run_in_thread(read)
