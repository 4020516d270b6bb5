"""The tenancy use cases as eventsourcing Applications (no I/O but their event store)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.shared.application import ContextApplication, Receipt, fold_events
from domain.shared.clock import Clock, utc_now
from tenants.client import ApiClient, hash_secret
from tenants.errors import ClientNotFoundError, TenantNotFoundError, TenantSlugTakenError
from tenants.tenant import Tenant


class ConsortiumOffice(ContextApplication):
    """The consortium office's register of member libraries."""

    def register_tenant(self, slug: str, name: str, isil: str | None,
                        receipt: Receipt | None = None) -> Tenant:
        """Registers a tenant; a slug already registered (even archived) is refused."""
        tenant = Tenant.register(slug, name, isil, self.clock())
        try:
            self._saved(receipt, tenant, tenant)
        except IntegrityError:
            raise TenantSlugTakenError(f"a tenant with slug {slug!r} already exists") from None
        return tenant

    def slug_taken(self, slug: str) -> bool:
        """True if a tenant with this slug was ever registered."""
        try:
            self.repository.get(Tenant.create_id(slug))
        except AggregateNotFoundError:
            return False
        return True

    def get_tenant(self, slug: str) -> Tenant:
        """The tenant with this slug."""
        try:
            tenant: Tenant = self.repository.get(Tenant.create_id(slug))
        except AggregateNotFoundError:
            raise TenantNotFoundError(f"no tenant with slug {slug!r}") from None
        return tenant

    def suspend_tenant(self, slug: str, reason: str, receipt: Receipt | None = None) -> Tenant:
        """Suspends an active tenant: its tokens are refused from now on."""
        tenant = self.get_tenant(slug)
        tenant.suspend(reason, self.clock())
        return self._saved(receipt, tenant, tenant)

    def reactivate_tenant(self, slug: str, receipt: Receipt | None = None) -> Tenant:
        """Lets a suspended tenant's clients in again."""
        tenant = self.get_tenant(slug)
        tenant.reactivate(self.clock())
        return self._saved(receipt, tenant, tenant)

    def change_tenant_details(self, slug: str, *, name: str | None = None,
                              isil: str | None = None, remove_isil: bool = False,
                              receipt: Receipt | None = None) -> Tenant:
        """Renames a tenant or changes its ISIL; recorded only when something changes."""
        tenant = self.get_tenant(slug)
        if tenant.change_details(self.clock(), name=name, isil=isil, remove_isil=remove_isil):
            self._saved(receipt, tenant, tenant)
        return tenant

    def archive_tenant(self, slug: str, receipt: Receipt | None = None) -> Tenant:
        """Archives a tenant for good; its events are kept."""
        tenant = self.get_tenant(slug)
        tenant.archive(self.clock())
        return self._saved(receipt, tenant, tenant)

    def list_tenants(self) -> list[Tenant]:
        """Every tenant ever registered, by slug, folded from the office's own log."""
        tenants: dict[UUID, Tenant] = {}
        for notification in self._notifications():
            domain_event = self.mapper.to_domain_event(notification)
            if isinstance(domain_event, Tenant.Event):
                current = tenants.get(domain_event.originator_id)
                tenants[domain_event.originator_id] = domain_event.mutate(current)  # type: ignore[assignment]
        return sorted(tenants.values(), key=lambda t: t.slug)

    def _notifications(self) -> Iterator[Any]:
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=500)
            yield from page
            if len(page) < 500:
                return
            start = page[-1].id + 1


class ClientRegistry(Application[UUID]):
    """The API clients of one tenant (or of the office), kept in that tenant's own store."""

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock

    def create_client(self, prefix: str, name: str, scopes: list[str]) -> tuple[ApiClient, str]:
        """Creates a client with a fresh id and secret; the secret is returned once only."""
        client_id = f"{prefix}.{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        client = ApiClient(
            client_id=client_id, name=name, scopes=sorted(set(scopes)),
            secret_hash=hash_secret(secret), created_at=self.clock(),
        )
        self.save(client)
        return client, secret

    def get_client(self, client_id: str) -> ApiClient:
        """The client with this id."""
        try:
            client: ApiClient = self.repository.get(ApiClient.create_id(client_id))
        except AggregateNotFoundError:
            raise ClientNotFoundError(f"no API client {client_id!r}") from None
        return client

    def list_clients(self) -> list[ApiClient]:
        """Every client this registry issued (revoked ones too), oldest first, folded from
        the client events of the store (its other events are not read)."""
        topics = [get_topic(cls) for cls in (ApiClient.Created, ApiClient.Revoked,
                                             ApiClient.SecretRotated)]
        clients: list[ApiClient] = fold_events(self, ApiClient, topics)
        return sorted(clients, key=lambda c: (c.created_at, c.client_id))

    def rotate_secret(self, client_id: str, grace: timedelta) -> tuple[ApiClient, str]:
        """A new secret for the client, returned once; the old one works for `grace`."""
        client = self.get_client(client_id)
        secret = secrets.token_urlsafe(32)
        client.rotate_secret(hash_secret(secret), grace, self.clock())
        self.save(client)
        return client, secret

    def revoke_client(self, client_id: str) -> ApiClient:
        """Revokes a client: it can get no new token, and its tokens are refused."""
        client = self.get_client(client_id)
        client.revoke(self.clock())
        self.save(client)
        return client
