"""The ISO 18626 reader is lax as real peers need (both schema versions, with or without the
wrapper or the namespace, any order, `+0000` offsets, no multipleItemRequestId) and safe (no
entities, no DTDs); every sample message reads, and its confirmation is well-formed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from infra.iso18626 import (
    BADLY_FORMED,
    NS,
    UNRECOGNISED_ELEMENT,
    UNRECOGNISED_VALUE,
    Confirmation,
    MessageError,
    check_strict,
    confirm,
    kind_of,
    parse,
    parse_timestamp,
)

SAMPLES = Path(__file__).parents[2] / "data" / "iso18626"
KINDS = {
    "samples-realistic/cancelResponseReplyNoTemplate.xml": "supplyingAgencyMessage",
    "samples-realistic/case1_request.xml": "request",
    "samples-realistic/iso18626_req_1.xml": "request",
    "samples-realistic/patronRequest.xml": "request",
    "samples-realistic/statusChangeExpectToSupplyTemplate.xml": "supplyingAgencyMessage",
    "samples-realistic/supplyingAgencyMessage_statusChange.xml": "supplyingAgencyMessage",
    "samples-realistic/unfilledNotification.xml": "supplyingAgencyMessage",
    "samples-schema-exhaustive/request.xml": "request",
    "samples-schema-exhaustive/requestingAgencyMessage.xml": "requestingAgencyMessage",
    "samples-schema-exhaustive/supplyingAgencyMessage.xml": "supplyingAgencyMessage",
}
CONFIRMATIONS = ("requestConfirmation.xml", "requestingAgencyMessageConfirmation.xml",
                 "supplyingAgencyMessageConfirmation.xml")
CONFIRMATIONS_OF = {"request": "requestConfirmation",
                    "supplyingAgencyMessage": "supplyingAgencyMessageConfirmation",
                    "requestingAgencyMessage": "requestingAgencyMessageConfirmation"}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_every_sample_is_accounted_for() -> None:
    found = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.xml")}
    assert found == set(KINDS) | {f"samples-schema-exhaustive/{c}" for c in CONFIRMATIONS}


@pytest.mark.parametrize("sample", sorted(KINDS))
def test_every_sample_message_reads_and_is_confirmed(sample: str) -> None:
    body = (SAMPLES / sample).read_bytes()
    message = parse(body)
    assert message.kind == KINDS[sample] == kind_of(body)
    assert message.get("header/requestingAgencyRequestId")
    written = confirm(message, Confirmation(message.kind, True), NOW)
    root = fromstring(written)
    assert root.tag == f"{{{NS}}}ISO18626Message"
    (confirmation,) = list(root)
    assert confirmation.tag == f"{{{NS}}}{CONFIRMATIONS_OF[message.kind]}"
    status = confirmation.find(f"{{{NS}}}confirmationHeader/{{{NS}}}messageStatus")
    assert status is not None
    assert status.text == "OK"


def test_confirmations_name_their_message_and_carry_the_error() -> None:
    message = parse((SAMPLES / "samples-schema-exhaustive/requestingAgencyMessage.xml")
                    .read_bytes())
    root = fromstring(confirm(message, Confirmation(message.kind, False, "UnsupportedActionType",
                                                    "no"), NOW))
    (body,) = list(root)
    assert body.tag == f"{{{NS}}}requestingAgencyMessageConfirmation"
    assert body.findtext(f"{{{NS}}}action") == "StatusRequest"
    assert body.findtext(f"{{{NS}}}errorData/{{{NS}}}errorType") == "UnsupportedActionType"
    header = f"{{{NS}}}confirmationHeader/{{{NS}}}"
    assert body.findtext(f"{header}requestingAgencyRequestId") == "requestingAgencyRequestId1"
    assert body.findtext(f"{header}messageStatus") == "ERROR"


def test_lax_reading_of_versions_order_offsets_and_missing_fields() -> None:
    case1 = parse((SAMPLES / "samples-realistic/case1_request.xml").read_bytes())
    assert case1.get("header/multipleItemRequestId") == ""  # absent: accepted
    assert case1.timestamp("header/timestamp") == datetime(2014, 3, 17, 9, 30, 47, tzinfo=UTC)
    exhaustive = parse((SAMPLES / "samples-schema-exhaustive/request.xml").read_bytes())
    assert exhaustive.namespaced  # the message element itself as the root
    assert exhaustive.timestamp("header/timestamp") == datetime(1900, 1, 1, 1, 1, 1,
                                                                tzinfo=UTC)
    template = parse((SAMPLES / "samples-realistic/statusChangeExpectToSupplyTemplate.xml")
                     .read_bytes())
    assert not template.namespaced
    assert template.get("statusInfo/status") == "ExpectToSupply"
    reordered = parse(b'<ISO18626Message xmlns="' + NS.encode() + b'" version="2021-2">'
                      b"<request><serviceInfo><serviceType>Loan</serviceType></serviceInfo>"
                      b"<header><requestingAgencyRequestId>r1</requestingAgencyRequestId>"
                      b"<timestamp>2024-02-01T10:00:00+0100</timestamp></header></request>"
                      b"</ISO18626Message>")
    assert (reordered.version, reordered.get("serviceInfo/serviceType")) == ("2021-2", "Loan")
    assert reordered.timestamp("header/timestamp") == datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2014-03-17T09:30:47.0Z", datetime(2014, 3, 17, 9, 30, 47, tzinfo=UTC)),
    ("2023-10-04T15:22:00.543778Z", datetime(2023, 10, 4, 15, 22, 0, 543778, tzinfo=UTC)),
    ("1900-01-01T01:01:01+0000", datetime(1900, 1, 1, 1, 1, 1, tzinfo=UTC)),
    ("2024-01-01T12:00:00-05:00", datetime(2024, 1, 1, 17, 0, tzinfo=UTC)),
    ("2024-01-01T12:00", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
])
def test_timestamps_as_peers_write_them(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["_TIMESTAMP_", "timestamp_holder", "2024-13-01T00:00:00Z"])
def test_a_timestamp_that_is_none_is_an_unrecognised_value(text: str) -> None:
    with pytest.raises(MessageError) as refused:
        parse_timestamp(text, "header/timestamp")
    assert refused.value.error_type == UNRECOGNISED_VALUE
    assert "header/timestamp" in refused.value.value


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<request><header>",
    # an external entity (XXE) and an entity expansion bomb: refused, never resolved
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<request><header>&x;</header></request>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
    b"]><request><note>&b;</note></request>",
    b"<ISO18626Message><request/><request/></ISO18626Message>",
])
def test_what_is_not_a_readable_message_is_badly_formed(body: bytes) -> None:
    with pytest.raises(MessageError) as refused:
        parse(body)
    assert refused.value.error_type == BADLY_FORMED


def test_an_unknown_message_is_an_unrecognised_element() -> None:
    with pytest.raises(MessageError) as refused:
        parse(b'<ISO18626Message xmlns="' + NS.encode() + b'"><borrow/></ISO18626Message>')
    assert refused.value.error_type == UNRECOGNISED_ELEMENT


def test_strict_reading_validates_v1_messages_against_the_v1_2_schema() -> None:
    body = (SAMPLES / "samples-realistic/case1_request.xml").read_bytes()
    with pytest.raises(MessageError) as refused:  # v1_2 wants multipleItemRequestId
        check_strict(parse(body))
    assert refused.value.error_type == UNRECOGNISED_ELEMENT
    assert "multipleItemRequestId" in refused.value.value
    assert "ISO18626Message/request/header" in refused.value.value
    check_strict(parse(body.replace(
        b"<timestamp>", b"<multipleItemRequestId></multipleItemRequestId><timestamp>", 1)))
    offsets = (SAMPLES / "samples-schema-exhaustive/request.xml").read_bytes()
    with pytest.raises(MessageError) as bad_time:  # +0000 is no xs:dateTime
        check_strict(parse(offsets))
    assert bad_time.value.error_type == UNRECOGNISED_VALUE


def test_strict_reading_wants_the_namespace_and_only_defined_elements() -> None:
    template = parse((SAMPLES / "samples-realistic/statusChangeExpectToSupplyTemplate.xml")
                     .read_bytes())
    with pytest.raises(MessageError, match="namespace"):
        check_strict(template)
    extra = parse(b'<request xmlns="' + NS.encode() + b'"><header><colour>red</colour>'
                  b"</header></request>")
    with pytest.raises(MessageError) as refused:
        check_strict(extra)
    assert (refused.value.error_type, refused.value.value) == (
        UNRECOGNISED_ELEMENT, "header/colour is not an element of ISO 18626")
