"""The consortium: the office's register, each tenant's scope, provisioning and export."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from domain.shared.application import Receipt
from domain.shared.text import text_problem
from infra import tenant_copy
from infra.database import Database
from infra.eventstore import application_env, create_events_table
from infra.kek import KeyEncryptionKey
from infra.listener import ChannelListener, announce
from infra.servers import Servers
from tenants.access import ACCESS_CHANNEL, Access, AccessCache
from tenants.applications import ClientRegistry, ConsortiumOffice
from tenants.client import LIBRARY_SCOPES, OFFICE_SCOPES, ApiClient
from tenants.errors import (
    ClientNotFoundError,
    ClientScopeInvalidError,
    TenantFieldInvalidError,
    TenantNotFoundError,
    TenantSlugTakenError,
    TenantStatusError,
)
from tenants.history import AuditTrail
from tenants.placement import TenantPlacement
from tenants.scope import (
    OFFICE,
    OFFICE_SCHEMA,
    OfficeScope,
    Stores,
    TenantScope,
    log_name,
    tenant_schema,
)
from tenants.staff import StaffAccounts
from tenants.tenant import ACTIVE, ARCHIVED, Tenant, check_isil, check_name, check_slug


@dataclass(frozen=True)
class IssuedClient:
    """A client just created, with the secret that is shown this once."""

    client: ApiClient
    secret: str
    tenant: str | None


class Consortium:
    """Tenancy use cases that span the office and the tenants' own stores."""

    def __init__(self, database: Database, lock_timeout_s: int = 5, max_scopes: int = 256,
                 access_ttl_s: float = 5.0, *, kek: KeyEncryptionKey | None = None,
                 servers: Servers | None = None) -> None:
        self.database = database
        self.servers = servers or Servers(database)
        self.lock_timeout_s = lock_timeout_s
        self.max_scopes = max_scopes
        self._scopes: OrderedDict[str, TenantScope] = OrderedDict()
        self._scopes_lock = threading.Lock()
        self.stores = Stores.of(database, kek)  # no KEK: no patron keys (see infra.kek)
        self.placement = TenantPlacement(self.servers, kek, self.stores.import_jobs.owner)
        self.bootstrap()
        office_env = application_env(database, OFFICE_SCHEMA, lock_timeout_s)
        self.office = ConsortiumOffice(env=office_env)
        self.office_clients = ClientRegistry(env=office_env)
        self.office_scope = OfficeScope(database, self.stores, lock_timeout_s)
        self.shared = self.office_scope.shared
        self.accesses: AccessCache[Access] = AccessCache(self._load_access, access_ttl_s)
        # Told of every announced change of access (client, tenant, staff user, session).
        self.watchers: list[Callable[[str | None], None]] = [self.accesses.changed]
        self._listener: ChannelListener | None = None
        self.staff = StaffAccounts(self)
        self.audit = AuditTrail(self.database_of)

    def bootstrap(self) -> None:
        """Creates the office's schema and events table once; safe to repeat."""
        self.database.create_schema(OFFICE_SCHEMA)
        create_events_table(self.database, OFFICE_SCHEMA)

    def scope(self, slug: str) -> TenantScope:
        """The tenant's scope, from a bounded cache (connections are shared, not per scope)."""
        with self._scopes_lock:
            scope = self._scopes.get(slug)
            if scope is None:
                scope = TenantScope(self.placement.database(slug), self.placement.stores(slug),
                                    slug, self.lock_timeout_s)
                self._scopes[slug] = scope
                if len(self._scopes) > self.max_scopes:
                    self._scopes.popitem(last=False)
            else:
                self._scopes.move_to_end(slug)
            return scope

    def register_tenant(self, slug: str, name: str, isil: str | None,
                        receipt: Receipt | None = None, server: str | None = None) -> Tenant:
        """Provisions the tenant's schema on its server (the one named, or the one holding
        the fewest tenants), then records it; a failure leaves no trace."""
        check_slug(slug)
        check_name(name)
        check_isil(isil)
        chosen = self.placement.choose(server)
        if self.office.slug_taken(slug):
            raise TenantSlugTakenError(f"a tenant with slug {slug!r} already exists")
        schema = tenant_schema(slug)
        database = self.servers.get(chosen)
        if not database.create_schema(schema):
            raise TenantSlugTakenError(f"a tenant with slug {slug!r} is being registered")
        try:
            create_events_table(database, schema)
            self.placement.table.place(slug, chosen)
            return self.office.register_tenant(slug, name, isil, receipt)
        except BaseException:
            self.placement.table.forget(slug)
            database.drop_schema(schema)
            raise

    def database_of(self, schema: str) -> Database:
        """The database a schema lives on: the office's on default, a tenant's wherever the
        tenant lives."""
        if schema == OFFICE_SCHEMA:
            return self.database
        return self.placement.database(log_name(schema))

    def not_archived(self, slug: str) -> Tenant:
        """The tenant, refused (TenantStatusError) when archived: it takes nothing new, and
        its store may be deleted already (writing there failed with a 500)."""
        tenant = self.office.get_tenant(slug)
        if tenant.status == ARCHIVED:
            raise TenantStatusError(f"{slug} is archived: it takes no new clients or peers")
        return tenant

    def deleted(self, slug: str) -> bool:
        """True for an archived tenant whose store `tenants delete` removed."""
        if self.office.get_tenant(slug).status != ARCHIVED:
            return False
        with self.placement.database(slug).connection() as conn:
            return not tenant_copy.tables(conn, tenant_schema(slug))

    def server_of(self, slug: str) -> str:
        """The name of the database server that holds the tenant."""
        self.office.get_tenant(slug)
        return self.placement.server_of(slug, fresh=True)

    def create_client(self, tenant: str | None, name: str, scopes: list[str]) -> IssuedClient:
        """Issues a client to a tenant (library scopes) or to the office (admin scope)."""
        cleaned = name.strip()
        if not cleaned or len(cleaned) > 200:
            raise TenantFieldInvalidError("client name must be 1-200 characters, not blank")
        if text_problem(cleaned):
            raise TenantFieldInvalidError(f"name: {text_problem(cleaned)}")
        allowed = OFFICE_SCOPES if tenant is None else LIBRARY_SCOPES
        if not scopes:
            raise ClientScopeInvalidError(f"give at least one scope of: {sorted(allowed)}")
        unknown = sorted(set(scopes) - allowed)
        if unknown:
            whose = "the consortium office" if tenant is None else f"tenant {tenant!r}"
            raise ClientScopeInvalidError(
                f"scopes {unknown} are not for {whose}; allowed: {sorted(allowed)}"
            )
        if tenant is None:
            client, secret = self.office_clients.create_client(OFFICE, cleaned, scopes)
        else:
            self.not_archived(tenant)
            client, secret = self.scope(tenant).clients.create_client(tenant, cleaned, scopes)
        return IssuedClient(client, secret, tenant)

    def registry_for(self, client_id: str) -> tuple[str | None, ClientRegistry]:
        """The tenant (None for the office) and registry that a client id belongs to."""
        prefix, dot, _ = client_id.rpartition(".")
        if not dot:
            raise ClientNotFoundError(f"no API client {client_id!r}")
        if prefix == OFFICE:
            return None, self.office_clients
        try:
            check_slug(prefix)
        except ValueError:
            raise ClientNotFoundError(f"no API client {client_id!r}") from None
        if not self.office.slug_taken(prefix) or self.deleted(prefix):
            raise ClientNotFoundError(f"no API client {client_id!r}")
        return prefix, self.scope(prefix).clients

    def find_client(self, client_id: str) -> tuple[str | None, ApiClient]:
        """The client with this id and its tenant."""
        tenant, registry = self.registry_for(client_id)
        return tenant, registry.get_client(client_id)

    def revoke_client(self, tenant: str | None, client_id: str) -> ApiClient:
        """Revokes a client of the given tenant (a client of another tenant is not found)."""
        owner, registry = self.registry_for(client_id)
        if owner != tenant:
            raise ClientNotFoundError(f"no API client {client_id!r} for this tenant")
        client = registry.revoke_client(client_id)
        self.announce(f"client:{client_id}")
        return client

    def suspend_tenant(self, slug: str, reason: str, receipt: Receipt | None = None) -> Tenant:
        """Suspends an active tenant: its tokens are refused from now on, in every process."""
        tenant = self.office.suspend_tenant(slug, reason, receipt)
        self.announce(f"tenant:{slug}")
        return tenant

    def reactivate_tenant(self, slug: str, receipt: Receipt | None = None) -> Tenant:
        """Lets a suspended tenant's clients in again."""
        tenant = self.office.reactivate_tenant(slug, receipt)
        self.announce(f"tenant:{slug}")
        return tenant

    def archive_tenant(self, slug: str, receipt: Receipt | None = None) -> Tenant:
        """Archives a tenant for good; its events are kept, its tokens refused."""
        tenant = self.office.archive_tenant(slug, receipt)
        self.announce(f"tenant:{slug}")
        return tenant

    def access(self, client_id: str) -> Access:
        """A client, its tenant and the tenant's status, as a request checks them: from
        memory, forgotten the moment any process announces a change to them."""
        self.listen()
        return self.accesses.get(client_id)

    def listen(self) -> None:
        """Starts hearing the changes of access other processes announce (once)."""
        if self._listener is None:
            self._listener = ChannelListener(self.database.url, ACCESS_CHANNEL, self._changed)

    def _changed(self, what: str | None) -> None:
        for watcher in self.watchers:
            watcher(what)

    def close(self) -> None:
        """Stops listening for changes of access."""
        if self._listener is not None:
            self._listener.close()

    def _load_access(self, client_id: str) -> Access:
        tenant, client = self.find_client(client_id)
        if tenant is None:
            return Access(None, client, None)
        try:
            found = self.office.get_tenant(tenant)
        except TenantNotFoundError:
            return Access(tenant, client, "missing")
        return Access(tenant, client, found.status, found.suspension_reason)

    def announce(self, what: str) -> None:
        """Tells every process (this one at once) that an access changed: `client:<id>`,
        `tenant:<slug>`, `session:<id>` or `staff:<tenant>:<user id>`."""
        self._changed(what)  # this process at once; the others when they hear it
        with self.database.connection() as conn:
            announce(conn, ACCESS_CHANNEL, what)

    def export(self, slug: str) -> Iterator[str]:
        """The tenant as JSON lines: a header, then every event of its store in order."""
        tenant = self.office.get_tenant(slug)
        yield json.dumps({
            "type": "tenant", "slug": tenant.slug, "name": tenant.name, "isil": tenant.isil,
            "status": tenant.status, "suspension_reason": tenant.suspension_reason,
            "schema": tenant_schema(slug), "format": 1,
        })
        recorder = self.scope(slug).clients.recorder
        start = 1
        while True:
            page = recorder.select_notifications(start=start, limit=1000)
            for n in page:
                yield json.dumps({
                    "type": "event", "position": n.id, "originator_id": str(n.originator_id),
                    "originator_version": n.originator_version, "topic": n.topic,
                    "state": _decode_state(n.state),
                })
            if len(page) < 1000:
                return
            start = page[-1].id + 1


def _decode_state(state: bytes) -> Any:
    """Event state is stored as JSON; anything else (encrypted data) is exported as hex."""
    try:
        return json.loads(state)
    except ValueError:
        return {"hex": state.hex()}


__all__ = [
    "ACTIVE", "OFFICE", "Consortium", "IssuedClient", "TenantScope", "log_name", "tenant_schema",
]
