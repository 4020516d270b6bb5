"""A tenant's scope: everything one tenant's work needs — its applications, its idempotency
answers, its patron vault, its blobs and import jobs — bound to its own storage, so that
nothing above this layer ever names a schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.acquisition.application import Acquisitions
from domain.catalog.application import Catalog
from domain.circulation.application import Circulation
from domain.inventory.application import Inventory
from domain.lending.application import Interlending
from domain.sharing.application import SharedCatalog
from domain.staff.application import StaffDirectory
from infra.blobs import Blobs
from infra.database import Database
from infra.eventstore import application_env
from infra.idempotency import IdempotencyStore, Receipt
from infra.import_jobs import ImportJobs
from infra.kek import KeyEncryptionKey
from infra.servers import patiently
from infra.vault import PatronKey, PatronVault
from tenants.applications import ClientRegistry

OFFICE = "office"
OFFICE_SCHEMA = "office"


def tenant_schema(slug: str) -> str:
    """A tenant's events live in their own schema, named after the slug."""
    return "t_" + slug.replace("-", "_")


def log_name(schema: str) -> str:
    """The name a schema's events travel under: the tenant's slug, or `office`."""
    return schema.removeprefix("t_").replace("_", "-")


@dataclass(frozen=True)
class Stores:
    """The process's stores kept beside the event stores, one table of each per tenant."""

    idempotency: IdempotencyStore
    vault: PatronVault
    blobs: Blobs
    import_jobs: ImportJobs

    @classmethod
    def of(cls, database: Database, kek: KeyEncryptionKey | None = None,
           owner: uuid.UUID | None = None) -> Stores:
        """The stores of a database (patron keys need the key-encryption key; `owner` names
        the process in its import jobs)."""
        return cls(IdempotencyStore(database), PatronVault(database, kek), Blobs(database),
                   ImportJobs(database, owner))


class Answers:
    """A log's answers under idempotency keys (see infra.idempotency)."""

    def __init__(self, store: IdempotencyStore, schema: str) -> None:
        self._store = store
        self.schema = schema
        self.log = log_name(schema)

    def answer(self, key: str, operation: str, fingerprint: str) -> dict[str, Any] | None:
        """The first answer under this key (KeyReusedError: another operation or input)."""
        return self._store.answer(self.schema, key, operation, fingerprint)

    def receipt(self, key: str, operation: str, answer: dict[str, Any],
                fingerprint: str) -> Receipt:
        """An answer to write with the command's events."""
        return self._store.receipt(self.schema, key, operation, answer, fingerprint)

    def keep(self, receipt: Receipt) -> None:
        """Keeps the answer of a command that recorded nothing."""
        self._store.keep(self.schema, receipt)


class Vault:
    """A tenant's patron keys (see infra.vault)."""

    def __init__(self, vault: PatronVault, schema: str) -> None:
        self._vault = vault
        self._schema = schema

    def create(self, patron_id: uuid.UUID, barcode: str) -> PatronKey:
        """A new patron's key (BarcodeTakenError if another patron has the barcode)."""
        return self._vault.create(self._schema, patron_id, barcode)

    def by_barcode(self, barcode: str) -> PatronKey | None:
        """The key of the patron with this barcode."""
        return self._vault.by_barcode(self._schema, barcode)

    def by_patron(self, patron_id: uuid.UUID) -> PatronKey | None:
        """The key of this patron."""
        return self._vault.by_patron(self._schema, patron_id)

    def by_pseudonym(self, pseudonym: uuid.UUID) -> PatronKey | None:
        """The key behind a pseudonym."""
        return self._vault.by_pseudonym(self._schema, pseudonym)

    def destroy(self, patron_id: uuid.UUID) -> None:
        """Destroys the patron's key: the erasure."""
        self._vault.destroy(self._schema, patron_id)


class TenantBlobs:
    """A tenant's stored files, by content (see infra.blobs); a write meeting the tenant's
    writes paused by a move is made again once it moved."""

    def __init__(self, blobs: Blobs, schema: str) -> None:
        self._blobs = blobs
        self._schema = schema

    def put_gzip(self, address: str, size: int, gzipped: Path) -> str:
        """Stores a file given gzipped (its SHA-256 and size known) once; its address."""
        return patiently(lambda: self._blobs.put_gzip(self._schema, address, size, gzipped))

    def get_to_file(self, address: str, path: Path) -> bool:
        """Writes a stored file out; False if there is none."""
        return self._blobs.get_to_file(self._schema, address, path)


class TenantImportJobs:
    """A tenant's MARC import jobs (see infra.import_jobs); writes wait out a move's pause."""

    def __init__(self, jobs: ImportJobs, schema: str) -> None:
        self._jobs = jobs
        self._schema = schema

    def start(self, job_id: uuid.UUID, client_id: str, fmt: str, size: int) -> None:
        """Records a job about to run."""
        patiently(lambda: self._jobs.start(self._schema, job_id, client_id, fmt, size))

    def progress(self, job_id: uuid.UUID, bytes_read: int, summary: dict[str, Any]) -> None:
        """Notes how far a job got."""
        patiently(lambda: self._jobs.progress(self._schema, job_id, bytes_read, summary))

    def finish(self, job_id: uuid.UUID, summary: dict[str, Any] | None,
               error: str | None = None) -> None:
        """Marks a job done or failed."""
        patiently(lambda: self._jobs.finish(self._schema, job_id, summary, error))

    def get(self, job_id: uuid.UUID) -> dict[str, Any] | None:
        """A job of the tenant, or None."""
        return self._jobs.get(self._schema, job_id)

    def list(self, limit: int, before: tuple[datetime, uuid.UUID] | None = None
             ) -> list[dict[str, Any]]:
        """The tenant's jobs, newest first, started before `before` (a page's last)."""
        return self._jobs.list(self._schema, limit, before)


class TenantScope:
    """What serves one tenant: the applications bound to its event store and its stores."""

    def __init__(self, database: Database, stores: Stores, slug: str,
                 lock_timeout_s: int) -> None:
        self.slug = slug
        schema = tenant_schema(slug)
        env = application_env(database, schema, lock_timeout_s)
        self.clients = ClientRegistry(env=env)
        self.catalog = Catalog(env=env)
        self.inventory = Inventory(env=env)
        self.acquisitions = Acquisitions(env=env)
        self.staff = StaffDirectory(env=env)
        # An item's lending state grows by two events a loan: the cache keeps each aggregate
        # and only reads the events after the version it holds (correct across processes).
        self.circulation = Circulation(env={**env, "AGGREGATE_CACHE_MAXSIZE": "2000",
                                            "AGGREGATE_CACHE_FASTFORWARD": "y"})
        self.lending = Interlending(env=env)
        self.answers = Answers(stores.idempotency, schema)
        self.vault = Vault(stores.vault, schema)
        self.blobs = TenantBlobs(stores.blobs, schema)
        self.import_jobs = TenantImportJobs(stores.import_jobs, schema)

    def last_position(self) -> int:
        """The position of the last event in the tenant's log."""
        return self.catalog.recorder.max_notification_id() or 0


class OfficeScope:
    """What serves the consortium office's own log: the register's neighbours that members
    share (shared records) and the office's answers under idempotency keys."""

    def __init__(self, database: Database, stores: Stores, lock_timeout_s: int) -> None:
        env = application_env(database, OFFICE_SCHEMA, lock_timeout_s)
        self.slug = OFFICE
        self.shared = SharedCatalog(env=env)
        self.acquisitions = Acquisitions(env=env)  # the office's price-sharing setting
        self.staff = StaffDirectory(env=env)
        self.answers = Answers(stores.idempotency, OFFICE_SCHEMA)

    def last_position(self) -> int:
        """The position of the last event in the office's log."""
        return self.shared.recorder.max_notification_id() or 0
