"""Interlibrary lending as a library does it: its staff's commands on both ends (they also
move copies in circulation: a copy pulled, shipped to the borrowing library, received and
lent to the patron under a temporary item, returned, checked in), the rota built from the
union catalog, and the deliveries that carry messages from one member to another (the
process manager in tenants/processes/lending.py calls them, once per source event)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError

from domain.catalog.errors import ItemNotFoundError
from domain.circulation.application import Copy
from domain.circulation.item_lending import AVAILABLE, INTERLIBRARY, ItemLending
from domain.circulation.patron import Borrower
from domain.lending.errors import (
    LendingError,
    LendingInputInvalidError,
    LendingRequestNotFoundError,
)
from domain.lending.incoming import MEMBER, IncomingRequest
from domain.lending.message import Sent, check_note
from domain.lending.outgoing import PEER_MARK, OutgoingRequest, is_peer
from domain.lending.rota import Candidate, rota
from domain.lending.settings import LendingSettings
from domain.lending.status import (
    CANCEL,
    LOANED,
    RECEIVED,
    RENEW,
    REQUEST_RECEIVED,
    SHIPPED_RETURN,
    UNFILLED,
    WILL_SUPPLY,
    check_move,
)
from domain.shared.application import Receipt, retrying
from domain.shared.clock import utc_now
from tenants.desk import copy_of
from tenants.scope import TenantScope

log = logging.getLogger(__name__)
_LIBRARY = uuid5(NAMESPACE_URL, "commonshelf:lending:library")
_TEMPORARY = uuid5(NAMESPACE_URL, "commonshelf:lending:temporary-item")
LOAD_WINDOW = timedelta(days=30)
P = ParamSpec("P")
R = TypeVar("R")
MAX_LOANS_WITH_ILL = 1000  # a patron's own limit was checked by the requester's staff


def retried(method: Callable[P, R]) -> Callable[P, R]:
    """A command that reads, decides and saves several aggregates: run again on the new state
    when another writer came first (two desks pulling the same copy)."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return retrying(lambda: method(*args, **kwargs))

    return run


def library_borrower(slug: str) -> UUID:
    """The pseudonym a borrowing library's loans are recorded under (not a patron)."""
    return uuid5(_LIBRARY, slug)


class SupplierTold(Protocol):
    """What a supplier's message says (a member's StatusChanged, or an ISO 18626
    supplyingAgencyMessage)."""

    @property
    def status(self) -> str: ...

    @property
    def reason_for_message(self) -> str: ...

    @property
    def due_at(self) -> datetime | None: ...

    @property
    def answer_yes(self) -> bool | None: ...

    @property
    def reason(self) -> str: ...

    @property
    def note(self) -> str: ...


class LendingReads(Protocol):
    """What interlibrary lending reads of the read models."""

    def union_title(self, entry_id: str) -> str | None:
        """The title of a union catalog entry, None when there is no such entry."""

    def union_holdings(self, entry_id: str) -> Sequence[Any]:
        """Per member: copies of the entry held and available now (tenant, items,
        available)."""

    def union_records(self, entry_id: str) -> list[tuple[str, str]]:
        """(member, record id) of the entry's member records."""

    def lendable_items(self, tenant: str, record_id: str) -> list[dict[str, Any]]:
        """A member's copies of a record on the shelf and not lent (id, barcode,
        material_type)."""

    def lending_load(self, members: list[str], requester: str,
                     since: datetime) -> dict[str, tuple[int, int]]:
        """Per member: loans shipped since then, and loans shipped to the requester."""

    def waiting_requests(self, state: str) -> list[tuple[str, UUID, str | None, datetime]]:
        """(tenant, request id, supplier, sent at) of requests in this state."""

    def overdue_requests(self, state: str, now: datetime) -> list[tuple[str, UUID]]:
        """(tenant, request id) of suppliers' requests in this state past their due date."""


@dataclass(frozen=True)
class Rota:
    """How the rota is built: the union catalog's holdings and each member's settings."""

    reads: LendingReads
    scope_of: Callable[[str], TenantScope]

    def build(self, requester: str, entry_id: str, now: datetime,
              member_records: list[tuple[str, str]] | None = None) -> list[str]:
        """The rota of a request: members other than the requester holding an available
        copy of a material type they lend, least loaded first (the entry's member records
        read here unless the caller has them)."""
        holding = {h["tenant"] for h in self.reads.union_holdings(entry_id)
                   if h["tenant"] != requester and h["available"] > 0}
        if not holding:
            return []
        records: dict[str, str] = {}
        if member_records is None:
            member_records = self.reads.union_records(entry_id)
        for member, record_id in member_records:
            if member in holding and member not in records and self.copies_to_lend(
                    member, record_id):
                records[member] = record_id
        load = self.reads.lending_load(sorted(records), requester, now - LOAD_WINDOW)
        return rota(requester, [Candidate(m, r, *load.get(m, (0, 0)))
                                for m, r in records.items()])

    def copies_to_lend(self, member: str, record_id: str) -> list[dict[str, Any]]:
        """The copies of the member's record it lends to the consortium that the read
        models show on the shelf now."""
        settings = self.scope_of(member).lending.settings()
        return [item for item in self.reads.lendable_items(member, record_id)
                if settings.lends(str(item["material_type"]))]


class InterlibraryDesk:
    """One library's interlibrary requests, as its staff work them."""

    def __init__(self, scope: TenantScope, rota_: Rota) -> None:
        self.tenant = scope.slug
        self.scope = scope
        self.lending = scope.lending
        self.circulation = scope.circulation
        self.rota = rota_

    @property
    def now(self) -> datetime:
        """The lending application's clock."""
        return self.lending.clock()

    def side_of(self, request_id: UUID) -> IncomingRequest | OutgoingRequest:
        """The library's own request with this id, whichever end it is."""
        incoming = self.lending.find_incoming(request_id)
        return incoming if incoming is not None else self.lending.outgoing(request_id)

    # The requester

    def request_loan(self, entry_id: str, patron_barcode: str, pickup_location: str, *,
                     needed_by: datetime | None, note: str | None, card_of: Callable[[str], Any],
                     peer: tuple[str, str] | None = None, actor: str | None = None,
                     receipt: Receipt | None = None) -> OutgoingRequest:
        """A patron's request for a union catalog entry, sent down the rota (or to an
        outside library registered with this one, over ISO 18626)."""
        title = self.rota.reads.union_title(entry_id)
        if title is None:
            raise LendingRequestNotFoundError(
                f"unionCatalogEntryId: no union catalog entry {entry_id!r}")
        card = card_of(patron_barcode)
        now = self.now
        self.circulation.get_patron(card.patron_id).check_may_borrow(now.date())
        records = self.rota.reads.union_records(entry_id)
        if peer is not None:
            registered = self.lending.peer(*peer)
            if registered is None:
                raise LendingInputInvalidError(
                    f"peer: {peer[0]}:{peer[1]} is not registered with this library")
            candidates = [PEER_MARK + registered.key]
        else:
            candidates = self.rota.build(self.tenant, entry_id, now, records)
        request = OutgoingRequest.request(
            entry_id, title, card.pseudonym, pickup_location=pickup_location,
            candidates=candidates, at=now,
            needed_by=needed_by, note=check_note(note), actor=actor,
            entry_record=f"{records[0][0]}:{records[0][1]}" if records else None)
        return self.lending.request_loan(request, receipt)

    @retried
    def receive(self, request_id: UUID, *, lend_to_patron: bool = True,
                actor: str | None = None, receipt: Receipt | None = None) -> OutgoingRequest:
        """The copy arrived: Received; and lent to the patron under a temporary item with
        the supplier's due date (unless told not to)."""
        request = self.lending.outgoing(request_id)
        now = self.now
        request.act(RECEIVED, now, actor=actor)
        pending: list[Any] = [request]
        if lend_to_patron and request.borrower is not None:
            pending += self._lend_on(request, now)
        return self.lending.save_together(receipt, request, *pending)

    @retried
    def lend_on(self, request_id: UUID, *, receipt: Receipt | None = None) -> OutgoingRequest:
        """A copy received and kept at the desk goes to the patron now, under a temporary
        item with the supplier's due date."""
        request = self.lending.outgoing(request_id)
        if request.borrower is None:
            raise LendingInputInvalidError(f"request {request_id} is for no patron")
        return self.lending.save_together(receipt, request, request,
                                          *self._lend_on(request, self.now))

    def _lend_on(self, request: OutgoingRequest, now: datetime) -> list[Any]:
        item_id = uuid5(_TEMPORARY, str(request.id))
        barcode = f"ILL-{request.id.hex[:12]}"
        copy = Copy(item_id, barcode, uuid5(_TEMPORARY, request.entry_id), INTERLIBRARY,
                    "available")
        item = ItemLending(item_id=item_id, item_barcode=barcode, record_id=copy.record_id)
        item.record_copy(copy, now)
        borrower_pseudonym = request.borrower
        if borrower_pseudonym is None:
            return []
        due_at = request.due_at or now + timedelta(days=LendingSettings.defaults().loan_days)
        loan_id = item.lend_until(borrower_pseudonym, INTERLIBRARY, due_at, now)
        borrower = self._borrower(borrower_pseudonym) or Borrower(pseudonym=borrower_pseudonym)
        borrower.open(loan_id, MAX_LOANS_WITH_ILL)
        request.lend_on(item_id, barcode, now)
        return [item, borrower]

    @retried
    def return_copy(self, request_id: UUID, *, actor: str | None = None,
                    receipt: Receipt | None = None) -> OutgoingRequest:
        """The copy goes back to the supplier: the patron's loan of the temporary item is
        closed (if it is still open), and ShippedReturn sent."""
        request = self.lending.outgoing(request_id)
        now = self.now
        request.act(SHIPPED_RETURN, now, actor=actor)
        pending: list[Any] = [request]
        if request.item_id is not None:
            item = self.circulation.lending_of(request.item_id)
            if item.status != AVAILABLE:
                loan_id, pseudonym = item.check_in(now)
                pending.append(item)
                borrower = self._borrower(pseudonym)
                if borrower is not None:
                    borrower.close(loan_id)
                    pending.append(borrower)
        return self.lending.save_together(receipt, request, *pending)

    def _borrower(self, pseudonym: UUID) -> Borrower | None:
        try:
            found: Borrower = self.circulation.repository.get(Borrower.create_id(pseudonym))
        except AggregateNotFoundError:
            return None
        return found

    # The supplier

    @retried
    def respond(self, request_id: UUID, answer: str, *, reason: str | None = None,
                note: str | None = None, item_barcode: str | None = None,
                actor: str | None = None, receipt: Receipt | None = None) -> IncomingRequest:
        """Answers a request received; WillSupply pulls the copy to ship (the one named,
        or one on the shelf that the library lends)."""
        request = self.lending.incoming(request_id)
        now = self.now
        pending: list[Any] = [request]
        said, noted = check_note(reason, "reason"), check_note(note)  # whatever the answer
        check_move(request.status, answer, str(request.id))  # before looking for a copy
        if answer == WILL_SUPPLY:
            copy, item = self._copy_for(request, item_barcode)
            item.record_copy(copy, now)
            request.respond(answer, now, reason=said, note=noted,
                            item=(copy.item_id, copy.barcode), actor=actor)
            item.pull(request.id, now)
            pending.append(item)
        else:
            request.respond(answer, now, reason=said, note=noted, actor=actor)
            pending += self._released(request, now)
        return self.lending.save_together(receipt, request, *pending)

    def _copy_for(self, request: IncomingRequest,
                  barcode: str | None) -> tuple[Copy, ItemLending]:
        """The copy to supply (the one named, or one on the shelf) and its lending state."""
        if barcode is not None:
            try:
                item = self.scope.catalog.item_by_barcode(barcode.strip())
            except ItemNotFoundError:
                raise LendingInputInvalidError(
                    f"itemBarcode: no item {barcode!r} in this library") from None
            if request.record_id is not None and item.record_id != request.record_id:
                raise LendingInputInvalidError(
                    f"itemBarcode: item {barcode!r} is not a copy of the record requested")
            copy = copy_of(item)
            return copy, self.circulation.lending_of(copy)
        if request.record_id is None:
            raise LendingInputInvalidError(
                "itemBarcode: the request names no record of this library: give the copy")
        # The read models may lag a moment behind a copy pulled for another request: the
        # copy's own lending state decides.
        for found in self.rota.copies_to_lend(self.tenant, str(request.record_id)):
            copy = copy_of(self.scope.catalog.item_by_barcode(str(found["barcode"])))
            lending = self.circulation.lending_of(copy)
            if lending.status == AVAILABLE:
                return copy, lending
        raise LendingInputInvalidError(
            "itemBarcode: no copy of the record is on the shelf to supply")

    def _released(self, request: IncomingRequest, now: datetime) -> list[Any]:
        """A copy pulled for a request that will not be shipped goes back on the shelf."""
        if request.item_id is None:
            return []
        item = self.circulation.lending_of(request.item_id)
        return [item] if item.release(request.id, now) else []

    @retried
    def ship(self, request_id: UUID, *, due_at: datetime | None = None,
             actor: str | None = None, receipt: Receipt | None = None) -> IncomingRequest:
        """The pulled copy leaves: checked out to the borrowing library until the due date
        (the library's consortium loan period unless given)."""
        found, settings = self.lending.received_with_settings(request_id)
        request = found or self.lending.incoming(request_id)  # not found: its error
        now = self.now
        due = due_at or now + timedelta(days=settings.loan_days)
        if due <= now:
            raise LendingInputInvalidError("dueAt: must be in the future")
        request.ship(due, now, actor)
        item_id = request.item_id
        if item_id is None:  # ship() refused it already
            raise LendingInputInvalidError("nothing to ship")
        item = self.circulation.lending_of(item_id)
        item.lend_to_library(request.id, library_borrower(request.requester), due, now)
        return self.lending.save_together(receipt, request, request, item)

    @retried
    def complete(self, request_id: UUID, *, actor: str | None = None,
                 receipt: Receipt | None = None) -> IncomingRequest:
        """The copy is back: checked in here, LoanCompleted; on the hold shelf for the first
        patron of this library waiting for its title, as any check-in puts it."""
        request = self.lending.incoming(request_id)
        now = self.now
        request.complete(now, actor)
        pending: list[Any] = [request]
        if request.item_id is not None:
            item = self.circulation.lending_of(request.item_id)
            if item.status != AVAILABLE:
                item.check_in(now)
                pending += [item, *self.circulation.shelved_for_next(item, now)]
        return self.lending.save_together(receipt, request, *pending)

    @retried
    def renew(self, request_id: UUID, *, approve: bool = True, due_at: datetime | None = None,
              note: str | None = None, actor: str | None = None,
              receipt: Receipt | None = None) -> IncomingRequest | OutgoingRequest:
        """The requester asks for a renewal; the supplier answers one (approved: a new due
        date, its loan period from now unless given)."""
        side = self.side_of(request_id)
        if isinstance(side, OutgoingRequest):
            return self.lending.act(request_id, RENEW, check_note(note), actor, receipt)
        now = self.now
        due = (due_at or now + timedelta(days=self.lending.settings().loan_days)
               ) if approve else None
        side.answer_renewal(approve, due, now, check_note(note), actor)
        pending: list[Any] = [side]
        if approve and due is not None and side.item_id is not None:
            item = self.circulation.lending_of(side.item_id)
            if item.extend(due, now):
                pending.append(item)
        return self.lending.save_together(receipt, side, *pending)

    @retried
    def cancel(self, request_id: UUID, *, note: str | None = None, actor: str | None = None,
               receipt: Receipt | None = None) -> IncomingRequest | OutgoingRequest:
        """The requester asks to cancel; the supplier cancels a request not shipped yet
        (its pulled copy back on the shelf)."""
        side = self.side_of(request_id)
        if isinstance(side, OutgoingRequest):
            return self.lending.act(request_id, CANCEL, check_note(note), actor, receipt)
        now = self.now
        side.cancel(now, check_note(note), actor)
        return self.lending.save_together(receipt, side, side, *self._released(side, now))

    # Messages from another member (the process manager's deliveries)

    def deliver_request(self, requester: str, request_id: UUID, attempt: int, title: str,
                        candidate: str, *, entry_id: str, needed_by: datetime | None,
                        note: str, receipt: Receipt | None = None) -> IncomingRequest:
        """A member's request arrives, for the record the rota chose."""
        record = candidate.partition(":")[2]
        try:
            record_id: UUID | None = UUID(record)
        except ValueError:
            record_id = None
        return self.receive_request(MEMBER, requester, str(request_id), attempt=attempt,
                                    title=title, record_id=record_id, entry_id=entry_id,
                                    needed_by=needed_by, note=note, receipt=receipt)

    @retried
    def receive_request(self, requester_kind: str, requester: str, request_id: str, *,
                        attempt: int, title: str, record_id: UUID | None,
                        entry_id: str | None, needed_by: datetime | None, note: str,
                        author: str = "", receipt: Receipt | None = None) -> IncomingRequest:
        """A request arrives (from a member or an outside library); answered at once when
        the library answers automatically (WillSupply with a copy on the shelf, Unfilled
        without). The same request delivered again is the one received first."""
        now = self.now
        request = IncomingRequest.receive(requester_kind, requester, request_id,
                                          attempt=attempt, title=title, at=now,
                                          author=author, record_id=record_id,
                                          entry_id=entry_id, needed_by=needed_by, note=note)
        received, settings = self.lending.received_with_settings(request.id)
        if received is not None:
            return received
        pending: list[Any] = [request]
        if settings.auto_answer:
            pending += self._auto_answer(request, now)
        return self.lending.save_together(receipt, request, *pending)

    def _auto_answer(self, request: IncomingRequest, now: datetime) -> list[Any]:
        try:
            copy, item = self._copy_for(request, None)
        except LendingError:
            request.respond(UNFILLED, now, reason="not available", actor="auto")
            return []
        item.record_copy(copy, now)
        item.pull(request.id, now)
        request.respond(WILL_SUPPLY, now, item=(copy.item_id, copy.barcode), actor="auto")
        return [item]

    @retried
    def deliver_action(self, requester: str, request_id: str, *, attempt: int, action: str,
                       sent: Sent, note: str = "",
                       receipt: Receipt | None = None) -> IncomingRequest | None:
        """A requester's action arrives (a Cancel puts the pulled copy back)."""
        incoming_id = IncomingRequest.create_id(requester, request_id, attempt)
        request = self.lending.find_incoming(incoming_id)
        if request is None:
            return None
        now = self.now
        if not request.apply_action(action, sent, now, note):
            return request
        pending: list[Any] = [request]
        if action == CANCEL:
            pending += self._released(request, now)
        return self.lending.save_together(receipt, request, *pending)

    @retried
    def deliver_status(self, request_id: UUID, supplier: str, *, attempt: int,
                       event: SupplierTold, sent: Sent,
                       receipt: Receipt | None = None) -> OutgoingRequest:
        """A supplier's status arrives; a renewal approved moves the patron's due date."""
        request = self.lending.outgoing(request_id)
        now = self.now
        if not request.apply_status(supplier, attempt, event.status, sent, at=now,
                                    reason_for_message=event.reason_for_message,
                                    due_at=event.due_at, answer_yes=event.answer_yes,
                                    reason=event.reason, note=event.note):
            return request
        pending: list[Any] = [request]
        if request.item_id is not None and event.due_at is not None:
            item = self.circulation.lending_of(request.item_id)
            if item.status != AVAILABLE and item.extend(event.due_at, now):
                pending.append(item)
        return self.lending.save_together(receipt, request, *pending)


def sweep_unanswered(scope_of: Callable[[str], TenantScope], reads: LendingReads,
                     at: datetime) -> int:
    """Moves on every rota whose member did not answer within its own time (default two
    days); how many moved."""
    moved = 0
    for tenant, request_id, supplier, sent_at in reads.waiting_requests(REQUEST_RECEIVED):
        if supplier is None:
            continue
        try:
            settings = (LendingSettings.defaults() if is_peer(supplier)
                        else scope_of(supplier).lending.settings())
        except Exception:  # noqa: BLE001 (a member deleted, a server down: its default)
            log.warning("the lending settings of %s could not be read; request %s of %s "
                        "waits the default time", supplier, request_id, tenant)
            settings = LendingSettings.defaults()
        if at < sent_at + settings.answer_timeout:
            continue
        try:
            moved += scope_of(tenant).lending.time_out(request_id, settings.answer_timeout, at)
        except LendingError:
            log.warning("request %s of %s could not move on", request_id, tenant)
    return moved


def mark_overdue(scope_of: Callable[[str], TenantScope], reads: LendingReads,
                 at: datetime) -> int:
    """Marks Overdue every copy lent to another library past its due date (the requester
    learns it as a message); how many."""
    marked = 0
    for tenant, request_id in reads.overdue_requests(LOANED, at):
        try:
            marked += scope_of(tenant).lending.mark_overdue(request_id, at)
        except LendingError:
            log.warning("request %s of %s could not be marked overdue", request_id, tenant)
    return marked


async def sweep_rotas(scope_of: Callable[[str], TenantScope], reads: LendingReads,
                      exclusive: Callable[[], contextlib.AbstractContextManager[bool]],
                      stop: asyncio.Event, *, every_s: float = 60,
                      clock: Callable[[], datetime] = utc_now) -> None:
    """Every minute, one process at a time moves on the rotas nobody answered in time and
    marks overdue the copies lent past their due date."""

    def sweep() -> int:
        with exclusive() as mine:
            if not mine:
                return 0
            now = clock()
            return sweep_unanswered(scope_of, reads, now) + mark_overdue(scope_of, reads, now)

    while not stop.is_set():
        try:
            await asyncio.to_thread(sweep)
        except Exception:
            log.exception("moving unanswered lending rotas on failed; retrying in %s s",
                          every_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


class Outbox(Protocol):
    """What sends the ISO 18626 outbox (infra.ill_outbox)."""

    def send_due(self, now: datetime, limit: int = 50) -> int:
        """Sends the messages due; how many went."""


async def sweep_outbox(outbox: Outbox, stop: asyncio.Event, *, every_s: float = 1) -> None:
    """Sends what is due in the ISO 18626 outbox, every second (each message to one sender
    at a time, whatever the number of processes)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(outbox.send_due, utc_now())
        except Exception:
            log.exception("sending the ISO 18626 outbox failed; retrying in %s s", every_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
