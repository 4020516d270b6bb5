"""The consortium office's REST API for staff accounts (scope consortium:admin): the office's
own staff under /admin/staff, and a library's under /admin/tenants/{slug}/staff (the office
creates a library's first administrator; the library's administrators manage the rest in
its GraphQL); and a library's (or the office's) audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.dependencies import AdminDep, Services, ServicesDep
from domain.shared.application import Receipt
from domain.staff.errors import StaffRoleInvalidError
from domain.staff.roles import LIBRARY_ADMIN
from domain.staff.user import StaffUser
from tenants.commands import Command
from tenants.scope import OFFICE

router = APIRouter(prefix="/admin", tags=["consortium office: staff"])
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="a retry with the same key and body answers as the "
    "first call did and records nothing (the password is not part of what the key binds)")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StaffIn(_Strict):
    """A staff user to create (the password is never shown again, nor stored but hashed)."""

    username: str = Field(description="2-64 lowercase letters, digits, '.', '-', '_'")
    display_name: str
    roles: list[str] = Field(description="office: office-admin; a library's first admin: "
                             "library-admin")
    password: str = Field(description="at least 12 characters, not a common password")


class PasswordIn(_Strict):
    """A new password (the user's sessions end)."""

    password: str


class StaffOut(BaseModel):
    """A staff user: never a password or its hash."""

    tenant: str
    username: str
    display_name: str
    roles: list[str]
    status: str
    scopes: list[str]
    created_at: datetime


class HistoryEntryOut(BaseModel):
    """One thing that happened, by whom and when."""

    position: int
    at: datetime | None
    actor: str | None
    operation: str | None
    aggregate: str
    aggregate_id: str
    event: str


class HistoryOut(BaseModel):
    """Entries newest first; `next_before` as `before` gives the older ones."""

    entries: list[HistoryEntryOut]
    next_before: int | None


def staff_out(user: StaffUser, tenant: str | None) -> StaffOut:
    """The public shape of a staff user."""
    return StaffOut(tenant=tenant or OFFICE, username=user.username,
                    display_name=user.display_name, roles=user.roles, status=user.status,
                    scopes=sorted(user.scopes), created_at=user.created_at)


def _tenant(slug: str | None) -> str | None:
    return None if slug in (None, OFFICE) else slug


async def _staff_command(svc: Services, caller: Principal, tenant: str | None,
                         command: tuple[str, dict[str, Any]], *, key: str | None,
                         run: Callable[[Receipt | None], StaffUser]) -> StaffOut:
    operation, given = command
    scope = svc.office if tenant is None else svc.scope(tenant)
    answer = await svc.pipeline.execute(scope, key, Command(
        operation, {"tenant": tenant or OFFICE, **given}, run,
        lambda user: {"username": user.username}, actor=caller.actor))
    user = await svc.pipeline.run_in_thread(
        lambda: svc.consortium.staff.directory(tenant).get_user(answer["username"]))
    return staff_out(user, tenant)


async def _create(svc: Services, caller: Principal, slug: str | None, body: StaffIn,
                  key: str | None) -> StaffOut:
    tenant = _tenant(slug)
    if tenant is not None and set(body.roles) != {LIBRARY_ADMIN}:
        raise StaffRoleInvalidError(f"roles: the office creates a library's administrators "
                                    f"only (['{LIBRARY_ADMIN}']); they create the library's "
                                    "other staff")
    given = body.model_dump(exclude={"password"})
    return await _staff_command(
        svc, caller, tenant, ("createStaffUser", given), key=key, run=lambda receipt:
        svc.consortium.staff.create_user(tenant, body.username, display_name=body.display_name,
                                         roles=body.roles, password=body.password,
                                         receipt=receipt))


@router.post("/staff", status_code=201)
async def create_office_staff(body: StaffIn, svc: ServicesDep, caller: AdminDep,
                              key: IdempotencyKey = None) -> StaffOut:
    """Creates a staff user of the consortium office (role office-admin)."""
    return await _create(svc, caller, None, body, key)


@router.post("/tenants/{slug}/staff", status_code=201)
async def create_library_staff(slug: str, body: StaffIn, svc: ServicesDep, caller: AdminDep,
                               key: IdempotencyKey = None) -> StaffOut:
    """Creates an administrator of a library (role library-admin)."""
    return await _create(svc, caller, slug, body, key)


@router.get("/staff")
def list_office_staff(svc: ServicesDep, _: AdminDep) -> list[StaffOut]:
    """The office's staff users, by username."""
    return [staff_out(u, None) for u in svc.consortium.staff.list_users(None)]


@router.get("/tenants/{slug}/staff")
def list_library_staff(slug: str, svc: ServicesDep, _: AdminDep) -> list[StaffOut]:
    """A library's staff users, by username."""
    tenant = _tenant(slug)
    return [staff_out(u, tenant) for u in svc.consortium.staff.list_users(tenant)]


@router.post("/tenants/{slug}/staff/{username}/disable")
async def disable_staff(slug: str, username: str, svc: ServicesDep, caller: AdminDep,
                        key: IdempotencyKey = None) -> StaffOut:
    """Disables a staff user of a library (`office`: of the office); their sessions end."""
    tenant = _tenant(slug)
    return await _staff_command(svc, caller, tenant, ("disableStaffUser", {"username": username}),
                                key=key, run=lambda receipt: svc.consortium.staff.disable_user(
                                    tenant, username, receipt))


@router.post("/tenants/{slug}/staff/{username}/enable")
async def enable_staff(slug: str, username: str, svc: ServicesDep, caller: AdminDep,
                       key: IdempotencyKey = None) -> StaffOut:
    """Lets a disabled staff user sign in again."""
    tenant = _tenant(slug)
    return await _staff_command(svc, caller, tenant, ("enableStaffUser", {"username": username}),
                                key=key, run=lambda receipt: svc.consortium.staff.enable_user(
                                    tenant, username, receipt))


@router.post("/tenants/{slug}/staff/{username}/reset-password")
async def reset_staff_password(slug: str, username: str, body: PasswordIn, svc: ServicesDep,
                               caller: AdminDep, *, key: IdempotencyKey = None) -> StaffOut:
    """Sets a staff user's new password; their sessions end."""
    tenant = _tenant(slug)
    return await _staff_command(svc, caller, tenant,
                                ("resetStaffPassword", {"username": username}), key=key,
                                run=lambda receipt: svc.consortium.staff.reset_password(
                                    tenant, username, body.password, receipt))


@router.get("/tenants/{slug}/history")
def tenant_history(slug: str, svc: ServicesDep, _: AdminDep, *,
                   first: Annotated[int, Query(description="1-200")] = 50,
                   before: Annotated[int | None, Query(description="a page's next_before")]
                   = None) -> HistoryOut:
    """Who did what and when in a library's log (`office`: the office's), newest first."""
    tenant = _tenant(slug)
    if tenant is not None:
        svc.consortium.office.get_tenant(tenant)
    page = svc.consortium.audit.of_tenant(tenant, first, before)
    return HistoryOut(entries=[HistoryEntryOut(
        position=e.position, at=e.at, actor=e.actor, operation=e.operation,
        aggregate=e.aggregate, aggregate_id=str(e.aggregate_id), event=e.event)
        for e in page.entries], next_before=page.next_before)
