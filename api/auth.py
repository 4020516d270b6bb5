"""OAuth 2.0 client credentials (authlib) issuing JWT access tokens, and their verification."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
from joserfc.jwk import RSAKey

from tenants.access import Access
from tenants.client import ApiClient
from tenants.consortium import Consortium
from tenants.errors import ClientNotFoundError
from tenants.tenant import ACTIVE, SUSPENDED

AUDIENCE = "commonshelf"
MAX_VERIFIED_TOKENS = 10_000
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


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

    def require_admin(self) -> None:
        """Only consortium office clients with consortium:admin pass."""
        if self.tenant is not None:
            raise AuthError(403, "FORBIDDEN",
                            "this is for the consortium office; a member library's token "
                            "cannot use it")
        self.require("consortium:admin")


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

    def get_jwks(self) -> RSAKey:
        return self.key

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

    def __init__(self, consortium: Consortium, key: RSAKey, issuer: str, ttl_s: int) -> None:
        self.consortium = consortium
        self.key = key
        self.issuer = issuer
        self._server = _Server(consortium)
        self._server.register_grant(_Grant)
        self._server.register_token_generator("default", _Tokens(issuer, key, ttl_s))
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
        """The public keys that verify our tokens."""
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "RS256"}]}

    def authenticate(self, authorization: str | None) -> Principal:
        """Verifies a bearer token and that its client and tenant may still act, right now."""
        claims = self._claims(authorization)
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
        return Principal(client_id, tenant, frozenset(str(claims.get("scope", "")).split()))

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
        try:
            decoded = jwt.decode(token, self.key, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": AUDIENCE},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise AuthError(401, "UNAUTHENTICATED",
                            f"the access token is invalid or expired ({error}); "
                            "get a new one from POST /oauth/token") from None
        return dict(decoded.claims)


def _client_id(claims: dict[str, Any]) -> str:
    return str(claims.get("client_id") or claims.get("sub") or "")
