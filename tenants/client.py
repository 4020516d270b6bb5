"""The ApiClient aggregate: an OAuth 2.0 client of a tenant or of the consortium office."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tenants.errors import ClientRevokedError, TenantFieldInvalidError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:client")

OFFICE_SCOPES = frozenset({"consortium:admin", "metrics"})  # metrics: GET /metrics
LIBRARY_SCOPES = frozenset({"library:read", "library:write", "ill", "inventory:upload"})


def hash_secret(secret: str) -> str:
    """Secrets are 256 random bits, so one SHA-256 hides them as well as a slow KDF would."""
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_GRACE = timedelta(days=30)


class ApiClient(Aggregate):
    """A client: its id, name, scopes and the hash of its secret; revoked for good. A
    rotated secret keeps working beside the new one until its grace period ends."""

    class Created(Aggregate.Created):
        client_id: str
        name: str
        scopes: list[str]
        secret_hash: str
        created_at: datetime

    class Revoked(Aggregate.Event):
        revoked_at: datetime

    class SecretRotated(Aggregate.Event):
        secret_hash: str
        previous_valid_until: datetime
        rotated_at: datetime

    @event(Created)
    def __init__(
        self, client_id: str, name: str, scopes: list[str], secret_hash: str,
        created_at: datetime,
    ) -> None:
        self.client_id = client_id
        self.name = name
        self.scopes = scopes
        self.secret_hash = secret_hash
        self.created_at = created_at
        self.revoked = False
        self.previous_secret_hash: str | None = None
        self.previous_valid_until: datetime | None = None
        self.rotated_at: datetime | None = None

    @staticmethod
    def create_id(client_id: str, **_: object) -> UUID:
        """A client's aggregate id follows from its client id."""
        return uuid5(_NAMESPACE, client_id)

    def check_secret(self, secret: str, at: datetime | None = None) -> bool:
        """True if the secret is this client's and the client is not revoked: the current
        secret, or the one it replaced until that one's grace period ends (`at`: now)."""
        if self.revoked:
            return False
        given = hash_secret(secret)
        if hmac.compare_digest(given, self.secret_hash):
            return True
        if self.previous_secret_hash is None or self.previous_valid_until is None:
            return False
        now = at or datetime.now(UTC)
        return now < self.previous_valid_until and hmac.compare_digest(
            given, self.previous_secret_hash)

    def rotate_secret(self, secret_hash: str, grace: timedelta, at: datetime) -> None:
        """A new secret; the current one keeps working for `grace` (0 to 30 days), then
        stops. A secret replaced before, still in its grace period, stops at once."""
        if self.revoked:
            raise ClientRevokedError(f"client {self.client_id!r} is revoked; issue a new one")
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise TenantFieldInvalidError(
                f"grace_seconds: give 0 to {int(MAX_GRACE.total_seconds())} "
                f"({MAX_GRACE.days} days), not {int(grace.total_seconds())}")
        self._rotate(secret_hash, at + grace, at)

    @event(SecretRotated)
    def _rotate(self, secret_hash: str, previous_valid_until: datetime,
                rotated_at: datetime) -> None:
        self.previous_secret_hash = self.secret_hash
        self.previous_valid_until = previous_valid_until
        self.secret_hash = secret_hash
        self.rotated_at = rotated_at

    def revoke(self, at: datetime) -> None:
        """Revoking twice changes nothing."""
        if not self.revoked:
            self._revoke(at)

    @event(Revoked)
    def _revoke(self, revoked_at: datetime) -> None:
        self.revoked = True
        self.revoked_at: datetime | None = revoked_at
