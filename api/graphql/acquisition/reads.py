"""What acquisition reads of the union catalog and of its own read model, in one request:
the union catalog's view behind the small interface the use cases ask for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.union_catalog.view import UnionCatalogView


class UnionCatalogReads:
    """The union catalog as acquisition asks it (HoldingsReads, UnionReads)."""

    def __init__(self, view: UnionCatalogView) -> None:
        self.view = view

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        """An entry's title, authors, ISBNs, year and member records (tenant, record id)."""
        found = self.view.entry(entry_id)
        if found is None:
            return None
        records = [(r["tenant"], r["record_id"])
                   for r in self.view.records_of([entry_id]).get(entry_id, [])]
        return {**found, "year": str(found["year"]) if found["year"] else None,
                "records": records}

    def entry_with_isbn(self, isbn: str) -> str | None:
        """The entry holding this ISBN (any of its forms), if there is one."""
        return self.view.entry_with_isbn(isbn)

    def entry_of_record(self, tenant: str, record_id: UUID) -> str | None:
        """The entry a member's record is in."""
        return self.view.entry_of_record(tenant, record_id)

    def holdings(self, entry_id: str) -> list[dict[str, Any]]:
        """Per member with a record in the entry: tenant, items, available."""
        return [{"tenant": h["tenant"], "items": h["items"], "available": h["available"]}
                for h in self.view.holdings(entry_id)]

    def holder_sets(self) -> list[frozenset[str]]:
        """For every entry, the members holding a copy."""
        return self.view.holder_sets()
