"""Interlibrary messages between members: the requester's request, its rota's turns and its
actions travel to the supplier's tenant; the supplier's statuses travel back. Each delivery
is one command in the receiving tenant under a key made from the source event, and the
receiving aggregate applies a message id once more, so a redelivered event changes nothing;
a message the receiving end refuses (a cancellation overtaken by the shipping) is logged and
dropped, never retried for ever."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, NamedTuple
from uuid import UUID

from domain.lending.errors import LendingError
from domain.lending.incoming import IncomingRequest
from domain.lending.message import Sent
from domain.lending.outgoing import PEER_MARK, TIMEOUT, OutgoingRequest, is_peer, supplier_of
from domain.lending.status import CANCEL, UNFILLED
from domain.shared.application import Receipt
from infra.ill_outbox import IllOutbox
from infra.iso18626 import (
    Header,
    LoanRequest,
    RequesterAction,
    SupplierStatus,
    request_message,
    requesting_message,
    supplying_message,
)
from projections.framework import DomainEvent, Source
from tenants.commands import Command
from tenants.errors import TenantNotFoundError
from tenants.lending import InterlibraryDesk
from tenants.processes.runner import Commands, ProcessManager
from tenants.scope import OFFICE
from tenants.tenant import ARCHIVED

log = logging.getLogger(__name__)


class LendingMessages(ProcessManager):
    """OutgoingRequest events → the supplier's tenant; IncomingRequest statuses (of requests
    from members) → the requester's tenant."""

    name = "lending_messages"
    events: ClassVar[tuple[type[DomainEvent], ...]] = (
        OutgoingRequest.Requested, OutgoingRequest.MovedOn, OutgoingRequest.Exhausted,
        OutgoingRequest.ActionTaken, IncomingRequest.StatusChanged)

    def __init__(self, commands: Commands, desk_of: Callable[[str], InterlibraryDesk],
                 outbox: IllOutbox, requests: ReceivedRequests | None = None) -> None:
        self.commands = commands
        self.desk_of = desk_of
        self.outbox = outbox
        self.requests = requests or ReceivedRequests(commands)

    def react(self, event: DomainEvent, source: Source) -> None:
        """Carries one message to the other end."""
        if source.tenant == OFFICE:
            return
        sent = Sent(f"{source.tenant}:{source.position}", event.timestamp)
        if isinstance(event, OutgoingRequest.Event) and self._to_peer(event, source):
            return
        if isinstance(event, OutgoingRequest.Requested) and event.candidates:
            self._request(source, event.originator_id, 0, event.candidates[0],
                          self.key(source), asked=Asked(event.title, event.entry_id,
                                                  event.needed_by, event.note))
        elif isinstance(event, OutgoingRequest.MovedOn):
            self._request(source, event.originator_id, event.attempt, event.supplier,
                          self.key(source))
            if event.why == TIMEOUT:  # the silent member must not supply it too
                self._action(source, event.originator_id, supplier=supplier_of(event.previous),
                             attempt=event.previous_attempt, action=CANCEL, sent=sent,
                             note="", key=self.key(source) + ":cancel")
        elif isinstance(event, OutgoingRequest.Exhausted):
            if event.why == TIMEOUT and event.previous is not None:
                self._action(source, event.originator_id, supplier=supplier_of(event.previous),
                             attempt=event.previous_attempt, action=CANCEL, sent=sent,
                             note="", key=self.key(source))
        elif isinstance(event, OutgoingRequest.ActionTaken):
            self._action(source, event.originator_id, supplier=event.supplier,
                         attempt=event.attempt, action=event.action, sent=sent,
                         note=event.note, key=self.key(source))
        elif isinstance(event, IncomingRequest.StatusChanged):
            self._status(source, event, sent)

    def _to_peer(self, event: OutgoingRequest.Event, source: Source) -> bool:
        """A request to an outside library, or an action on one: the ISO 18626 message
        queued in the outbox. False for a member's (decided from the event alone: the
        request is read only for a peer's message)."""
        supplier = _addressee(event)
        if supplier is None or not is_peer(supplier):
            return False
        request = self.commands.consortium.scope(source.tenant).lending.outgoing(
            event.originator_id)
        if isinstance(event, OutgoingRequest.ActionTaken):
            self._queue(source, request, supplier, event.timestamp,
                        lambda header: requesting_message(
                            RequesterAction(header, event.action, event.note)))
        else:
            self._queue(source, request, supplier, event.timestamp,
                        lambda header: request_message(LoanRequest(
                            header, request.title, need_before=request.needed_by,
                            note=request.note)))
        return True

    def _queue(self, source: Source, request: OutgoingRequest, supplier: str,
               at: datetime, body: Callable[[Header], bytes]) -> None:
        """Queues a message to an outside library in the outbox, once per source event."""
        kind, _, value = supplier.removeprefix(PEER_MARK).partition(":")
        scope = self.commands.consortium.scope(source.tenant)
        peer = scope.lending.peer(kind, value)
        if peer is None:
            log.warning("no peer %s registered with %s: message not queued", supplier,
                        source.tenant)
            return
        isil = self.commands.consortium.office.get_tenant(source.tenant).isil or source.tenant
        header = Header((peer.agency_id_type, peer.agency_id_value), ("ISIL", isil),
                        str(request.id), at)
        self.outbox.queue(source.tenant, source.position, peer.endpoint, body(header), at)

    def _run(self, tenant: str, key: str, operation: str, given: dict[str, object],
             run: Callable[[Receipt | None], object]) -> None:
        if self._gone(tenant):
            log.warning("%s to %s not delivered: the library is archived", operation, tenant)
            return
        try:
            self.commands.run(tenant, key, Command(operation, given, run,
                                                   lambda _: {"delivered": True}))
        except LendingError as error:
            log.warning("%s to %s refused: %s", operation, tenant, error)

    def _gone(self, tenant: str) -> bool:
        """True for a member archived (its store may be deleted already): it takes no more
        messages, and one to it must not hold back the sender's other requests."""
        try:
            return self.commands.consortium.office.get_tenant(tenant).status == ARCHIVED
        except TenantNotFoundError:
            return True

    def _request(self, source: Source, request_id: UUID, attempt: int, candidate: str,
                 key: str, *, asked: Asked | None = None) -> None:
        """Delivers the request to the candidate: what was asked comes with the first
        event; a rota's later turn reads it from the request."""
        scope = self.commands.consortium.scope(source.tenant)
        supplier = supplier_of(candidate)

        def deliver(receipt: Receipt | None) -> object:
            facts = asked
            if facts is None:
                request = scope.lending.outgoing(request_id)
                facts = Asked(request.title, request.entry_id, request.needed_by, request.note)
            return self.desk_of(supplier).deliver_request(
                source.tenant, request_id, attempt, facts.title, candidate,
                entry_id=facts.entry_id, needed_by=facts.needed_by, note=facts.note,
                receipt=receipt)

        self._run(supplier, key, "deliverRequest",
                  {"request": str(request_id), "attempt": attempt}, deliver)

    def _action(self, source: Source, request_id: UUID, *, supplier: str, attempt: int,
                action: str, sent: Sent, note: str, key: str) -> None:
        if is_peer(supplier):  # a rota's end at an outside library: it is told to cancel
            request = self.commands.consortium.scope(source.tenant).lending.outgoing(
                request_id)
            self._queue(source, request, supplier, sent.sent_at, lambda header:
                        requesting_message(RequesterAction(header, action, note)))
            return

        def deliver(receipt: Receipt | None) -> object:
            return self.desk_of(supplier).deliver_action(
                source.tenant, str(request_id), attempt=attempt, action=action, sent=sent,
                note=note, receipt=receipt)

        self._run(supplier, key, "deliverAction",
                  {"request": str(request_id), "action": action, "message": sent.message_id},
                  deliver)

    def _status(self, source: Source, event: IncomingRequest.StatusChanged,
                sent: Sent) -> None:
        incoming = self.requests.of(source.tenant, event)
        if not incoming.from_member:
            return  # an outside library's: the ISO 18626 outbox carries it
        try:
            request_id = UUID(incoming.requesting_agency_request_id)
        except ValueError:
            return

        def deliver(receipt: Receipt | None) -> object:
            return self.desk_of(incoming.requester).deliver_status(
                request_id, source.tenant, attempt=incoming.attempt, event=event, sent=sent,
                receipt=receipt)

        self._run(incoming.requester, self.key(source), "deliverStatus",
                  {"request": str(request_id), "message": sent.message_id}, deliver)


class PeerMessages(ProcessManager):
    """A request from an outside library changed status → a supplyingAgencyMessage queued in
    the ISO 18626 outbox (its sender posts it, retrying until the peer confirms)."""

    name = "lending_peer_messages"
    events: ClassVar[tuple[type[DomainEvent], ...]] = (IncomingRequest.StatusChanged,)
    skip_poison = True  # one message held back must not hold back every other peer's

    def __init__(self, commands: Commands, outbox: IllOutbox,
                 requests: ReceivedRequests | None = None) -> None:
        self.commands = commands
        self.outbox = outbox
        self.requests = requests or ReceivedRequests(commands)

    def react(self, event: DomainEvent, source: Source) -> None:
        """Queues the message (once per source event) for the request's peer."""
        if source.tenant == OFFICE or not isinstance(event, IncomingRequest.StatusChanged):
            return
        incoming = self.requests.of(source.tenant, event)
        if incoming.from_member:
            return
        scope = self.commands.consortium.scope(source.tenant)
        kind, _, value = incoming.requester.partition(":")
        peer = scope.lending.peer(kind, value)
        if peer is None:
            log.warning("no peer %s registered with %s: message not queued", incoming.requester,
                        source.tenant)
            return
        isil = self.commands.consortium.office.get_tenant(source.tenant).isil or source.tenant
        body = supplying_message(SupplierStatus(
            Header(("ISIL", isil), (peer.agency_id_type, peer.agency_id_value),
                   incoming.requesting_agency_request_id, event.timestamp,
                   str(event.originator_id)),
            reason_for_message=event.reason_for_message, status=event.status,
            answer_yes=event.answer_yes, note=event.note,
            reason_unfilled=event.reason if event.status == UNFILLED else "",
            due_date=event.due_at))
        self.outbox.queue(source.tenant, source.position, peer.endpoint, body, event.timestamp)


class Asked(NamedTuple):
    """What a request asks for, as its supplier is told."""

    title: str
    entry_id: str
    needed_by: datetime | None
    note: str


class Received(NamedTuple):
    """What never changes of a request received: who asked, and under which id."""

    from_member: bool
    requester: str
    requesting_agency_request_id: str
    attempt: int


class ReceivedRequests:
    """The unchanging facts of the requests received, read once per process (each status a
    request reports needs them, for both managers): a bounded cache, least recently used
    out first."""

    def __init__(self, commands: Commands, size: int = 4096) -> None:
        self.commands = commands
        self.size = size
        self.known: OrderedDict[tuple[str, UUID], Received] = OrderedDict()
        self.lock = threading.Lock()

    def of(self, tenant: str, event: IncomingRequest.StatusChanged) -> Received:
        """The facts of the request that reported this status."""
        key = (tenant, event.originator_id)
        with self.lock:
            found = self.known.get(key)
            if found is not None:
                self.known.move_to_end(key)
                return found
        request: IncomingRequest = self.commands.consortium.scope(
            tenant).lending.repository.get(event.originator_id,
                                           version=event.originator_version)
        found = Received(request.from_member, request.requester,
                         request.requesting_agency_request_id, request.attempt)
        with self.lock:
            self.known[key] = found
            while len(self.known) > self.size:
                self.known.popitem(last=False)
        return found


def _addressee(event: OutgoingRequest.Event) -> str | None:
    """The supplier (or rota entry) a requester's event is for: None for an event that
    carries no message to one supplier."""
    if isinstance(event, OutgoingRequest.Requested):
        return event.candidates[0] if event.candidates else None
    if isinstance(event, OutgoingRequest.MovedOn | OutgoingRequest.ActionTaken):
        return event.supplier
    return None
