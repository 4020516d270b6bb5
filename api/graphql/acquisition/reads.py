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

    def entries_of_records(self, records: list[tuple[str, UUID]]
                           ) -> dict[tuple[str, UUID], str]:
        """The entry of each of these member records (tenant, record id) in sight."""
        return self.view.entries_of_records(records)

    def described(self, entry_ids: list[str]
                  ) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Several entries at once: each one's row and its holdings per member."""
        rows = {row["id"]: dict(row) for row in self.view.entries(entry_ids)}
        held = self.view.holdings_of(entry_ids)
        return {i: (rows[i], [dict(h) for h in held.get(i, [])]) for i in rows}

    def holdings(self, entry_id: str) -> list[dict[str, Any]]:
        """Per member with a record in the entry: tenant, items, available."""
        return [{"tenant": h["tenant"], "items": h["items"], "available": h["available"]}
                for h in self.view.holdings(entry_id)]

    def holder_sets(self) -> list[frozenset[str]]:
        """For every entry, the members holding a copy."""
        return self.view.holder_sets()
