"""The ApiClient aggregate: an OAuth 2.0 client of a tenant or of the consortium office."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:client")

OFFICE_SCOPES = frozenset({"consortium:admin", "metrics"})  # metrics: GET /metrics
LIBRARY_SCOPES = frozenset({"library:read", "library:write", "ill", "inventory:upload"})


def hash_secret(secret: str) -> str:
    """Secrets are 256 random bits, so one SHA-256 hides them as well as a slow KDF would."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiClient(Aggregate):
    """A client: its id, name, scopes and the hash of its secret; revoked for good."""

    class Created(Aggregate.Created):
        client_id: str
        name: str
        scopes: list[str]
        secret_hash: str
        created_at: datetime

    class Revoked(Aggregate.Event):
        revoked_at: datetime

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

    @staticmethod
    def create_id(client_id: str, **_: object) -> UUID:
        """A client's aggregate id follows from its client id."""
        return uuid5(_NAMESPACE, client_id)

    def check_secret(self, secret: str) -> bool:
        """True if the secret is this client's and the client is not revoked."""
        return not self.revoked and hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def revoke(self, at: datetime) -> None:
        """Revoking twice changes nothing."""
        if not self.revoked:
            self._revoke(at)

    @event(Revoked)
    def _revoke(self, revoked_at: datetime) -> None:
        self.revoked = True
        self.revoked_at: datetime | None = revoked_at
