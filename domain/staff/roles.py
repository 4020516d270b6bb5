"""Roles and the OAuth scopes they grant. A library role always includes `library:read`;
the office's one role is its administration."""

from __future__ import annotations

from collections.abc import Iterable

from domain.staff.errors import StaffRoleInvalidError

OFFICE_ADMIN = "office-admin"
LIBRARY_ADMIN = "library-admin"
# Scopes API clients already hold (tenants.client), plus library:admin: a library's own staff.
OFFICE_ROLES: dict[str, frozenset[str]] = {
    OFFICE_ADMIN: frozenset({"consortium:admin", "metrics"}),
}
_READ = frozenset({"library:read"})
LIBRARY_ROLES: dict[str, frozenset[str]] = {
    "cataloguer": _READ | {"library:write"},
    "circulation": _READ | {"library:write"},
    "acquisitions": _READ | {"library:write"},
    "ill": _READ | {"ill"},
    "inventory": _READ | {"inventory:upload"},
    LIBRARY_ADMIN: _READ | {"library:admin"},
}


def roles_for(office: bool) -> dict[str, frozenset[str]]:
    """The roles a staff user of the office (True) or of a library (False) may hold."""
    return OFFICE_ROLES if office else LIBRARY_ROLES


def check_roles(roles: Iterable[str], office: bool) -> list[str]:
    """The roles, sorted and without repeats; refused when empty or not for this tenant."""
    given = sorted(set(roles))
    allowed = roles_for(office)
    if not given:
        raise StaffRoleInvalidError(f"roles: give at least one of {sorted(allowed)}")
    unknown = [r for r in given if r not in allowed]
    if unknown:
        whose = "the consortium office" if office else "a library"
        raise StaffRoleInvalidError(f"roles: {unknown} are not roles of {whose}; its roles are "
                                    f"{sorted(allowed)}")
    return given


def scopes_of(roles: Iterable[str], office: bool) -> frozenset[str]:
    """Every scope the roles grant (unknown roles grant nothing)."""
    allowed = roles_for(office)
    return frozenset().union(*(allowed.get(r, frozenset()) for r in roles))
