"""Catalog use cases that reach circulation: a withdrawn copy is refused at the desk from the
moment its withdrawal is answered (circulation is told in the same request; the items →
copies process manager is the safety net when a process dies in between)."""

from __future__ import annotations

from domain.catalog.item import Item
from domain.shared.application import Receipt
from tenants.desk import copy_of
from tenants.scope import TenantScope


def withdraw_item(scope: TenantScope, barcode: str, reason: str,
                  receipt: Receipt | None = None) -> Item:
    """Withdraws an item for good; circulation stops lending it at once."""
    item = scope.catalog.withdraw_item(barcode, reason, receipt)
    scope.circulation.record_copy(copy_of(item))
    return item
