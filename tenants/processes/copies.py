"""Circulation keeps its own facts of each copy, fed from the catalog's events: an item added
(by hand or by an import) becomes a copy circulation knows; a withdrawn one a copy it
refuses to lend. The desk then reads one context, and learns a copy from the catalog only
when this manager has not told circulation of it yet."""

from __future__ import annotations

from typing import ClassVar

from domain.catalog.item import Item
from domain.shared.application import Receipt
from projections.framework import DomainEvent, Source
from tenants.commands import Command
from tenants.desk import copy_of
from tenants.processes.runner import Commands, ProcessManager
from tenants.scope import OFFICE


class ItemsToCopies(ProcessManager):
    """Item added or withdrawn in a library's catalog → the copy's facts in its circulation."""

    name = "items_to_copies"
    events: ClassVar[tuple[type[DomainEvent], ...]] = (Item.Added, Item.Withdrawn)

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    def react(self, event: DomainEvent, source: Source) -> None:
        """Tells the library's circulation what its catalog now says of the item."""
        if source.tenant == OFFICE:
            return
        scope = self.commands.consortium.scope(source.tenant)
        item_id, version = event.originator_id, event.originator_version

        def record(receipt: Receipt | None) -> object:
            item: Item = scope.catalog.repository.get(item_id, version=version)
            return scope.circulation.record_copy(copy_of(item), receipt)

        self.commands.run(source.tenant, self.key(source), Command(
            "recordCopy", {"item": str(item_id), "version": version}, record,
            lambda _: {"item": str(item_id)}))
