"""Stored events back into typed domain events, the way the event stores encode them."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.circulation.application import DateAsIso
from projections.framework import Delivery, DomainEvent


def event_transcoder() -> JSONTranscoder:
    """The transcoder of every application's store: the library's transcodings (UUID,
    Decimal, datetime) and the domain's own (dates)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsIso()):
        transcoder.register(transcoding)
    return transcoder


class Decoder:
    """Decodes relayed or stored events once, into deliveries every projection shares: the
    class comes from the event's topic (eventsourcing's resolve_topic), its fields from the
    stores' own transcoder."""

    def __init__(self) -> None:
        self.mapper: Mapper[UUID] = Mapper(transcoder=event_transcoder())

    def event(self, stored: StoredEvent) -> DomainEvent:
        """The typed domain event of a stored one."""
        return cast(DomainEvent, self.mapper.to_domain_event(stored))

    def delivery(self, tenant: str, position: int, previous: int,
                 stored: StoredEvent) -> Delivery:
        """An event with where it sits in its tenant's log."""
        return Delivery(tenant, position, previous, self.event(stored))
