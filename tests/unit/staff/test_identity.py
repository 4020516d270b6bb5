"""Staff identity rules: roles grant scopes, passwords follow the rules, a disabled account
cannot act, and failed sign-ins lock an account out (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.staff.errors import (
    PasswordRejectedError,
    StaffFieldInvalidError,
    StaffRoleInvalidError,
    StaffUserDisabledError,
)
from domain.staff.passwords import MIN_LENGTH, check_password, common_passwords
from domain.staff.roles import LIBRARY_ROLES, check_roles, scopes_of
from domain.staff.user import StaffUser
from tenants.staff import SignInThrottle, pkce_matches

AT = datetime(2026, 11, 30, tzinfo=UTC)


def test_every_library_role_includes_library_read() -> None:
    for role in LIBRARY_ROLES:
        assert "library:read" in scopes_of([role], office=False), role


def test_roles_map_to_scopes_for_library_and_office() -> None:
    assert scopes_of(["cataloguer"], office=False) == {"library:read", "library:write"}
    assert scopes_of(["ill", "inventory"], office=False) == {
        "library:read", "ill", "inventory:upload"}
    assert scopes_of(["library-admin"], office=False) == {"library:read", "library:admin"}
    assert scopes_of(["office-admin"], office=True) == {"consortium:admin", "metrics"}


def test_office_roles_are_refused_in_a_library_and_the_reverse() -> None:
    with pytest.raises(StaffRoleInvalidError, match="not roles of a library"):
        check_roles(["office-admin"], office=False)
    with pytest.raises(StaffRoleInvalidError, match="consortium office"):
        check_roles(["cataloguer"], office=True)
    with pytest.raises(StaffRoleInvalidError, match="at least one"):
        check_roles([], office=False)


def test_an_office_role_grants_nothing_in_a_library() -> None:
    assert scopes_of(["office-admin"], office=False) == frozenset()


def test_long_common_passwords_are_refused() -> None:
    long_ones = sorted(p for p in common_passwords() if len(p) >= MIN_LENGTH)
    assert long_ones  # the list has some the length rule alone lets through
    for password in long_ones[:50]:
        with pytest.raises(PasswordRejectedError):
            check_password(password, "alice")


def test_common_passwords_with_digits_around_are_refused() -> None:
    assert "password" in common_passwords()
    assert len(common_passwords()) >= 9_900
    for password in ("password1234", "Password!2024", "1234qwertyuiop", "123456789012"):
        with pytest.raises(PasswordRejectedError, match=r"common|digits"):
            check_password(password, "alice")


def test_password_rules_name_what_to_do() -> None:
    with pytest.raises(PasswordRejectedError, match="at least 12 characters"):
        check_password("tiny", "alice")
    with pytest.raises(PasswordRejectedError, match="username"):
        check_password("alice-in-wonderland", "alice")
    with pytest.raises(PasswordRejectedError, match="repeated"):
        check_password("a" * 20, "alice")
    with pytest.raises(PasswordRejectedError, match="at most"):
        check_password("x1" * 200, "alice")
    check_password("correct horse battery staple", "alice")


def test_usernames_and_names_are_checked() -> None:
    with pytest.raises(StaffFieldInvalidError, match="username"):
        StaffUser.register("Alice Smith", "Alice", ["cataloguer"], False, AT)
    with pytest.raises(StaffFieldInvalidError, match="displayName"):
        StaffUser.register("alice", "  ", ["cataloguer"], False, AT)
    with pytest.raises(StaffFieldInvalidError, match="control"):
        StaffUser.register("alice", "A\x00", ["cataloguer"], False, AT)


def test_a_disabled_account_is_refused_and_enabled_again() -> None:
    user = StaffUser.register("alice", "Alice", ["circulation"], False, AT)
    user.check_active()
    assert user.disable(AT)
    assert not user.disable(AT)  # twice records nothing
    with pytest.raises(StaffUserDisabledError, match="disabled"):
        user.check_active()
    assert user.enable(AT)
    user.check_active()


def test_roles_change_and_scopes_follow() -> None:
    user = StaffUser.register("bob", "Bob", ["circulation"], False, AT)
    assert user.change_roles(["inventory", "ill"], AT)
    assert user.roles == ["ill", "inventory"]
    assert user.scopes == {"library:read", "ill", "inventory:upload"}
    assert not user.change_roles(["ill", "inventory"], AT)


class _Failures:
    """Failures counted as the shared table counts them, without the clock: a key that
    failed `limit` times waits the whole window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.counts: dict[str, int] = {}

    def wait_s(self, key: str, limit: int) -> float | None:
        return self.window_s if self.counts.get(key, 0) >= limit else None

    def failed(self, *keys: str) -> None:
        for key in keys:
            self.counts[key] = self.counts.get(key, 0) + 1


def test_lockout_after_five_failures_per_account_from_any_address() -> None:
    throttle = SignInThrottle(_Failures(900), per_account=5, per_address=100)  # type: ignore[arg-type]
    for _ in range(4):
        throttle.failed("lib/alice", "10.0.0.1")
    assert throttle.retry_after("lib/alice", "10.0.0.1") is None
    throttle.failed("lib/alice", "10.0.0.1")
    assert throttle.retry_after("lib/alice", "10.0.0.2") == 900  # another address: locked
    assert throttle.retry_after("lib/bob", "10.0.0.2") is None  # another account: free


def test_lockout_per_address_across_accounts() -> None:
    throttle = SignInThrottle(_Failures(60), per_account=100, per_address=3)  # type: ignore[arg-type]
    for name in ("a", "b", "c"):
        throttle.failed(f"lib/{name}", "10.0.0.9")
    assert throttle.retry_after("lib/d", "10.0.0.9") == 60
    assert throttle.retry_after("lib/d", "10.0.0.8") is None


def test_pkce_s256() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
    assert pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not pkce_matches(verifier + "x", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
