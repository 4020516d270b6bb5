"""Staff accounts: who works for a library or the office, how they sign in, and their
sessions. Passwords are checked against the rules before anything is recorded, hashed with
Argon2id beside the tenant's events, and never kept in an event, a log or a read model.
Disabling an account or resetting its password ends its sessions at once, in every process
(announced as a revoked client is)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from domain.shared.application import Receipt
from domain.staff.application import StaffDirectory
from domain.staff.errors import StaffError, StaffUserNotFoundError
from domain.staff.passwords import check_password
from domain.staff.user import USERNAME, StaffUser
from infra.sign_in_failures import SignInFailures
from infra.staff_credentials import StaffCredentials
from infra.staff_sessions import StaffSessions
from tenants.access import AccessCache
from tenants.errors import TenantNotFoundError
from tenants.scope import OFFICE, OFFICE_SCHEMA, tenant_schema
from tenants.tenant import ACTIVE

if TYPE_CHECKING:
    from tenants.consortium import Consortium

SESSION_LIFETIME_S = 12 * 3600
CODE_TTL_S = 60
# Failed sign-ins: per account and per address, in a sliding window, counted in PostgreSQL
# (every replica sees the same count).
SIGN_IN_FAILURES_PER_ACCOUNT = 5
SIGN_IN_FAILURES_PER_ADDRESS = 30
SIGN_IN_WINDOW_S = 900


class SignInFailedError(StaffError):
    """The library, username or password is wrong (which one is not told)."""


class SignInRefusedError(StaffError):
    """The person is who they say, but may not sign in: `why` is `disabled` (the account) or
    `library` (suspended or archived)."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


class GrantInvalidError(StaffError):
    """An authorization code or refresh token that cannot be used (the message says why)."""


@dataclass(frozen=True)
class StaffAccess:
    """A session as a request checks it: whose, what scopes, and whether it may still act."""

    session_id: str
    tenant: str | None
    user_id: UUID
    username: str
    scopes: frozenset[str]
    problem: str | None  # why the session may not act any more; None: it may
    tenant_status: str | None = None
    suspension_reason: str | None = None
    expires_at: datetime | None = None


def staff_tags(access: StaffAccess) -> list[str]:
    """What announcements forget a session: its tenant's, and its user's."""
    return [f"tenant:{access.tenant}", f"staff:{access.tenant or OFFICE}:{access.user_id}"]


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: the challenge is the unpadded base64url SHA-256 of the verifier."""
    if not 43 <= len(verifier) <= 128:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


class SignInThrottle:
    """Locks sign-in for an account (library and username) or an address that failed too
    often within the window, in every process at once."""

    def __init__(self, failures: SignInFailures, per_account: int = SIGN_IN_FAILURES_PER_ACCOUNT,
                 per_address: int = SIGN_IN_FAILURES_PER_ADDRESS) -> None:
        self.failures = failures
        self.per_account = per_account
        self.per_address = per_address

    def retry_after(self, account: str, address: str) -> float | None:
        """Seconds until this account may try again from this address; None: now."""
        waits = [self.failures.wait_s(f"account:{account}", self.per_account),
                 self.failures.wait_s(f"address:{address}", self.per_address)]
        known = [w for w in waits if w is not None]
        return max(known) if known else None

    def failed(self, account: str, address: str) -> None:
        """Counts a failed sign-in against the account and the address."""
        self.failures.failed(f"account:{account}", f"address:{address}")


class StaffAccounts:
    """Staff use cases across a tenant's staff directory, its credentials and the sessions."""

    def __init__(self, consortium: Consortium, session_lifetime_s: int = SESSION_LIFETIME_S,
                 access_ttl_s: float = 5.0) -> None:
        self.consortium = consortium
        self.credentials = StaffCredentials(consortium.database_of)
        self.sessions = StaffSessions(consortium.database)
        self.session_lifetime_s = session_lifetime_s
        self.throttle = SignInThrottle(SignInFailures(consortium.database, SIGN_IN_WINDOW_S))
        self.accesses: AccessCache[StaffAccess] = AccessCache(self._load_access, access_ttl_s,
                                                              tags=staff_tags)
        consortium.watchers.append(self.accesses.changed)

    def directory(self, tenant: str | None) -> StaffDirectory:
        """The staff directory of a library (its slug) or of the office (None)."""
        if tenant is None:
            return self.consortium.office_scope.staff
        self.consortium.office.get_tenant(tenant)
        return self.consortium.scope(tenant).staff

    def create_user(self, tenant: str | None, username: str, *, display_name: str,
                    roles: list[str], password: str,
                    receipt: Receipt | None = None) -> StaffUser:
        """Records a staff user and keeps its password's hash (rules checked first)."""
        check_password(password, username)
        user = self.directory(tenant).create_user(username, display_name, roles,
                                                  tenant is None, receipt)
        self.credentials.set(_schema(tenant), user.id, password)
        return user

    def list_users(self, tenant: str | None) -> list[StaffUser]:
        """The tenant's staff users, by username."""
        return self.directory(tenant).list_users()

    def disable_user(self, tenant: str | None, username: str,
                     receipt: Receipt | None = None) -> StaffUser:
        """Disables the account and ends its sessions at once."""
        user = self.directory(tenant).disable_user(username, receipt)
        self._end_sessions(tenant, user, "the account was disabled")
        return user

    def enable_user(self, tenant: str | None, username: str,
                    receipt: Receipt | None = None) -> StaffUser:
        """Lets a disabled account sign in again."""
        return self.directory(tenant).enable_user(username, receipt)

    def reset_password(self, tenant: str | None, username: str, password: str,
                       receipt: Receipt | None = None) -> StaffUser:
        """Replaces the password (rules checked first) and ends the user's sessions."""
        check_password(password, username)
        directory = self.directory(tenant)
        user = directory.get_user(username)
        self.credentials.set(_schema(tenant), user.id, password)
        user = directory.note_password_reset(username, receipt)
        self._end_sessions(tenant, user, "the password was reset")
        return user

    def sign_in(self, tenant: str | None, username: str, password: str) -> StaffUser:
        """The staff user whose password this is; SignInFailedError otherwise (the same for
        an unknown library, an unknown username and a wrong password, and as slow)."""
        user = self._find(tenant, username)
        schema = _schema(tenant) if user is not None else OFFICE_SCHEMA
        right = self.credentials.verify(schema, user.id if user else None, password)
        if user is None or not right:
            raise SignInFailedError("the library, username or password is not right")
        if not user.active:
            raise SignInRefusedError("this account is disabled; ask an administrator of your "
                                     "library to enable it", "disabled")
        if tenant is not None:
            found = self.consortium.office.get_tenant(tenant)
            if found.status != ACTIVE:
                raise SignInRefusedError(f"library {tenant!r} is {found.status}; ask the "
                                         "consortium office", "library")
        return user

    def start_session(self, tenant: str | None, user: StaffUser, client_id: str,
                      redirect_uri: str, challenge: str) -> str:
        """Opens a session for a user who just signed in; the one-time code that starts it."""
        session_id = self.sessions.start(tenant or OFFICE, user.id, self.session_lifetime_s)
        return self.sessions.issue_code(session_id, client_id, redirect_uri, challenge,
                                        CODE_TTL_S)

    def redeem_code(self, code: str, verifier: str, client_id: str,
                    redirect_uri: str) -> tuple[StaffAccess, str]:
        """Trades a code (once, within a minute, with its PKCE verifier) for the session's
        access and its first refresh token."""
        taken = self.sessions.take_code(code)
        if taken is None:
            raise GrantInvalidError("the code is unknown, used or expired; sign in again")
        if taken.client_id != client_id or taken.redirect_uri != redirect_uri:
            raise GrantInvalidError("the code was issued to another client or redirect_uri")
        if not pkce_matches(verifier, taken.challenge):
            self.sessions.end(taken.session_id, "wrong PKCE verifier")
            raise GrantInvalidError("code_verifier does not match the code_challenge")
        access = self.session_access(taken.session_id)
        if access.problem:
            raise GrantInvalidError(access.problem)
        _check_tenant_active(access)
        return access, self.sessions.new_refresh(taken.session_id)

    def refresh(self, token: str) -> tuple[StaffAccess, str]:
        """Trades a refresh token for the session's access and the next refresh token."""
        rotated = self.sessions.rotate(token)
        if rotated is None:
            raise GrantInvalidError("the session is over (signed out, expired, or ended by an "
                                    "administrator); sign in again")
        session, fresh = rotated
        self.accesses.changed(f"session:{session.session_id}")
        access = self.session_access(session.session_id)
        if access.problem:
            self.sessions.end(session.session_id, access.problem)
            raise GrantInvalidError(access.problem)
        _check_tenant_active(access)
        return access, fresh

    def sign_out(self, token: str) -> None:
        """Ends the session a refresh token belongs to (an unknown token: nothing to end)."""
        session_id = token.partition(".")[0]
        if session_id:
            self.sessions.end(session_id, "signed out")
            self.consortium.announce(f"session:{session_id}")

    def session_access(self, session_id: str) -> StaffAccess:
        """The session as a request checks it, from memory until a change is announced."""
        self.consortium.listen()
        return self.accesses.get(session_id)

    def _find(self, tenant: str | None, username: str) -> StaffUser | None:
        if not USERNAME.match(username):
            return None
        try:
            return self.directory(tenant).get_user(username)
        except (StaffUserNotFoundError, TenantNotFoundError):
            return None

    def _end_sessions(self, tenant: str | None, user: StaffUser, why: str) -> None:
        self.sessions.end_all(tenant or OFFICE, user.id, why)
        self.consortium.announce(f"staff:{tenant or OFFICE}:{user.id}")

    def _load_access(self, session_id: str) -> StaffAccess:
        session = self.sessions.get(session_id)
        if session is None:
            raise GrantInvalidError("no such session")
        tenant = None if session.tenant == OFFICE else session.tenant
        try:
            user = self.directory(tenant).get_user_by_id(session.user_id)
        except (StaffUserNotFoundError, TenantNotFoundError):
            return StaffAccess(session_id, tenant, session.user_id, "", frozenset(),
                               "the account no longer exists")
        problem = None
        if session.ended_at is not None:
            problem = "the session has ended (signed out, or ended by an administrator)"
        elif not user.active:
            problem = f"staff user {user.username!r} is disabled"
        status = reason = None
        if tenant is not None:
            found = self.consortium.office.get_tenant(tenant)
            status, reason = found.status, found.suspension_reason
        return StaffAccess(session_id, tenant, user.id, user.username, user.scopes, problem,
                           status, reason, session.expires_at)


def _check_tenant_active(access: StaffAccess) -> None:
    """No new token for the staff of a suspended or archived library."""
    if access.tenant_status not in (None, ACTIVE):
        reason = f": {access.suspension_reason}" if access.suspension_reason else ""
        raise GrantInvalidError(f"library {access.tenant!r} is {access.tenant_status}{reason}; "
                                "ask the consortium office")


def _schema(tenant: str | None) -> str:
    return OFFICE_SCHEMA if tenant is None else tenant_schema(tenant)
