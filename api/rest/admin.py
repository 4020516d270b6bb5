"""The consortium office's REST API under /admin (scope consortium:admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import AdminDep, ServicesDep
from tenants.tenant import Tenant

router = APIRouter(prefix="/admin", tags=["consortium office"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantIn(_Strict):
    """A member library to register."""

    slug: str = Field(description="2-40 lowercase letters, digits and hyphens")
    name: str
    isil: str | None = Field(default=None, description="ISO 15511 library identifier")


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


class ClientIn(_Strict):
    """An API client to issue to a tenant."""

    name: str
    scopes: list[str]


class ClientOut(BaseModel):
    """A new client; the secret is shown this once only."""

    client_id: str
    client_secret: str
    scopes: list[str]


def tenant_out(tenant: Tenant) -> TenantOut:
    """The tenant's public shape."""
    return TenantOut(slug=tenant.slug, name=tenant.name, isil=tenant.isil, status=tenant.status,
                     suspension_reason=tenant.suspension_reason)


@router.post("/tenants", status_code=201)
def create_tenant(body: TenantIn, svc: ServicesDep, _: AdminDep) -> TenantOut:
    """Registers a member library and provisions its event store."""
    tenant = svc.consortium.register_tenant(body.slug, body.name, body.isil)
    svc.wait_for_office_views()
    return tenant_out(tenant)


@router.get("/tenants")
def list_tenants(svc: ServicesDep, _: AdminDep) -> list[TenantOut]:
    """Every member library, by slug, from the tenant directory read model."""
    return [TenantOut.model_validate(row) for row in svc.tenant_directory()]


@router.get("/tenants/{slug}")
def show_tenant(slug: str, svc: ServicesDep, _: AdminDep) -> TenantOut:
    """One member library."""
    return tenant_out(svc.consortium.office.get_tenant(slug))


@router.post("/tenants/{slug}/suspend")
def suspend_tenant(slug: str, body: SuspendIn, svc: ServicesDep, _: AdminDep) -> TenantOut:
    """Suspends an active tenant: its tokens are refused at once."""
    tenant = svc.consortium.suspend_tenant(slug, body.reason)
    svc.wait_for_office_views()
    return tenant_out(tenant)


@router.post("/tenants/{slug}/reactivate")
def reactivate_tenant(slug: str, svc: ServicesDep, _: AdminDep) -> TenantOut:
    """Reactivates a suspended tenant."""
    tenant = svc.consortium.reactivate_tenant(slug)
    svc.wait_for_office_views()
    return tenant_out(tenant)


@router.post("/tenants/{slug}/archive")
def archive_tenant(slug: str, svc: ServicesDep, _: AdminDep) -> TenantOut:
    """Archives a tenant for good."""
    tenant = svc.consortium.archive_tenant(slug)
    svc.wait_for_office_views()
    return tenant_out(tenant)


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
