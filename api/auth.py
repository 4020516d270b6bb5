"""OAuth 2.0 client credentials (authlib) issuing JWT access tokens, and their verification."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from tenants.access import Access
from tenants.client import ApiClient
from tenants.consortium import Consortium
from tenants.errors import ClientNotFoundError
from tenants.scope import OFFICE
from tenants.staff import GrantInvalidError, StaffAccess
from tenants.tenant import ACTIVE, SUSPENDED

if TYPE_CHECKING:
    from infra.signing import SigningKeys

AUDIENCE = "commonshelf"
MAX_VERIFIED_TOKENS = 10_000
KEY_RELOAD_S = 5.0
CLOCK_SKEW_S = 60  # between the replicas that issue and those that verify
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
CONSOLE_CLIENT = "console"  # the public client the service registers for its web console
STAFF_TOKEN_TTL_S = 600


class AuthError(Exception):
    """A request's credentials are missing, wrong, or not enough; carries its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client of a tenant (or of the office, tenant None) and its scopes."""

    client_id: str
    tenant: str | None
    scopes: frozenset[str]
    user_id: str | None = None  # a signed-in staff user (through the console), not a client
    username: str | None = None

    @property
    def actor(self) -> str:
        """Who issues a command, as the audit trail names them."""
        if self.username is not None:
            return f"staff:{self.username}@{self.tenant or OFFICE}"
        return f"client:{self.client_id}"

    def require(self, scope: str) -> None:
        """Refuses the call unless the token carries the scope."""
        if scope not in self.scopes:
            raise AuthError(403, "FORBIDDEN", f"this needs the scope {scope!r}; the token has "
                            f"{sorted(self.scopes)}")

    def library(self, scope: str) -> str:
        """The caller's tenant, for a member library's client holding the scope."""
        if self.tenant is None:
            raise AuthError(403, "FORBIDDEN", "this is for a member library's client; the "
                            "consortium office's token has no catalog of its own")
        self.require(scope)
        return self.tenant

    def require_office(self, scope: str) -> None:
        """Only consortium office clients holding the scope pass."""
        if self.tenant is not None:
            raise AuthError(403, "FORBIDDEN",
                            "this is for the consortium office; a member library's token "
                            "cannot use it")
        self.require(scope)

    def require_admin(self) -> None:
        """Only consortium office clients with consortium:admin pass."""
        if self.tenant is not None:
            raise AuthError(403, "FORBIDDEN",
                            "this is for the consortium office; a member library's token "
                            "cannot use it")
        self.require("consortium:admin")


class TokenThrottle:
    """Counts failed token requests per client id and per address in a sliding window, and
    says how long a caller must wait once either has failed too often (this process only:
    each replica counts its own)."""

    def __init__(self, per_client: int, per_address: int, window_s: float,
                 max_tracked: int = 100_000) -> None:
        self.per_client = per_client
        self.per_address = per_address
        self.window_s = window_s
        self.max_tracked = max_tracked
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client_id: str | None, address: str) -> float | None:
        """Seconds until a request of this client from this address may be tried again;
        None when it may be tried now."""
        now = time.monotonic()
        waits = [self._wait(f"client:{client_id}", self.per_client, now)
                 if client_id else None,
                 self._wait(f"address:{address}", self.per_address, now)]
        known = [w for w in waits if w is not None]
        return max(known) if known else None

    def failed(self, client_id: str | None, address: str) -> None:
        """Counts one failed attempt against the client id and the address."""
        now = time.monotonic()
        if len(self._failures) >= self.max_tracked:
            self._forget_expired(now)
        for key in ([f"client:{client_id}"] if client_id else []) + [f"address:{address}"]:
            self._failures.setdefault(key, deque()).append(now)

    def _wait(self, key: str, limit: int, now: float) -> float | None:
        times = self._failures.get(key)
        if not times:
            return None
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < limit:
            return None
        return self.window_s - (now - times[-limit])

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, t in self._failures.items() if not t or now - t[-1] >= self.window_s]:
            del self._failures[key]
        while len(self._failures) >= self.max_tracked:  # still full: drop the oldest keys
            del self._failures[next(iter(self._failures))]
def not_active_message(tenant: str, status: str, reason: str | None) -> str:
    """Why a library's tokens are refused, with the office's reason, so it knows what to do."""
    if status == SUSPENDED:
        why = f" by the consortium office: {reason}" if reason else " by the consortium office"
        return (f"tenant {tenant!r} is suspended{why}. Its tokens are refused until the "
                "office reactivates it; settle that with the office")
    return f"tenant {tenant!r} is {status}; its tokens are refused for good"


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, client: ApiClient, tenant: str | None) -> None:
        self.client = client
        self.tenant = tenant

    def get_client_id(self) -> str:
        return self.client.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client.check_secret(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(self.client.scopes)
        return " ".join(s for s in scope.split() if s in self.client.scopes)


class TenantNotActiveError(OAuth2Error):  # type: ignore[misc]
    """The client's library is suspended or archived."""

    error = "access_denied"
    status_code = 403


class _Grant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        requested = set((self.request.payload.scope or "").split())
        client: _Client = self.request.client
        beyond = sorted(requested - set(client.client.scopes))
        if beyond:
            raise InvalidScopeError(
                description=f"scopes {beyond} are not granted to this client; it has "
                f"{client.client.scopes}"
            )

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: _Client = self.request.client
        if client.tenant is not None:
            tenant = self.server.consortium.office.get_tenant(client.tenant)
            if tenant.status != ACTIVE:
                raise TenantNotActiveError(description=not_active_message(
                    client.tenant, tenant.status, tenant.suspension_reason))


class _Tokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, key: RSAKey, ttl_s: int) -> None:
        super().__init__(issuer, alg="RS256", expires_generator=lambda _c, _g: ttl_s)
        self.key = key

    def get_jwks(self) -> KeySet:
        return KeySet([self.key])  # from a key set, joserfc names the key in `kid`

    def get_audiences(self, client: _Client, user: Any, scope: str) -> str:
        return AUDIENCE

    def get_extra_claims(self, client: _Client, grant_type: str, user: Any, scope: str) -> dict[
        str, Any
    ]:
        return {"tenant": client.tenant}


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, consortium: Consortium) -> None:
        super().__init__(scopes_supported=None)
        self.consortium = consortium

    def query_client(self, client_id: str) -> _Client | None:
        try:
            tenant, client = self.consortium.find_client(client_id)
        except ClientNotFoundError:
            return None
        return _Client(client, tenant)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """JWTs are self-contained: nothing to store (revocation is checked per request)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here: token issuance has nothing to notify."""

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        """TokenService builds the OAuth2Request itself from the HTTP request."""
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return status, body, headers


class _FormRequest(OAuth2Request):  # type: ignore[misc]
    """A token request whose form body the web framework has already read."""

    def __init__(self, form: dict[str, str], headers: Mapping[str, str]) -> None:
        # TLS ends in front of the service (ingress); the URI only labels the request.
        super().__init__("POST", "https://commonshelf/oauth/token", headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class TokenService:
    """Issues access tokens to clients and turns bearer tokens back into principals."""

    def __init__(self, consortium: Consortium, keys: SigningKeys, issuer: str, ttl_s: int, *,
                 reload: Callable[[], SigningKeys] | None = None,
                 throttle: TokenThrottle | None = None) -> None:
        self.consortium = consortium
        self.keys = keys
        self.issuer = issuer
        self.ttl_s = ttl_s
        self.throttle = throttle or TokenThrottle(5, 20, 300)
        self._reload = reload
        self._reloaded_at = 0.0
        self._key_set = KeySet(list(keys.accepted))
        self._server = _Server(consortium)
        self._server.register_grant(_Grant)
        self._server.register_token_generator("default", _Tokens(issuer, keys.current, ttl_s))
        # A token's signature and claims never change: each is verified once, and only its
        # expiry is checked again (revocation and tenant status are checked per request).
        self._verified: dict[str, dict[str, Any]] = {}
        # Told (tenant, client id) of every token issued: the office lists when each
        # client last got one.
        self.on_issued: Callable[[str | None, str], None] | None = None

    def issue(
        self, form: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Answers a token request: (status, JSON body, headers), per RFC 6749 section 5."""
        request = _FormRequest(form, headers)
        result: tuple[int, dict[str, Any], list[tuple[str, str]]] = (
            self._server.create_token_response(request)
        )
        client: _Client | None = getattr(request, "client", None)
        if result[0] == 200 and client is not None and self.on_issued is not None:
            self.on_issued(client.tenant, client.get_client_id())
        return result

    def jwks(self) -> dict[str, Any]:
        """The public keys that verify our tokens (two during a key rotation)."""
        return {"keys": [{**key.as_dict(private=False), "use": "sig", "alg": "RS256"}
                         for key in self.keys.accepted]}

    def _know_key_of(self, token: str) -> None:
        """A token signed by a key this process has not loaded (another replica rotated):
        read the keys again, at most once every few seconds."""
        if self._reload is None or time.monotonic() - self._reloaded_at < KEY_RELOAD_S:
            return
        try:
            header = token.split(".", maxsplit=1)[0]
            kid = json.loads(base64.urlsafe_b64decode(header + "==")).get("kid")
        except (ValueError, AttributeError):
            return  # not a JWT: verification says so
        if kid is None or any(key.kid == kid for key in self.keys.accepted):
            return
        self._reloaded_at = time.monotonic()
        self.keys = self._reload()
        self._key_set = KeySet(list(self.keys.accepted))

    def issue_staff(self, access: StaffAccess) -> dict[str, Any]:
        """An access token for a signed-in staff user's session (RFC 6749 section 5.1)."""
        now = int(time.time())
        ttl = min(STAFF_TOKEN_TTL_S, self.ttl_s)
        scope = " ".join(sorted(access.scopes))
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": str(access.user_id),
                  "client_id": CONSOLE_CLIENT, "tenant": access.tenant, "scope": scope,
                  "sid": access.session_id, "iat": now, "exp": now + ttl,
                  "jti": secrets.token_hex(16)}
        key = self.keys.current
        token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl,
                "scope": scope}

    def authenticate(self, authorization: str | None) -> Principal:
        """Verifies a bearer token and that its client and tenant may still act, right now."""
        claims = self._claims(authorization)
        if "sid" in claims:
            try:
                staff = self.consortium.staff.session_access(str(claims["sid"]))
            except GrantInvalidError:
                raise AuthError(401, "UNAUTHENTICATED", "the token's session does not exist; "
                                "sign in again") from None
            return self._staff_principal(claims, staff)
        try:
            access = self.consortium.access(_client_id(claims))
        except ClientNotFoundError:
            raise AuthError(401, "UNAUTHENTICATED", "the token's client does not exist") from None
        return self._principal(claims, access)

    def authenticate_known(self, authorization: str | None) -> Principal | None:
        """`authenticate` without I/O, for a caller whose client is in memory; None otherwise
        (then call `authenticate`, in a thread)."""
        try:
            claims = self._claims(authorization)
        except AuthError:
            return None  # authenticate gives the full answer
        if "sid" in claims:
            staff = self.consortium.staff.accesses.peek(str(claims["sid"]))
            return None if staff is None else self._staff_principal(claims, staff)
        access = self.consortium.accesses.peek(_client_id(claims))
        return None if access is None else self._principal(claims, access)

    def _claims(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise AuthError(401, "UNAUTHENTICATED",
                            "no access token: send 'Authorization: Bearer <token>' "
                            "(get one from POST /oauth/token)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "UNAUTHENTICATED", "the Authorization header must be "
                            "'Bearer <token>'")
        return self._verified_claims(token.strip())

    def _principal(self, claims: dict[str, Any], access: Access) -> Principal:
        client_id, tenant = _client_id(claims), claims.get("tenant")
        if access.client.revoked:
            raise AuthError(401, "UNAUTHENTICATED", f"client {client_id!r} has been revoked")
        if access.tenant != tenant:
            raise AuthError(401, "UNAUTHENTICATED", "the token's tenant does not match its client")
        status = access.tenant_status
        if status == "missing":
            raise AuthError(401, "UNAUTHENTICATED", "the token's tenant does not exist")
        if status is not None and status != ACTIVE:
            raise AuthError(403, "TENANT_NOT_ACTIVE", not_active_message(
                str(tenant), status, access.suspension_reason))
        scopes = frozenset(str(claims.get("scope", "")).split())
        beyond = sorted(scopes - set(access.client.scopes))
        if beyond:
            raise AuthError(401, "UNAUTHENTICATED", f"the token carries scopes {beyond} its "
                            "client no longer has; get a new token from POST /oauth/token")
        return Principal(client_id, tenant, scopes)

    def _staff_principal(self, claims: dict[str, Any], access: StaffAccess) -> Principal:
        """A staff user's token passes while its session lives and its account is active."""
        tenant = claims.get("tenant")
        if access.problem is not None:
            raise AuthError(401, "UNAUTHENTICATED", f"{access.problem}; sign in again")
        if access.expires_at is not None and access.expires_at.timestamp() <= time.time():
            raise AuthError(401, "UNAUTHENTICATED", "the session has expired; sign in again")
        if access.tenant != tenant or str(access.user_id) != claims.get("sub"):
            raise AuthError(401, "UNAUTHENTICATED", "the token does not match its session")
        status = access.tenant_status
        if status is not None and status != ACTIVE:
            raise AuthError(403, "TENANT_NOT_ACTIVE", not_active_message(
                str(tenant), status, access.suspension_reason))
        scopes = frozenset(str(claims.get("scope", "")).split())
        beyond = sorted(scopes - access.scopes)
        if beyond:
            raise AuthError(401, "UNAUTHENTICATED", f"the token carries scopes {beyond} the "
                            "user's roles no longer grant; sign in again")
        return Principal(CONSOLE_CLIENT, tenant, scopes, str(access.user_id), access.username)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        known = self._verified.get(token)
        if known is not None and time.time() < float(known["exp"]):
            return known
        claims = self._verify(token)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        self._know_key_of(token)
        try:
            decoded = jwt.decode(token, self._key_set, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": AUDIENCE},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise AuthError(401, "UNAUTHENTICATED",
                            f"the access token is invalid or expired ({error}); "
                            "get a new one from POST /oauth/token") from None
        claims = dict(decoded.claims)
        self._check_lifetime(claims)
        return claims

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A token lives at most the configured lifetime: one that claims longer (or to be
        issued in the future) was not made by this service as configured now."""
        try:
            issued, expires = float(claims["iat"]), float(claims["exp"])
        except (TypeError, ValueError):
            raise AuthError(401, "UNAUTHENTICATED", "the access token's iat and exp must be "
                            "numbers; get a new one from POST /oauth/token") from None
        now = time.time()
        if issued > now + CLOCK_SKEW_S or expires - issued > self.ttl_s + CLOCK_SKEW_S or (
                expires > now + self.ttl_s + CLOCK_SKEW_S):
            raise AuthError(401, "UNAUTHENTICATED", f"the access token claims to live longer "
                            f"than this service's {self.ttl_s} s; get a new one from "
                            "POST /oauth/token")


def _client_id(claims: dict[str, Any]) -> str:
    return str(claims.get("client_id") or claims.get("sub") or "")
