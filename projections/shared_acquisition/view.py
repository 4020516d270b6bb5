"""What others may ask of the shared acquisition read model: orders (a member's own, or
everyone's open ones for some titles), suggestions counted per title and member,
interlibrary requests per member record, and whether the office shares prices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict
from uuid import UUID

from domain.acquisition.order import OPEN
from projections.framework import View
from projections.shared_acquisition.postgres import (
    NAME,
    ORDER_COLUMNS,
    SharedAcquisitionTables,
)
from projections.shared_acquisition.projection import PRICE_SHARING


class OrderRow(TypedDict):
    """An order as the read model has it."""

    tenant: str
    order_id: UUID
    wanted_key: str
    entry_id: str | None
    title: str | None
    isbn: str | None
    copies: int
    price_amount: Decimal | None
    price_currency: str | None
    vendor: str | None
    status: str
    placed_at: datetime
    changed_at: datetime
    record_id: UUID | None


class Titled(NamedTuple):
    """A title demand is counted under: its key, and its entry, title and ISBN if known."""

    key: str
    entry_id: str | None
    title: str | None
    isbn: str | None


class Requested(NamedTuple):
    """Interlibrary requests made for a member record's title, and how many went unfilled."""

    tenant: str
    record_id: UUID
    requests: int
    unfilled: int


class SharedAcquisitionView(View):
    """Members' suggestions, orders and demand."""

    name = NAME

    def __init__(self, cur: Any, generation: int = 1) -> None:
        super().__init__(cur, generation)
        self._tables = SharedAcquisitionTables(generation)

    def prices_shared(self) -> bool:
        """True if the office lets members see each other's order prices."""
        return self._tables.setting(self.cur, PRICE_SHARING)

    def orders(self, *, tenant: str | None = None, wanted_keys: list[str] | None = None,
               status: str | None = None, limit: int = 500) -> list[OrderRow]:
        """Orders, newest first (a member's, or anyone's for these titles)."""
        rows = self._tables.orders(self.cur, tenant=tenant, wanted_keys=wanted_keys,
                                   status=status, limit=limit)
        return [_order(r) for r in rows]

    def order(self, tenant: str, order_id: UUID) -> OrderRow | None:
        """One of a member's orders, or None."""
        rows = self._tables.orders(self.cur, tenant=tenant, order_id=order_id, limit=1)
        return _order(rows[0]) if rows else None

    def open_orders(self, wanted_keys: list[str]) -> list[OrderRow]:
        """Every member's open orders for these titles."""
        return self.orders(wanted_keys=wanted_keys, status=OPEN, limit=10_000)

    def suggestions(self) -> list[tuple[Titled, str, int]]:
        """(title, member, suggestions) for every title suggested."""
        return [(Titled(r[0], r[1], r[2], r[3]), str(r[4]), int(r[5]))
                for r in self._tables.suggestion_counts(self.cur)]

    def titles_on_order(self) -> list[Titled]:
        """Every title some member has on open order."""
        return [Titled(*r) for r in self._tables.open_order_keys(self.cur, OPEN)]

    def interlibrary(self) -> list[Requested]:
        """Every member record some interlibrary request was counted under."""
        return [Requested(str(r[0]), r[1], int(r[2]), int(r[3]))
                for r in self._tables.interlibrary_demand(self.cur)]


def _order(row: tuple[Any, ...]) -> OrderRow:
    found: OrderRow = dict(zip(ORDER_COLUMNS, row, strict=True))  # type: ignore[assignment]
    return found
