"""The consortium office's REST API under /admin (scope consortium:admin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.dependencies import AdminDep, Services, ServicesDep
from domain.shared.application import Receipt
from tenants.commands import Command
from tenants.errors import ClientNotFoundError, TenantFieldInvalidError
from tenants.scope import tenant_schema
from tenants.tenant import Tenant

router = APIRouter(prefix="/admin", tags=["consortium office"])
DEFAULT_GRACE_S = 86_400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantIn(_Strict):
    """A member library to register."""

    slug: str = Field(description="2-40 lowercase letters, digits and hyphens")
    name: str
    isil: str | None = Field(default=None, description="ISO 15511 library identifier")
    server: str | None = Field(default=None, description="the database server to place it on "
                               "(default: the one holding the fewest tenants)")


class TenantPatch(_Strict):
    """What the office may change of a library: its display name, its ISIL (null removes)."""

    name: str | None = None
    isil: str | None = Field(default=None, description="ISO 15511 library identifier; "
                             "null removes it")


class RotateIn(_Strict):
    """How long the old secret keeps working beside the new one."""

    grace_seconds: int = Field(default=DEFAULT_GRACE_S, description="0 (the old secret stops "
                               "at once) to 2592000 (30 days); default 86400 (a day)")


class SuspendIn(_Strict):
    """Why a tenant is suspended."""

    reason: str


class TenantOut(BaseModel):
    """A member library as the office sees it."""

    slug: str
    name: str
    isil: str | None
    status: str
    suspension_reason: str | None = None


class PlacedTenantOut(TenantOut):
    """A member library with the database server it lives on."""

    server: str = Field(description="default, or a name from COMMONSHELF_TENANT_SERVERS")


class ClientIn(_Strict):
    """An API client to issue to a tenant."""

    name: str
    scopes: list[str]


class ClientListed(BaseModel):
    """A client as the office lists it: never its secret."""

    client_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked: bool
    revoked_at: datetime | None
    last_token_at: datetime | None = Field(description="when it last got an access token")
    secret_rotated_at: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="until when the secret it replaced still works (null: none does)")


class RotatedOut(BaseModel):
    """A client's new secret, shown this once; the old one works until the time given."""

    client_id: str
    client_secret: str
    previous_secret_valid_until: datetime


class ClientOut(BaseModel):
    """A new client; the secret is shown this once only."""

    client_id: str
    client_secret: str
    scopes: list[str]


def tenant_out(tenant: Tenant) -> TenantOut:
    """The tenant's public shape."""
    return TenantOut(slug=tenant.slug, name=tenant.name, isil=tenant.isil, status=tenant.status,
                     suspension_reason=tenant.suspension_reason)


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="a retry with the same key and body answers as the first call did and "
                "records nothing; the same key with another body is refused (422)")]
OFFICE_VIEWS = ("tenant_directory",)


async def _office_command(svc: Services, key: str | None, operation: str,
                          given: dict[str, Any],
                          run: Callable[[Receipt | None], Tenant], *,
                          caller: Principal) -> TenantOut:
    """Runs an office command on a tenant through the command pipeline, then answers with
    the tenant as it now is (read-your-writes: the directory shows it)."""
    answer = await svc.pipeline.execute(svc.office, key, Command(
        operation, given, run, lambda tenant: {"slug": tenant.slug}, OFFICE_VIEWS,
        actor=caller.actor))
    tenant = await svc.pipeline.run_in_thread(
        lambda: svc.consortium.office.get_tenant(answer["slug"]))
    return tenant_out(tenant)


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantIn, svc: ServicesDep, caller: AdminDep,
                        key: IdempotencyKey = None) -> PlacedTenantOut:
    """Registers a member library and provisions its event store; answers with the
    database server it was placed on."""
    created = await _office_command(
        svc, key, "createTenant", body.model_dump(),
        lambda receipt: svc.consortium.register_tenant(body.slug, body.name, body.isil,
                                                       receipt, server=body.server),
        caller=caller)
    server = await svc.pipeline.run_in_thread(lambda: svc.consortium.server_of(created.slug))
    return PlacedTenantOut(**created.model_dump(), server=server)


@router.get("/tenants")
def list_tenants(svc: ServicesDep, _: AdminDep) -> list[PlacedTenantOut]:
    """Every member library, by slug, from the tenant directory read model, with the
    database server each lives on."""
    listed = svc.tenant_directory()
    placed = svc.consortium.placement.servers_of([row["slug"] for row in listed])
    return [PlacedTenantOut(**TenantOut.model_validate(row).model_dump(),
                            server=placed[row["slug"]]) for row in listed]


@router.get("/tenants/{slug}")
def show_tenant(slug: str, svc: ServicesDep, _: AdminDep) -> PlacedTenantOut:
    """One member library, with the database server it lives on."""
    tenant = tenant_out(svc.consortium.office.get_tenant(slug))
    return PlacedTenantOut(**tenant.model_dump(), server=svc.consortium.server_of(slug))


@router.post("/tenants/{slug}/suspend")
async def suspend_tenant(slug: str, body: SuspendIn, svc: ServicesDep, caller: AdminDep,
                         key: IdempotencyKey = None) -> TenantOut:
    """Suspends an active tenant: its tokens are refused at once."""
    return await _office_command(
        svc, key, "suspendTenant", {"slug": slug, **body.model_dump()},
        lambda receipt: svc.consortium.suspend_tenant(slug, body.reason, receipt), caller=caller)


@router.post("/tenants/{slug}/reactivate")
async def reactivate_tenant(slug: str, svc: ServicesDep, caller: AdminDep,
                            key: IdempotencyKey = None) -> TenantOut:
    """Reactivates a suspended tenant."""
    return await _office_command(
        svc, key, "reactivateTenant", {"slug": slug},
        lambda receipt: svc.consortium.reactivate_tenant(slug, receipt), caller=caller)


@router.post("/tenants/{slug}/archive")
async def archive_tenant(slug: str, svc: ServicesDep, caller: AdminDep,
                         key: IdempotencyKey = None) -> TenantOut:
    """Archives a tenant for good."""
    return await _office_command(
        svc, key, "archiveTenant", {"slug": slug},
        lambda receipt: svc.consortium.archive_tenant(slug, receipt), caller=caller)


@router.post("/tenants/{slug}/clients", status_code=201)
def create_client(slug: str, body: ClientIn, svc: ServicesDep, _: AdminDep) -> ClientOut:
    """Issues an API client to a tenant with the chosen library scopes."""
    issued = svc.consortium.create_client(slug, body.name, body.scopes)
    return ClientOut(client_id=issued.client.client_id, client_secret=issued.secret,
                     scopes=issued.client.scopes)


@router.delete("/tenants/{slug}/clients/{client_id}", status_code=204)
def revoke_client(slug: str, client_id: str, svc: ServicesDep, _: AdminDep) -> Response:
    """Revokes a tenant's client: no new tokens, and its current tokens are refused."""
    svc.consortium.office.get_tenant(slug)
    svc.consortium.revoke_client(slug, client_id)
    return Response(status_code=204)


@router.patch("/tenants/{slug}")
async def change_tenant(slug: str, body: TenantPatch, svc: ServicesDep, caller: AdminDep,
                        key: IdempotencyKey = None) -> TenantOut:
    """Renames a library or changes its ISIL (`{"isil": null}` removes it); recorded as an
    event of the tenant, and the directory shows it."""
    given = body.model_fields_set
    if "name" in given and body.name is None:
        raise TenantFieldInvalidError("name: give the new name (it cannot be null)")
    return await _office_command(
        svc, key, "changeTenant", {"slug": slug, **body.model_dump(exclude_unset=True)},
        lambda receipt: svc.consortium.office.change_tenant_details(
            slug, name=body.name, isil=body.isil,
            remove_isil="isil" in given and body.isil is None, receipt=receipt), caller=caller)


@router.get("/tenants/{slug}/clients")
def list_clients(slug: str, svc: ServicesDep, _: AdminDep) -> list[ClientListed]:
    """A library's API clients, oldest first, revoked ones too; never their secrets."""
    if svc.consortium.deleted(slug):  # its clients went with its store
        return []
    clients = svc.consortium.scope(slug).clients.list_clients()
    last = svc.client_usage.last_tokens(tenant_schema(slug))
    now = datetime.now(UTC)
    return [ClientListed(
        client_id=c.client_id, name=c.name, scopes=c.scopes, created_at=c.created_at,
        revoked=c.revoked, revoked_at=getattr(c, "revoked_at", None),
        last_token_at=last.get(c.client_id), secret_rotated_at=c.rotated_at,
        previous_secret_valid_until=(c.previous_valid_until if c.previous_valid_until
                                     and c.previous_valid_until > now else None))
        for c in clients]


@router.post("/tenants/{slug}/clients/{client_id}/rotate-secret")
def rotate_secret(slug: str, client_id: str, svc: ServicesDep, _: AdminDep,
                  body: RotateIn | None = None) -> RotatedOut:
    """A new secret for a library's client, shown this once; the old one keeps working for
    the grace period (default a day), then stops."""
    svc.consortium.office.get_tenant(slug)
    owner, registry = svc.consortium.registry_for(client_id)
    if owner != slug:
        raise ClientNotFoundError(f"no API client {client_id!r} for this tenant")
    grace = (body or RotateIn()).grace_seconds
    client, secret = registry.rotate_secret(client_id, timedelta(seconds=grace))
    if client.previous_valid_until is None:
        raise RuntimeError("a rotated secret has a grace period")
    return RotatedOut(client_id=client.client_id, client_secret=secret,
                      previous_secret_valid_until=client.previous_valid_until)
