"""`commonshelf staff create|list|disable|enable|reset-password`, and the demo's staff."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from api.dependencies import Services
from domain.staff.errors import PasswordRejectedError
from domain.staff.passwords import check_password
from domain.staff.roles import LIBRARY_ADMIN, LIBRARY_ROLES, OFFICE_ADMIN, OFFICE_ROLES
from domain.staff.user import StaffUser
from infra.command_metadata import command_metadata
from tenants.scope import OFFICE
from tenants.staff import StaffAccounts

ServicesOf = Callable[[str | None], AbstractContextManager[Services]]
CLI_ACTOR = "cli"


def staff_json(user: StaffUser, tenant: str | None) -> dict[str, Any]:
    """A staff user as the CLI and REST show it: never a password or its hash."""
    return {"tenant": tenant or OFFICE, "username": user.username,
            "display_name": user.display_name, "roles": user.roles, "status": user.status,
            "scopes": sorted(user.scopes), "created_at": user.created_at.isoformat()}


def _password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _tenant(slug: str) -> str | None:
    return None if slug == OFFICE else slug


def cmd_staff(args: argparse.Namespace, services_of: ServicesOf) -> int:
    """Creates, lists, disables, enables staff users and resets their passwords."""
    password = _password() if args.action in ("create", "reset-password") else ""
    tenant = _tenant(args.tenant)
    with services_of(args.data_dir) as services, command_metadata(
            actor=CLI_ACTOR, operation=f"staff {args.action}"):
        staff = services.consortium.staff
        if args.action == "list":
            users = [staff_json(u, tenant) for u in staff.list_users(tenant)]
            text = "\n".join(f"{u['username']:<24} {u['status']:<9} {' '.join(u['roles'])}"
                             for u in users) or "(no staff users)"
            print(json.dumps(users, indent=2, ensure_ascii=False) if args.json else text)
            return 0
        if args.action == "create":
            user = staff.create_user(tenant, args.username,
                                     display_name=args.display_name or args.username,
                                     roles=[r for g in args.role for r in g.split()],
                                     password=password)
        elif args.action == "disable":
            user = staff.disable_user(tenant, args.username)
        elif args.action == "enable":
            user = staff.enable_user(tenant, args.username)
        else:
            user = staff.reset_password(tenant, args.username, password)
    out = staff_json(user, tenant)
    print(json.dumps(out, indent=2, ensure_ascii=False) if args.json else
          f"{out['tenant']}/{out['username']}: {out['status']}, roles {' '.join(out['roles'])}")
    return 0


def staff_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `staff` command's arguments."""
    staff = sub.add_parser("staff", help="staff users of the office and of the libraries")
    ssub = staff.add_subparsers(dest="action", required=True)
    roles = f"office: {', '.join(OFFICE_ROLES)}; library: {', '.join(LIBRARY_ROLES)}"
    for action, text in (("create", "create a staff user"), ("list", "list staff users"),
                         ("disable", "disable an account (its sessions end at once)"),
                         ("enable", "let a disabled account sign in again"),
                         ("reset-password", "set a new password (its sessions end)")):
        parser = ssub.add_parser(action, parents=[common], help=text)
        parser.add_argument("--tenant", required=True,
                            help="the library's slug, or `office` for the consortium office")
        if action != "list":
            parser.add_argument("--username", required=True)
        if action == "create":
            parser.add_argument("--role", action="append", required=True,
                                help=f"a role (repeat for several): {roles}")
            parser.add_argument("--display-name", help="the name people see (default: the "
                                "username)")
        if action in ("create", "reset-password"):
            parser.add_argument("--password-stdin", action="store_true", required=True,
                                help="read the password from the first line of standard input "
                                "(it is never an argument, which others could see)")


def seed_demo_staff(staff: StaffAccounts, libraries: list[str]) -> list[dict[str, str]]:
    """Demo staff for the office and each library, with fresh passwords (shown once)."""
    people: list[tuple[str | None, str, str, list[str]]] = [
        (None, "admin", "Office Administrator", [OFFICE_ADMIN])]
    for slug in libraries:
        people += [(slug, "admin", "Library Administrator", [LIBRARY_ADMIN]),
                   (slug, "librarian", "Demo Librarian",
                    sorted(set(LIBRARY_ROLES) - {LIBRARY_ADMIN}))]
    made = []
    for tenant, username, name, roles in people:
        password = _demo_password(username)
        staff.create_user(tenant, username, display_name=name, roles=roles, password=password)
        made.append({"library": tenant or OFFICE, "username": username, "password": password,
                     "roles": " ".join(roles)})
    return made


def _demo_password(username: str) -> str:
    """Three random groups of six hex digits that pass the password rules."""
    while True:
        password = "-".join(secrets.token_hex(3) for _ in range(3))
        try:
            check_password(password, username)
        except PasswordRejectedError:
            continue  # all digits, say: draw again
        return password


def demo_staff_lines(people: list[dict[str, str]]) -> list[str]:
    """How the demo banner shows the staff's sign-in."""
    lines = ["Sign in to the console (the URL below; Library, Username, Password):"]
    lines += [f"  {p['library']:<18} {p['username']:<10} {p['password']}  ({p['roles']})"
              for p in people]
    return lines
