"""The interlibrary-lending projection: every tenant's requests, both ends, with their
state, partner and history (each message, each state, when, by whom). No patron data: the
requester's patron is kept only as a pseudonym in its own events, never here."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.lending.incoming import MEMBER, IncomingRequest
from domain.lending.outgoing import PEER_MARK, OutgoingRequest, is_peer, supplier_of
from domain.lending.status import LOANED, REQUEST_RECEIVED
from projections.framework import Projection, Source, on
from projections.lending.postgres import NAME, REQUESTER, SUPPLIER, TABLES, LendingTables


class Lending(Projection):
    """Interlibrary requests of every tenant."""

    name = NAME
    tables = TABLES
    # Rows are per request and their history lines are keyed by position: a parked event
    # leaves one request behind, not the others.
    skip_poison = True

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.store = LendingTables(generation)

    def create_tables(self, cur: Cursor[Any]) -> None:
        self.store.create(cur)

    @on(IncomingRequest.Received)
    def _received(self, cur: Cursor[Any], event: IncomingRequest.Received,
                  source: Source) -> None:
        member = event.requester_kind == MEMBER
        peer_type, _, peer_value = event.requester.partition(":")
        self.store.add(cur, source.tenant, event.originator_id, side=SUPPLIER,
                       state=REQUEST_RECEIVED, title=event.title,
                       requesting_agency_request_id=event.requesting_agency_request_id,
                       peer=None if member else (peer_type, peer_value),
                       partner=event.requester if member else None, entry_id=event.entry_id,
                       at=event.received_at, seq=source.position)
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state=REQUEST_RECEIVED, at=event.received_at, actor=None,
                        message="request received")

    @on(IncomingRequest.StatusChanged)
    def _status(self, cur: Cursor[Any], event: IncomingRequest.StatusChanged,
                source: Source) -> None:
        self.store.change(cur, source.tenant, event.originator_id, event.changed_at,
                          state=event.status, shipped=event.status == LOANED,
                          due_at=event.due_at)
        answer = "" if event.answer_yes is None else (" yes" if event.answer_yes else " no")
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state=event.status, at=event.changed_at, actor=event.actor,
                        message=f"{event.reason_for_message}{answer}"
                        + (f": {event.reason}" if event.reason else ""))

    @on(IncomingRequest.ActionApplied)
    def _action(self, cur: Cursor[Any], event: IncomingRequest.ActionApplied,
                source: Source) -> None:
        self.store.note(cur, source.tenant, event.originator_id, source.position, state=None,
                        at=event.applied_at, actor=None, message=f"requester: {event.action}")

    @on(OutgoingRequest.Requested)
    def _requested(self, cur: Cursor[Any], event: OutgoingRequest.Requested,
                   source: Source) -> None:
        first = supplier_of(event.candidates[0]) if event.candidates else None
        peer = _peer(first)
        self.store.add(cur, source.tenant, event.originator_id, side=REQUESTER,
                       state=REQUEST_RECEIVED, title=event.title,
                       requesting_agency_request_id=str(event.originator_id), peer=peer,
                       partner=None if peer else first, entry_id=event.entry_id,
                       at=event.requested_at, seq=source.position)
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state=REQUEST_RECEIVED, at=event.requested_at, actor=event.actor,
                        message=f"requested from {first}" if first else "requested")

    @on(OutgoingRequest.StatusApplied)
    def _applied(self, cur: Cursor[Any], event: OutgoingRequest.StatusApplied,
                 source: Source) -> None:
        if not event.late:
            self.store.change(cur, source.tenant, event.originator_id, event.applied_at,
                              state=event.status, shipped=event.status == LOANED,
                              due_at=event.due_at)
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state=event.status, at=event.applied_at, actor=None,
                        message=f"{event.supplier}: {event.reason_for_message}"
                        + (" (late, overtaken)" if event.late else ""))

    @on(OutgoingRequest.MovedOn)
    def _moved_on(self, cur: Cursor[Any], event: OutgoingRequest.MovedOn,
                  source: Source) -> None:
        supplier = supplier_of(event.supplier)
        self.store.change(cur, source.tenant, event.originator_id, event.moved_at,
                          state=REQUEST_RECEIVED, partner=supplier, attempt=event.attempt)
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state=REQUEST_RECEIVED, at=event.moved_at, actor=None,
                        message=f"rota moved on ({event.why}) from "
                                f"{supplier_of(event.previous)} to {supplier}")

    @on(OutgoingRequest.Exhausted)
    def _exhausted(self, cur: Cursor[Any], event: OutgoingRequest.Exhausted,
                   source: Source) -> None:
        self.store.change(cur, source.tenant, event.originator_id, event.exhausted_at,
                          state="Unfilled")
        self.store.note(cur, source.tenant, event.originator_id, source.position,
                        state="Unfilled", at=event.exhausted_at, actor=None,
                        message=f"rota exhausted ({event.why})")

    @on(OutgoingRequest.ActionTaken)
    def _acted(self, cur: Cursor[Any], event: OutgoingRequest.ActionTaken,
               source: Source) -> None:
        self.store.note(cur, source.tenant, event.originator_id, source.position, state=None,
                        at=event.taken_at, actor=event.actor,
                        message=f"{event.action} sent to {event.supplier}")

    @on(OutgoingRequest.LentOn)
    def _lent_on(self, cur: Cursor[Any], event: OutgoingRequest.LentOn,
                 source: Source) -> None:
        self.store.note(cur, source.tenant, event.originator_id, source.position, state=None,
                        at=event.lent_at, actor=None,
                        message=f"lent to the patron as item {event.item_barcode}")


def _peer(supplier: str | None) -> tuple[str, str] | None:
    """An outside library's (agencyIdType, agencyIdValue), when the supplier is one."""
    if supplier is None or not is_peer(supplier):
        return None
    kind, _, value = supplier.removeprefix(PEER_MARK).partition(":")
    return kind, value
