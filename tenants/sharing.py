"""Shared metadata across tenants: a member shares a record with the consortium (the shared
record lives in the office's log), links its records to shared ones or unlinks them; the
contributor or the office edits a shared record; the office merges duplicates.

Sharing is idempotent by construction: a record's shared record has an id made of its
contributor and source record, so sharing again (a retry after a crash between the office's
write and the member's link) finds the same shared record and only links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.catalog.errors import RecordNotLinkedError
from domain.catalog.record import Record
from domain.shared.application import Receipt
from domain.sharing.shared_record import SharedRecord
from infra.marc import to_marcxml, without_local_fields
from tenants.scope import OfficeScope, TenantScope


@dataclass(frozen=True)
class Shared:
    """A record just shared: the library's record, the shared record, and the local fields
    (holdings, local notes, 9XX) that stayed behind."""

    record: Record
    shared: SharedRecord
    stripped: list[str]


def share_record(scope: TenantScope, office: OfficeScope, record_id: UUID,
                 receipt: Receipt | None = None) -> Shared:
    """Shares one of the tenant's records without its local fields; the record then shows
    the shared record."""
    record = scope.catalog.get_record(record_id)
    if record.shared_record_id is not None:  # already shows a shared record
        return Shared(record, office.shared.resolve(record.shared_record_id), [])
    original_format, original = record.original_format, record.original
    stripped: list[str] = []
    if original_format is not None and original is not None:
        original_format, original, stripped = without_local_fields(original_format, original)
    shared = office.shared.contribute(scope.slug, record.id, record.description,
                                      original_format, original)
    linked = scope.catalog.link_to_shared(record.id, shared.id, receipt and (
        lambda linked: receipt(Shared(linked, shared, stripped))))
    return Shared(linked, shared, stripped)


def use_shared_record(scope: TenantScope, office: OfficeScope, shared_id: UUID,
                      record_id: UUID | None, receipt: Receipt | None = None) -> Record:
    """Shows a shared record (through merges, the survivor) on one of the tenant's records,
    or on a new holding without metadata of its own."""
    survivor = office.shared.resolve(shared_id)
    if record_id is not None:
        return scope.catalog.link_to_shared(record_id, survivor.id, receipt)
    return scope.catalog.use_shared_record(survivor.id, receipt)


def unlink_shared_record(scope: TenantScope, office: OfficeScope, record_id: UUID,
                         receipt: Receipt | None = None) -> Record:
    """Stops following the shared record, keeping its metadata as a local copy."""
    record = scope.catalog.get_record(record_id)
    if record.shared_record_id is None:
        raise RecordNotLinkedError(f"record {record_id} shows no shared record")
    shared = office.shared.resolve(record.shared_record_id)
    return scope.catalog.unlink_from_shared(record_id, shared.description, receipt)


def edit_shared_record(office: OfficeScope, shared_id: UUID, changes: dict[str, Any],
                       by: str, receipt: Receipt | None = None) -> SharedRecord:
    """Edits a shared record (its contributor or the office): every linked record shows it."""
    return office.shared.edit(shared_id, changes, by, receipt)


def merge_shared_records(office: OfficeScope, survivor_id: UUID, merged_id: UUID, by: str,
                         receipt: Receipt | None = None) -> SharedRecord:
    """Merges a duplicate into the survivor (the office only)."""
    return office.shared.merge(survivor_id, merged_id, by, receipt)


def record_marcxml(scope: TenantScope, office: OfficeScope, record_id: UUID) -> str | None:
    """A record's original as MARCXML, from the event store (read models keep no
    originals); a record showing a shared record gives the shared one's."""
    record = scope.catalog.get_record(record_id)
    if record.shared_record_id is not None:
        return shared_marcxml(office, record.shared_record_id)
    return _marcxml(record.original_format, record.original)


def shared_marcxml(office: OfficeScope, shared_id: UUID) -> str | None:
    """A shared record's original as MARCXML (through merges, the survivor's)."""
    shared = office.shared.resolve(shared_id)
    return _marcxml(shared.original_format, shared.original)


def _marcxml(original_format: str | None, original: str | None) -> str | None:
    if original_format is None or original is None:
        return None  # catalogued by hand: there is no original
    return to_marcxml(original_format, original)
