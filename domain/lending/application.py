"""Interlibrary lending's use cases on one library's event store: its requests as requester
(outgoing) and as supplier (incoming), and its lending settings. Commands that also move a
copy in circulation are composed in the application layer (tenants/lending.py), which saves
both contexts' aggregates together with `save_together`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.lending.errors import LendingRequestNotFoundError
from domain.lending.incoming import IncomingRequest
from domain.lending.message import Sent
from domain.lending.outgoing import OutgoingRequest
from domain.lending.peer import Peer
from domain.lending.settings import LendingSettings
from domain.shared.application import ContextApplication, Receipt
from domain.shared.loading import load_many

T = TypeVar("T")


class Interlending(ContextApplication):
    """One library's interlibrary requests, both ends, and its lending settings."""

    def save_together(self, receipt: Receipt | None, result: T, *aggregates: Aggregate) -> T:
        """Saves aggregates of this and other contexts of the library in one transaction."""
        return self._saved(receipt, result, *aggregates)

    # Reading

    def outgoing(self, request_id: UUID) -> OutgoingRequest:
        """A request this library sent."""
        found = self._found(OutgoingRequest, request_id)
        if found is None:
            raise LendingRequestNotFoundError(f"no request {request_id} sent by this library")
        return found

    def incoming(self, request_id: UUID) -> IncomingRequest:
        """A request this library received."""
        found = self._found(IncomingRequest, request_id)
        if found is None:
            raise LendingRequestNotFoundError(
                f"no request {request_id} received by this library")
        return found

    def find_incoming(self, request_id: UUID) -> IncomingRequest | None:
        """A request this library received, or None."""
        return self._found(IncomingRequest, request_id)

    def received_with_settings(self, request_id: UUID
                               ) -> tuple[IncomingRequest | None, LendingSettings]:
        """A request this library received (or None) and its lending settings, in one read
        of the store."""
        found = load_many(self, [request_id, LendingSettings.create_id()])
        request, settings = found.get(request_id), found.get(LendingSettings.create_id())
        return (request if isinstance(request, IncomingRequest) else None,
                settings if isinstance(settings, LendingSettings)
                else LendingSettings.defaults())

    def settings(self) -> LendingSettings:
        """The library's lending settings (the defaults until set)."""
        return self._found(LendingSettings, LendingSettings.create_id()) or (
            LendingSettings.defaults())

    # The requester

    def request_loan(self, request: OutgoingRequest,
                     receipt: Receipt | None = None) -> OutgoingRequest:
        """Records a new request (made by OutgoingRequest.request)."""
        return self._saved(receipt, request, request)

    def apply_status(self, request_id: UUID, supplier: str, attempt: int, status: str,
                     sent: Sent, *, reason_for_message: str, due_at: datetime | None,
                     answer_yes: bool | None, reason: str, note: str,
                     receipt: Receipt | None = None) -> OutgoingRequest:
        """A supplier's status reaches the request (once per message)."""

        def run() -> OutgoingRequest:
            request = self.outgoing(request_id)
            request.apply_status(supplier, attempt, status, sent, at=self.clock(),
                                 reason_for_message=reason_for_message, due_at=due_at,
                                 answer_yes=answer_yes, reason=reason, note=note)
            return self._saved(receipt, request, request)

        return self._retrying(run)

    def act(self, request_id: UUID, action: str, note: str = "", actor: str | None = None,
            receipt: Receipt | None = None) -> OutgoingRequest:
        """One of the requester's actions that moves no copy (Cancel, Renew, StatusRequest,
        Notification)."""

        def run() -> OutgoingRequest:
            request = self.outgoing(request_id)
            request.act(action, self.clock(), note, actor)
            return self._saved(receipt, request, request)

        return self._retrying(run)

    def time_out(self, request_id: UUID, timeout: timedelta, at: datetime | None = None,
                 receipt: Receipt | None = None) -> bool:
        """Moves the rota on when its current member did not answer in time (by `at`; now
        unless given)."""

        def run() -> bool:
            request = self.outgoing(request_id)
            moved = request.time_out(timeout, at or self.clock())
            return self._saved(receipt, moved, request) if moved else moved

        return self._retrying(run)

    # The supplier

    def receive_request(self, request: IncomingRequest,
                        receipt: Receipt | None = None) -> IncomingRequest:
        """Records a request received; the same request delivered again is the one recorded
        first."""
        existing = self._found(IncomingRequest, request.id)
        if existing is not None:
            return existing
        try:
            return self._saved(receipt, request, request)
        except IntegrityError:
            return self.incoming(request.id)

    def apply_action(self, request_id: UUID, action: str, sent: Sent, note: str = "",
                     receipt: Receipt | None = None) -> IncomingRequest:
        """A requester's action reaches the request (once per message)."""

        def run() -> IncomingRequest:
            request = self.incoming(request_id)
            if request.apply_action(action, sent, self.clock(), note):
                self._saved(receipt, request, request)
            return request

        return self._retrying(run)

    def answer_renewal(self, request_id: UUID, approve: bool, due_at: datetime | None, *,
                       note: str = "", actor: str | None = None,
                       receipt: Receipt | None = None) -> IncomingRequest:
        """The supplier's answer to a renewal."""

        def run() -> IncomingRequest:
            request = self.incoming(request_id)
            request.answer_renewal(approve, due_at, self.clock(), note, actor)
            return self._saved(receipt, request, request)

        return self._retrying(run)

    def recall(self, request_id: UUID, note: str = "", actor: str | None = None,
               receipt: Receipt | None = None) -> IncomingRequest:
        """The supplier wants its copy back."""

        def run() -> IncomingRequest:
            request = self.incoming(request_id)
            request.recall(self.clock(), note, actor)
            return self._saved(receipt, request, request)

        return self._retrying(run)

    def mark_overdue(self, request_id: UUID, at: datetime | None = None) -> bool:
        """Loaned past its due date (by `at`; now unless given): Overdue (False when not)."""

        def run() -> bool:
            request = self.incoming(request_id)
            changed = request.mark_overdue(at or self.clock())
            if changed:
                self.save(request)
            return changed

        return self._retrying(run)

    # Peers

    def register_peer(self, agency_id_type: str, agency_id_value: str, endpoint: str, *,
                      strict: bool, receipt: Receipt | None = None) -> Peer:
        """Registers an outside library (or changes its endpoint and strictness)."""

        def run() -> Peer:
            peer = self._found(Peer, Peer.create_id(agency_id_type, agency_id_value))
            if peer is None:
                peer = Peer.register(agency_id_type, agency_id_value, endpoint, strict=strict,
                                     at=self.clock())
            elif not peer.change(endpoint, strict=strict, at=self.clock()):
                return peer
            return self._saved(receipt, peer, peer)

        return self._retrying(run)

    def peer(self, agency_id_type: str, agency_id_value: str) -> Peer | None:
        """A registered outside library, or None."""
        return self._found(Peer, Peer.create_id(agency_id_type, agency_id_value))

    # Settings

    def set_settings(self, material_types: list[str], loan_days: int, *, auto_answer: bool,
                     answer_timeout_hours: int,
                     receipt: Receipt | None = None) -> LendingSettings:
        """Sets the library's lending settings."""

        def run() -> LendingSettings:
            settings = self.settings()
            settings.change(material_types, loan_days, auto_answer, answer_timeout_hours,
                            self.clock())
            return self._saved(receipt, settings, settings)

        return self._retrying(run)
