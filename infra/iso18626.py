"""ISO 18626 messages as XML: a lax, safe reader and the confirmations' writer.

Real peers are lax, so the reader is too: both schema versions (v1_2 and 2021-2 share one
namespace), a message with or without the ISO18626Message wrapper or the namespace, any
element order, `+0000` offsets, a missing multipleItemRequestId. It never resolves entities
(defusedxml: no XXE, no billion laughs) and reads only what it is given. A strict peer's
messages must also carry the namespace and only elements the schemas define, and its v1.x
messages (or those of no declared version) be valid against the v1_2 XSD (xmlschema, on the
tree defusedxml read).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

NS = "http://illtransactions.org/2013/iso18626"
MESSAGES = ("request", "supplyingAgencyMessage", "requestingAgencyMessage")
CONFIRMATIONS = {"request": "requestConfirmation",
                 "supplyingAgencyMessage": "supplyingAgencyMessageConfirmation",
                 "requestingAgencyMessage": "requestingAgencyMessageConfirmation"}
BADLY_FORMED = "BadlyFormedMessage"
UNRECOGNISED_ELEMENT = "UnrecognisedDataElement"
UNRECOGNISED_VALUE = "UnrecognisedDataValue"
UNSUPPORTED_ACTION = "UnsupportedActionType"
UNSUPPORTED_REASON = "UnsupportedReasonForMessageType"
# Every element either schema version defines (read from the two XSDs).
ELEMENTS = frozenset("""ISO18626Message URL accountId action address agencyIdType agencyIdValue
answerYesNo anyEdition author authorId authorOfComponent availabilityNote bibliographicInfo
bibliographicItemId bibliographicItemIdentifier bibliographicItemIdentifierCode
bibliographicRecordId bibliographicRecordIdentifier bibliographicRecordIdentifierCode
billingInfo billingMethod billingName callNumber confirmationHeader consortialId contactName
copyrightCompliance country courierName currencyCode dateSent deliveredFormat deliveryCosts
deliveryInfo deliveryMethod dueDate edition electronicAddress electronicAddressData
electronicAddressType endDate errorData errorType errorValue estimatedNoPages
expectedDeliveryDate givenName header informationSource insurance insuranceCosts
insuranceThirdParty issue itemFormat itemId lastChange line1 line2 loanCondition locality
maximumCosts messageInfo messageStatus monetaryValue multipleItemRequestId name
needBeforeDate note offeredCosts pagesRequested patronId patronInfo patronType paymentMethod
physicalAddress placeOfPublication postalCode preferredEdition preferredFormat
publicationDate publicationInfo publicationType publisher publisherId reasonForMessage
reasonRetry reasonUnfilled region request requestConfirmation requestSubType requestType
requestedDeliveryInfo requestingAgencyAuthentication requestingAgencyId requestingAgencyInfo
requestingAgencyMessage requestingAgencyMessageConfirmation
requestingAgencyPreviousRequestId requestingAgencyRequestId retryAfter retryBefore retryInfo
returnAgencyId returnInfo securityCode sendToPatron sentToPatron sentVia seriesTitle
serviceInfo serviceLevel serviceType shippingInfo sortOrder sponsor startDate status
statusInfo subtitle summaryHoldings supplierCode supplierDescription supplierInfo
supplierUniqueRecordId supplyingAgencyId supplyingAgencyMessage
supplyingAgencyMessageConfirmation supplyingAgencyRequestId surname thirdPartyName timestamp
timestampReceived title titleOfComponent trackingId volume""".split())  # noqa: SIM905
_MESSAGE_TAG = re.compile(r"<(?:\w+:)?(request|supplyingAgencyMessage|requestingAgencyMessage)"
                          r"[\s>/]")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


class MessageError(Exception):
    """A message that cannot be understood: its ISO 18626 errorType and what was wrong."""

    def __init__(self, error_type: str, value: str) -> None:
        super().__init__(f"{error_type}: {value}")
        self.error_type = error_type
        self.value = value


@dataclass
class Message:
    """A message read: its kind, version, and each element's text by path (first of a
    repeated element), e.g. `header/requestingAgencyId/agencyIdValue`."""

    kind: str
    version: str
    namespaced: bool
    fields: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    tree: Any = field(default=None, repr=False)  # the element read, for validation

    def get(self, path: str) -> str:
        """An element's text, stripped ("" when absent or empty)."""
        return self.fields.get(path, "").strip()

    def required(self, path: str) -> str:
        """An element's text; BadlyFormedMessage when it is absent or empty."""
        value = self.get(path)
        if not value:
            raise MessageError(BADLY_FORMED, f"{path} is missing")
        return value

    def agency(self, which: str) -> tuple[str, str]:
        """(agencyIdType, agencyIdValue) of `supplyingAgencyId` or `requestingAgencyId`."""
        return (self.required(f"header/{which}/agencyIdType"),
                self.required(f"header/{which}/agencyIdValue"))

    def timestamp(self, path: str, *, required: bool = False) -> datetime | None:
        """An element's date-time (lax: `Z`, `+0000`, `+00:00`, fractions); None when
        absent; UnrecognisedDataValue when it is not a date-time."""
        text = self.required(path) if required else self.get(path)
        return parse_timestamp(text, path) if text else None


def local(tag: str) -> tuple[str, bool]:
    """An element's name without its namespace, and whether it had ours."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name, namespace == NS
    return tag, False


def parse_timestamp(text: str, where: str = "timestamp") -> datetime:
    """An xs:dateTime as peers write it; UTC when no offset is given."""
    found = _TIMESTAMP.match(text.strip())
    if found is None:
        raise MessageError(UNRECOGNISED_VALUE, f"{where}: {text[:40]!r} is not a date-time")
    day, clock, fraction, offset = found.groups()
    if clock.count(":") == 1:
        clock += ":00"
    zone = "+00:00" if offset in (None, "Z") else (
        offset if ":" in offset else f"{offset[:3]}:{offset[3:]}")
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{(fraction or '')[:7]}{zone}")
    except ValueError:
        raise MessageError(UNRECOGNISED_VALUE,
                           f"{where}: {text[:40]!r} is not a date-time") from None
    return moment.astimezone(UTC)


def parse(body: bytes) -> Message:
    """Reads a message (BadlyFormedMessage when it is not XML, or not an ISO 18626
    message)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise MessageError(BADLY_FORMED, f"not well-formed XML ({error})") from None
    tree = root
    name, namespaced = local(root.tag)
    version = next((v for k, v in root.attrib.items() if local(k)[0] == "version"), "")
    if name == "ISO18626Message":
        children = list(root)
        if len(children) != 1:
            raise MessageError(BADLY_FORMED, "ISO18626Message holds exactly one message")
        root = children[0]
        name, inner_namespaced = local(root.tag)
        namespaced = namespaced and inner_namespaced
    if name not in MESSAGES:
        raise MessageError(UNRECOGNISED_ELEMENT,
                           f"{name} is not an ISO 18626 message ({', '.join(MESSAGES)})")
    message = Message(name, version, namespaced, tree=tree)
    _flatten(root, "", message)
    return message


def _flatten(element: Element, prefix: str, message: Message) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        name, _ = local(child.tag)
        path = f"{prefix}{name}"
        if name not in ELEMENTS:
            message.unknown.append(path)
        if len(child):
            _flatten(child, path + "/", message)
        elif path not in message.fields:
            message.fields[path] = child.text or ""


def check_strict(message: Message) -> None:
    """A strict peer's message: in the ISO 18626 namespace, with only defined elements; a
    v1.x message (or one of no declared version) valid against the v1_2 XSD."""
    if not message.namespaced:
        raise MessageError(BADLY_FORMED, f"the message is not in the namespace {NS}")
    if message.unknown:
        raise MessageError(UNRECOGNISED_ELEMENT, f"{message.unknown[0]} is not an element "
                                                 "of ISO 18626")
    if message.tree is not None and (not message.version or message.version.startswith("1.")):
        problem = next(iter(_v1_2().iter_errors(message.tree)), None)
        if problem is not None:
            where = (problem.path or "").replace(f"{{{NS}}}", "")
            reason = (problem.reason or "").replace(f"{{{NS}}}", "")
            raise MessageError(_error_type(problem), f"not valid against ISO-18626-v1_2.xsd "
                                                     f"at {where}: {reason}")


@functools.cache
def _v1_2() -> xmlschema.XMLSchema:
    """The v1_2 schema, read once when a strict peer's message first needs it."""
    return xmlschema.XMLSchema(Path(__file__).with_name("schemas") / "ISO-18626-v1_2.xsd")


def _error_type(problem: xmlschema.XMLSchemaValidationError) -> str:
    """A schema violation as ISO 18626 names it: an element out of place, or a value."""
    if isinstance(problem, xmlschema.XMLSchemaChildrenValidationError):
        return UNRECOGNISED_ELEMENT
    return UNRECOGNISED_VALUE


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation says back: OK, or ERROR with its type and value."""

    kind: str  # the message confirmed: request, supplyingAgencyMessage, ...
    ok: bool
    error_type: str = ""
    error_value: str = ""


def confirm(message: Message | None, confirmation: Confirmation, received: datetime) -> bytes:
    """The confirmation XML of a message (its header echoed as far as it was read)."""
    root = Element("ISO18626Message", {"xmlns": NS, "version": "1.2"})
    body = SubElement(root, CONFIRMATIONS[confirmation.kind])
    header = SubElement(body, "confirmationHeader")
    fields = message.fields if message is not None else {}
    for agency in ("supplyingAgencyId", "requestingAgencyId"):
        holder = SubElement(header, agency)
        for part in ("agencyIdType", "agencyIdValue"):
            SubElement(holder, part).text = fields.get(f"header/{agency}/{part}", "").strip()
    SubElement(header, "timestamp").text = fields.get("header/timestamp", "").strip() or (
        _written(received))
    SubElement(header, "requestingAgencyRequestId").text = fields.get(
        "header/requestingAgencyRequestId", "").strip()
    multiple = fields.get("header/multipleItemRequestId", "").strip()
    if multiple:
        SubElement(header, "multipleItemRequestId").text = multiple
    SubElement(header, "timestampReceived").text = _written(received)
    SubElement(header, "messageStatus").text = "OK" if confirmation.ok else "ERROR"
    if confirmation.kind == "supplyingAgencyMessage" and fields.get(
            "messageInfo/reasonForMessage", "").strip():
        SubElement(body, "reasonForMessage").text = fields["messageInfo/reasonForMessage"].strip()
    if confirmation.kind == "requestingAgencyMessage" and fields.get("action", "").strip():
        SubElement(body, "action").text = fields["action"].strip()
    if not confirmation.ok:
        error = SubElement(body, "errorData")
        SubElement(error, "errorType").text = confirmation.error_type
        SubElement(error, "errorValue").text = confirmation.error_value[:500]
    written: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + written


def _written(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kind_of(body: bytes) -> str:
    """The kind of message a body that could not be read seems to be (for its
    confirmation's element): by the first message name it mentions, a request otherwise."""
    found = _MESSAGE_TAG.search(body[:4096].decode("utf-8", "replace"))
    return found.group(1) if found else "request"


@dataclass(frozen=True)
class Header:
    """Who a message is between, about which request, sent when."""

    supplier: tuple[str, str]  # agencyIdType, agencyIdValue
    requester: tuple[str, str]
    requesting_agency_request_id: str
    timestamp: datetime
    supplying_agency_request_id: str = ""


@dataclass(frozen=True)
class SupplierStatus:
    """What a supplying agency tells the requester (one supplyingAgencyMessage)."""

    header: Header
    reason_for_message: str
    status: str
    answer_yes: bool | None = None
    note: str = ""
    reason_unfilled: str = ""
    due_date: datetime | None = None


@dataclass(frozen=True)
class LoanRequest:
    """What a requesting agency asks for (one request)."""

    header: Header
    title: str
    author: str = ""
    need_before: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class RequesterAction:
    """What a requesting agency does (one requestingAgencyMessage)."""

    header: Header
    action: str
    note: str = ""


def _message(kind: str, header: Header) -> tuple[Element, Element]:
    """A message's root and body, with its header."""
    root = Element("ISO18626Message", {"xmlns": NS, "version": "1.2"})
    body = SubElement(root, kind)
    written = SubElement(body, "header")
    for name, (agency_type, value) in (("supplyingAgencyId", header.supplier),
                                       ("requestingAgencyId", header.requester)):
        agency = SubElement(written, name)
        SubElement(agency, "agencyIdType").text = agency_type
        SubElement(agency, "agencyIdValue").text = value
    SubElement(written, "multipleItemRequestId").text = ""
    SubElement(written, "timestamp").text = _written(header.timestamp)
    SubElement(written, "requestingAgencyRequestId").text = header.requesting_agency_request_id
    if header.supplying_agency_request_id:
        SubElement(written, "supplyingAgencyRequestId").text = (
            header.supplying_agency_request_id)
    return root, body


def _bytes(root: Element) -> bytes:
    written: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + written


def supplying_message(told: SupplierStatus) -> bytes:
    """A supplyingAgencyMessage (in the element order both schema versions read)."""
    root, body = _message("supplyingAgencyMessage", told.header)
    info = SubElement(body, "messageInfo")
    SubElement(info, "reasonForMessage").text = told.reason_for_message
    if told.answer_yes is not None:
        SubElement(info, "answerYesNo").text = "Y" if told.answer_yes else "N"
    if told.note:
        SubElement(info, "note").text = told.note
    if told.reason_unfilled:
        SubElement(info, "reasonUnfilled").text = told.reason_unfilled
    status = SubElement(body, "statusInfo")
    SubElement(status, "status").text = told.status
    if told.due_date is not None:
        SubElement(status, "dueDate").text = _written(told.due_date)
    SubElement(status, "lastChange").text = _written(told.header.timestamp)
    return _bytes(root)


def request_message(asked: LoanRequest) -> bytes:
    """A request for a loan."""
    root, body = _message("request", asked.header)
    bibliographic = SubElement(body, "bibliographicInfo")
    SubElement(bibliographic, "title").text = asked.title
    if asked.author:
        SubElement(bibliographic, "author").text = asked.author
    service = SubElement(body, "serviceInfo")
    SubElement(service, "serviceType").text = "Loan"
    if asked.need_before is not None:
        SubElement(service, "needBeforeDate").text = _written(asked.need_before)
    if asked.note:
        SubElement(service, "note").text = asked.note
    return _bytes(root)


def requesting_message(done: RequesterAction) -> bytes:
    """A requestingAgencyMessage: one of the requester's actions."""
    root, body = _message("requestingAgencyMessage", done.header)
    SubElement(body, "action").text = done.action
    if done.note:
        SubElement(body, "note").text = done.note
    return _bytes(root)
