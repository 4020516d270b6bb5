"""Contribute, then link: a record shared with the consortium is recorded in the office's log,
and its contributor's record is linked to it in the member's log. The share use case does
both in one request; this manager finishes the link when a process died in between, so a
contribution never stays unlinked."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from domain.catalog.errors import RecordNotFoundError
from domain.catalog.record import Record
from domain.shared.application import Receipt
from domain.sharing.shared_record import SharedRecord
from projections.framework import DomainEvent, Source
from tenants.commands import Command
from tenants.processes.runner import Commands, ProcessManager
from tenants.scope import OFFICE, TenantScope


class ContributionsToLinks(ProcessManager):
    """A shared record contributed → the contributor's record shows it."""

    name = "contributions_to_links"
    events: ClassVar[tuple[type[DomainEvent], ...]] = (SharedRecord.Contributed,)

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    def react(self, event: DomainEvent, source: Source) -> None:
        """Links the contributor's source record to the shared record (once)."""
        if source.tenant != OFFICE or not isinstance(event, SharedRecord.Contributed):
            return
        shared_id, record_id = event.originator_id, event.source_record_id
        scope = self.commands.consortium.scope(event.contributor)

        def link(receipt: Receipt | None) -> object:
            try:
                record = scope.catalog.get_record(record_id)
            except RecordNotFoundError:
                return None  # the contributor's store no longer has it: nothing to link
            if record.shared_record_id is not None or _ever_linked(scope, record_id, shared_id):
                return record  # linked already, or linked and since unlinked by the member
            return scope.catalog.link_to_shared(record_id, shared_id, receipt)

        self.commands.run(event.contributor, self.key(source), Command(
            "linkToShared", {"record": str(record_id), "shared": str(shared_id)}, link,
            lambda _: {"record": str(record_id)}))


def _ever_linked(scope: TenantScope, record_id: UUID, shared_id: UUID) -> bool:
    """Whether the record was linked to the shared record at some time (a member that
    unlinked it since must not find it linked again by a late reaction)."""
    return any(isinstance(event, Record.LinkedToShared) and event.shared_record_id == shared_id
               for event in scope.catalog.events.get(record_id))
