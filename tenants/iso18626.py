"""ISO 18626 with libraries outside the consortium: a message read (infra.iso18626), the
agencies mapped (our member by its ISIL, the other library by its registration with that
member), the message applied through the command pipeline, and the matching confirmation
written: OK, or ERROR with its errorType. Nothing here raises to the caller: a message that
cannot be understood or applied is answered ERROR, never dropped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.catalog.errors import RecordNotFoundError
from domain.lending.errors import LendingError, LendingRequestNotFoundError
from domain.lending.incoming import PEER, IncomingRequest
from domain.lending.message import Sent, check_note
from domain.lending.outgoing import PEER_MARK
from domain.lending.peer import Peer
from domain.lending.status import ACTIONS, STATUSES
from domain.shared.application import Receipt
from domain.shared.text import text_problem
from infra.iso18626 import (
    BADLY_FORMED,
    UNRECOGNISED_VALUE,
    UNSUPPORTED_ACTION,
    UNSUPPORTED_REASON,
    Confirmation,
    Message,
    MessageError,
    check_strict,
    confirm,
    kind_of,
    parse,
)
from tenants.commands import MAX_KEY_LENGTH, Command
from tenants.lending import InterlibraryDesk

log = logging.getLogger(__name__)
SERVICE_TYPES = ("Loan", "Copy", "CopyOrLoan")
REASONS = ("RequestResponse", "StatusRequestResponse", "RenewResponse", "CancelResponse",
           "StatusChange", "Notification")
MAX_REQUEST_ID = 200  # requestingAgencyRequestId: ours are UUIDs; peers' are short too
RunCommand = Callable[[str, str, Command[Any]], object]  # tenant, key, command


class Iso18626Exchange:
    """Answers ISO 18626 messages sent to the consortium's members."""

    def __init__(self, tenant_of_isil: Callable[[str], str | None],
                 members: Callable[[], list[str]],
                 desk_of: Callable[[str], InterlibraryDesk], run: RunCommand,
                 clock: Callable[[], datetime]) -> None:
        self.tenant_of_isil = tenant_of_isil
        self.members = members
        self.desk_of = desk_of
        self.run = run
        self.clock = clock

    def answer(self, body: bytes) -> bytes:
        """The confirmation of a message, whatever it holds."""
        received = self.clock()
        try:
            message = parse(body)
        except MessageError as error:
            return confirm(None, Confirmation(kind_of(body), False, error.error_type,
                                              error.value), received)
        try:
            self._apply(message)
        except MessageError as error:
            return confirm(message, Confirmation(message.kind, False, error.error_type,
                                                 error.value), received)
        except LendingRequestNotFoundError as error:
            return confirm(message, Confirmation(message.kind, False, UNRECOGNISED_VALUE,
                                                 str(error)), received)
        except (LendingError, ValueError) as error:
            refused = UNSUPPORTED_ACTION if message.kind == "requestingAgencyMessage" else (
                UNRECOGNISED_VALUE)
            return confirm(message, Confirmation(message.kind, False, refused, str(error)),
                           received)
        except Exception:
            log.exception("an ISO 18626 %s could not be applied", message.kind)
            return confirm(message, Confirmation(
                message.kind, False, BADLY_FORMED,
                "the message could not be applied now: send it again later"), received)
        return confirm(message, Confirmation(message.kind, True), received)

    def _parties(self, message: Message, ours: str, theirs: str
                 ) -> tuple[str, InterlibraryDesk, Peer]:
        """Our member (by ISIL; when the message names none, the one member the peer is
        registered with), its desk, and the registered peer on the other end."""
        their_type, their_value = message.agency(theirs)
        named = "the member"  # what the answer calls ours: what the caller named, no slug
        if not message.get(f"header/{ours}/agencyIdValue"):
            tenant = self._only_member_of(theirs, their_type, their_value)
        else:
            our_type, our_value = message.agency(ours)
            found = self.tenant_of_isil(our_value) if our_type.upper() == "ISIL" else None
            if found is None:
                raise MessageError(UNRECOGNISED_VALUE, f"{ours}: {our_type}:{our_value} is "
                                                       "no library of this consortium")
            tenant, named = found, f"{our_type}:{our_value}"
        desk = self.desk_of(tenant)
        peer = desk.lending.peer(their_type, their_value)
        if peer is None:
            raise MessageError(UNRECOGNISED_VALUE, f"{theirs}: {their_type}:{their_value} "
                                                   f"is not a registered peer of {named}")
        if peer.strict:
            check_strict(message)
        return tenant, desk, peer

    def _only_member_of(self, theirs: str, their_type: str, their_value: str) -> str:
        """The member a peer is registered with, for a message that names no member."""
        members = [m for m in self.members()
                   if self.desk_of(m).lending.peer(their_type, their_value) is not None]
        if not members:
            raise MessageError(UNRECOGNISED_VALUE, f"{theirs}: {their_type}:{their_value} is "
                                                   "not a registered peer of any member")
        if len(members) > 1:
            raise MessageError(BADLY_FORMED, f"the message names no member, and "
                                             f"{their_type}:{their_value} is a peer of several")
        return members[0]

    def _apply(self, message: Message) -> None:
        if message.kind == "request":
            self._request(message)
        elif message.kind == "requestingAgencyMessage":
            self._action(message)
        else:
            self._supplying(message)

    def _request(self, message: Message) -> None:
        tenant, desk, peer = self._parties(message, "supplyingAgencyId", "requestingAgencyId")
        request_id = _request_id(message)
        message.timestamp("header/timestamp", required=True)
        service = message.get("serviceInfo/serviceType")
        if service and service not in SERVICE_TYPES:
            raise MessageError(UNRECOGNISED_VALUE, f"serviceInfo/serviceType: {service!r} is "
                                                   f"not one of {', '.join(SERVICE_TYPES)}")
        needed_by = message.timestamp("serviceInfo/needBeforeDate")
        record_id = _our_record(desk, message.get("bibliographicInfo/supplierUniqueRecordId"))
        title = (_text(message, "bibliographicInfo/title")
                 or _described(message) or "(no title given)")[:500]
        author = _text(message, "bibliographicInfo/author")[:500]
        note = check_note(message.get("serviceInfo/note")[:2000])

        def run(receipt: Receipt | None) -> object:
            return desk.receive_request(
                PEER, peer.key, request_id, attempt=0, title=title, record_id=record_id,
                entry_id=None, needed_by=needed_by, note=note,
                author=author, receipt=receipt)

        self.run(tenant, _key(f"iso:{peer.key}:{request_id}:request"), Command(
            "iso18626Request", {"peer": peer.key, "request": request_id}, run,
            lambda r: {"id": str(r.id)}))

    def _action(self, message: Message) -> None:
        tenant, desk, peer = self._parties(message, "supplyingAgencyId", "requestingAgencyId")
        request_id = _request_id(message)
        sent_at = message.timestamp("header/timestamp", required=True)
        action = message.required("action")
        if action not in ACTIONS:
            raise MessageError(UNSUPPORTED_ACTION, f"action: {action!r} is not supported "
                                                   f"({', '.join(ACTIONS)})")
        incoming_id = IncomingRequest.create_id(peer.key, request_id, 0)
        if desk.lending.find_incoming(incoming_id) is None:
            raise MessageError(UNRECOGNISED_VALUE, f"requestingAgencyRequestId: no request "
                                                   f"{request_id!r} from {peer.key}")
        sent = Sent(f"iso:{peer.key}:{request_id}:{action}:{sent_at}", sent_at or self.clock())
        note = check_note(message.get("note")[:2000])

        def run(receipt: Receipt | None) -> object:
            return desk.deliver_action(peer.key, request_id, attempt=0, action=action,
                                       sent=sent, note=note, receipt=receipt)

        self.run(tenant, _key(sent.message_id), Command(
            "iso18626Action", {"peer": peer.key, "request": request_id, "action": action,
                               "sent": str(sent_at)}, run, lambda _: {}))

    def _supplying(self, message: Message) -> None:
        reason = message.required("messageInfo/reasonForMessage")
        if reason not in REASONS:
            raise MessageError(UNSUPPORTED_REASON, f"messageInfo/reasonForMessage: {reason!r} "
                                                   f"is not one of {', '.join(REASONS)}")
        status = message.get("statusInfo/status")
        if status and status not in STATUSES:
            raise MessageError(UNRECOGNISED_VALUE,
                               f"statusInfo/status: {status!r} is not an ISO 18626 status")
        tenant, desk, peer = self._parties(message, "requestingAgencyId", "supplyingAgencyId")
        given = _request_id(message)
        sent_at = message.timestamp("header/timestamp", required=True) or self.clock()
        supplier = PEER_MARK + peer.key
        try:
            request = desk.lending.outgoing(UUID(given))
        except (ValueError, LendingRequestNotFoundError):
            request = None
        if request is None or request.supplier != supplier:
            raise MessageError(UNRECOGNISED_VALUE, f"requestingAgencyRequestId: no request "
                                                   f"{given!r} was sent to {peer.key}")
        if not status:
            return  # a note without a status: confirmed, nothing to apply
        answer = message.get("messageInfo/answerYesNo")
        told = Told(status=status, reason_for_message=reason,
                    due_at=message.timestamp("statusInfo/dueDate"),
                    answer_yes={"Y": True, "N": False}.get(answer),
                    reason=message.get("messageInfo/reasonUnfilled")[:500],
                    note=check_note(message.get("messageInfo/note")[:2000]))
        sent = Sent(f"iso:{peer.key}:{given}:{sent_at.isoformat()}:{reason}:{status}", sent_at)
        attempt = request.attempt

        def run(receipt: Receipt | None) -> object:
            return desk.deliver_status(request.id, supplier, attempt=attempt, event=told,
                                       sent=sent, receipt=receipt)

        self.run(tenant, _key(sent.message_id), Command(
            "iso18626Status", {"peer": peer.key, "request": given, "status": status,
                               "reason": reason, "sent": str(sent_at)}, run, lambda _: {}))


@dataclass(frozen=True)
class Told:
    """What an outside supplier's message says."""

    status: str
    reason_for_message: str
    due_at: datetime | None
    answer_yes: bool | None
    reason: str
    note: str


def _request_id(message: Message) -> str:
    """The message's requestingAgencyRequestId: 1-200 printable characters (a longer one, or
    one with control characters, is refused naming it, not taken for a failure to retry)."""
    given = message.required("header/requestingAgencyRequestId")
    if len(given) > MAX_REQUEST_ID or not given.isprintable():
        raise MessageError(UNRECOGNISED_VALUE, f"header/requestingAgencyRequestId: give 1-"
                                               f"{MAX_REQUEST_ID} printable characters")
    return given


def _text(message: Message, path: str) -> str:
    """An element's text that the service can keep (UnrecognisedDataValue naming it)."""
    value = message.get(path)
    problem = text_problem(value)
    if problem:
        raise MessageError(UNRECOGNISED_VALUE, f"{path}: {problem}")
    return value


def _key(message_id: str) -> str:
    """The idempotency key of a message: its id, or (a long one: a peer's long agency id and
    request id) a digest of it, so a message is applied once whatever its ids' lengths."""
    if len(message_id) <= MAX_KEY_LENGTH and message_id.isprintable():
        return message_id
    return "iso:sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def _our_record(desk: InterlibraryDesk, given: str) -> UUID | None:
    """The library's record a request names by supplierUniqueRecordId, if it is one."""
    try:
        record_id = UUID(given)
    except ValueError:
        return None
    try:
        desk.scope.catalog.get_record(record_id)
    except RecordNotFoundError:
        return None
    return record_id


def _described(message: Message) -> str:
    """A title for a request that gives none: its identifiers."""
    for path in ("bibliographicInfo/bibliographicItemId/bibliographicItemIdentifier",
                 "bibliographicInfo/supplierUniqueRecordId"):
        value = _text(message, path)
        if value:
            return f"({path.rpartition('/')[2]} {value})"
    return ""
