"""A library's administrators manage its staff: create, disable, enable, reset a password.
The password is never part of what the idempotency key is bound to (nor of any answer)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.graphql.commands import execute
from api.graphql.context import Context
from api.graphql.staff.types import StaffUser, StaffUserPayload
from domain.shared.application import Receipt
from domain.staff.user import StaffUser as StaffUserAggregate


@strawberry.input
class CreateStaffUserInput:
    """A new staff user of the library."""

    username: str = strawberry.field(description="2-64 lowercase letters, digits, '.', '-', "
                                     "'_'; unique in the library")
    display_name: str
    roles: list[str] = strawberry.field(description="cataloguer, circulation, acquisitions, "
                                        "ill, inventory, library-admin")
    password: str = strawberry.field(description="at least 12 characters, not a common one")
    idempotency_key: str | None = None


@strawberry.input
class StaffUserInput:
    """A staff user of the library, by username."""

    username: str
    idempotency_key: str | None = None


@strawberry.input
class ResetStaffPasswordInput:
    """A new password for a staff user; their sessions end."""

    username: str
    password: str
    idempotency_key: str | None = None


def _answer(user: StaffUserAggregate) -> dict[str, Any]:
    return {"username": user.username}


async def _staff_command(info: Info[Context, None], operation: str, given: Any,
                         run: Callable[[str, Receipt | None], StaffUserAggregate]
                         ) -> StaffUserPayload:
    tenant = (await info.context.principal()).library("library:admin")
    services = info.context.services
    keyed = dataclasses.replace(given, password="") if hasattr(given, "password") else given
    answer = await execute(info, services.scope(tenant), operation, keyed,
                           run=lambda receipt: run(tenant, receipt), answer=_answer, views=())
    user = await run_in_threadpool(services.consortium.staff.directory(tenant).get_user,
                                   answer["username"])
    return StaffUserPayload(staff_user=StaffUser.of(user))


@strawberry.type
class StaffMutations:
    """Staff administration by a library's administrators (scope library:admin)."""

    @strawberry.mutation(description="Creates a staff user of the library.")  # type: ignore[untyped-decorator]
    async def create_staff_user(self, info: Info[Context, None],
                                input: CreateStaffUserInput) -> StaffUserPayload:
        staff = info.context.services.consortium.staff
        return await _staff_command(info, "createStaffUser", input, lambda tenant, receipt:
                                    staff.create_user(tenant, input.username,
                                                      display_name=input.display_name,
                                                      roles=input.roles,
                                                      password=input.password,
                                                      receipt=receipt))

    @strawberry.mutation(description="Disables a staff user: their sessions end at once.")  # type: ignore[untyped-decorator]
    async def disable_staff_user(self, info: Info[Context, None],
                                 input: StaffUserInput) -> StaffUserPayload:
        staff = info.context.services.consortium.staff
        return await _staff_command(info, "disableStaffUser", input, lambda tenant, receipt:
                                    staff.disable_user(tenant, input.username, receipt))

    @strawberry.mutation(description="Lets a disabled staff user sign in again.")  # type: ignore[untyped-decorator]
    async def enable_staff_user(self, info: Info[Context, None],
                                input: StaffUserInput) -> StaffUserPayload:
        staff = info.context.services.consortium.staff
        return await _staff_command(info, "enableStaffUser", input, lambda tenant, receipt:
                                    staff.enable_user(tenant, input.username, receipt))

    @strawberry.mutation(description="Sets a staff user's new password; their sessions end.")  # type: ignore[untyped-decorator]
    async def reset_staff_password(self, info: Info[Context, None],
                                   input: ResetStaffPasswordInput) -> StaffUserPayload:
        staff = info.context.services.consortium.staff
        return await _staff_command(info, "resetStaffPassword", input, lambda tenant, receipt:
                                    staff.reset_password(tenant, input.username,
                                                         input.password, receipt))
