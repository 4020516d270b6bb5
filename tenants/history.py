"""The audit trail: who did what and when, for a record, an item or a whole library (or the
office). It names the event and the aggregate, never what the event carries, so no patron's
data enters it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.catalog.item import Item
from domain.circulation.holds import HoldQueue
from domain.circulation.item_lending import ItemLending
from infra.database import Database
from infra.history import EventHistory, LoggedEvent
from tenants.errors import TenantFieldInvalidError
from tenants.scope import OFFICE_SCHEMA, tenant_schema

MAX_ENTRIES = 200


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened: when, by whom (`client:<id>`, `staff:<user>@<tenant>`,
    `process:<name>`, `cli`, or None when not known), through which operation, to what."""

    position: int
    at: datetime | None
    actor: str | None
    operation: str | None
    aggregate: str
    aggregate_id: UUID
    event: str


@dataclass(frozen=True)
class HistoryPage:
    """Entries newest first; `next_before` asks for the older ones (None: no more)."""

    entries: list[HistoryEntry]
    next_before: int | None


class AuditTrail:
    """Reads the history of a library's (or the office's) log."""

    def __init__(self, database_of: Callable[[str], Database]) -> None:
        self._events = EventHistory(database_of)

    def of_record(self, tenant: str, record_id: UUID, first: int,
                  before: int | None = None) -> HistoryPage:
        """A record's history: the record, and its queue of holds."""
        return self._page(tenant_schema(tenant), first, before,
                          [record_id, HoldQueue.create_id(record_id)])

    def of_item(self, tenant: str, barcode: str, first: int,
                before: int | None = None) -> HistoryPage:
        """An item's history: the copy, and its lending (loans, returns, the hold shelf)."""
        item_id = Item.create_id(barcode)
        return self._page(tenant_schema(tenant), first, before,
                          [item_id, ItemLending.create_id(item_id)])

    def of_lending_request(self, tenant: str, request_id: UUID, first: int,
                           before: int | None = None) -> HistoryPage:
        """An interlibrary request's history, on this library's side."""
        return self._page(tenant_schema(tenant), first, before, [request_id])

    def of_tenant(self, tenant: str | None, first: int,
                  before: int | None = None) -> HistoryPage:
        """Everything a library (None: the office) recorded."""
        schema = OFFICE_SCHEMA if tenant is None else tenant_schema(tenant)
        return self._page(schema, first, before, None)

    def _page(self, schema: str, first: int, before: int | None,
              aggregates: list[UUID] | None) -> HistoryPage:
        if not 1 <= first <= MAX_ENTRIES:
            raise TenantFieldInvalidError(f"first: give 1 to {MAX_ENTRIES}, not {first}")
        if before is not None and before < 1:
            raise TenantFieldInvalidError(f"before: give a position from a page's nextBefore, "
                                          f"not {before}")
        found = self._events.events(schema, first + 1, before, aggregates)
        entries = [_entry(e) for e in found[:first]]
        return HistoryPage(entries, entries[-1].position if len(found) > first else None)


def _entry(logged: LoggedEvent) -> HistoryEntry:
    qualname = logged.topic.rpartition(":")[2]
    aggregate, _, event = qualname.rpartition(".")
    return HistoryEntry(logged.position, logged.at, logged.actor, logged.operation,
                        aggregate or qualname, logged.aggregate_id, event or qualname)
