"""A library outside the consortium that a member lends to over ISO 18626: who it is (its
agency id), where its messages go, and whether its messages are held to the schema."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.lending.errors import LendingInputInvalidError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:lending:peer")


def agency_key(agency_id_type: str, agency_id_value: str) -> str:
    """How a peer is named in requests: `TYPE:value` (the type in capitals)."""
    return f"{agency_id_type.strip().upper()}:{agency_id_value.strip()}"


def _check(value: str, field: str, longest: int) -> str:
    text = value.strip()
    if not text or len(text) > longest or not text.isprintable():
        raise LendingInputInvalidError(f"{field}: 1-{longest} printable characters")
    return text


class Peer(Aggregate):
    """An outside library registered with one member, by agency id."""

    class Registered(Aggregate.Created):
        agency_id_type: str
        agency_id_value: str
        endpoint: str
        strict: bool
        registered_at: datetime

    class Changed(Aggregate.Event):
        endpoint: str
        strict: bool
        changed_at: datetime

    @staticmethod
    def create_id(agency_id_type: str, agency_id_value: str) -> UUID:
        """One peer per agency id (the type's case does not matter)."""
        return uuid5(_NAMESPACE, agency_key(agency_id_type, agency_id_value))

    @event(Registered)
    def __init__(self, *, agency_id_type: str, agency_id_value: str, endpoint: str,
                 strict: bool, registered_at: datetime) -> None:
        self.agency_id_type, self.agency_id_value = agency_id_type, agency_id_value
        self.endpoint, self.strict = endpoint, strict

    @classmethod
    def register(cls, agency_id_type: str, agency_id_value: str, endpoint: str, *,
                 strict: bool, at: datetime) -> Peer:
        """A new peer; every field checked."""
        return cls(agency_id_type=_check(agency_id_type, "agencyIdType", 50).upper(),
                   agency_id_value=_check(agency_id_value, "agencyIdValue", 100),
                   endpoint=check_endpoint(endpoint), strict=strict, registered_at=at)

    def change(self, endpoint: str, *, strict: bool, at: datetime) -> bool:
        """A new endpoint or strictness; False when nothing changed."""
        endpoint = check_endpoint(endpoint)
        if (endpoint, strict) == (self.endpoint, self.strict):
            return False
        self._changed(endpoint=endpoint, strict=strict, changed_at=at)
        return True

    @event(Changed)
    def _changed(self, *, endpoint: str, strict: bool, changed_at: datetime) -> None:
        self.endpoint, self.strict = endpoint, strict

    @property
    def key(self) -> str:
        """The peer as requests name it."""
        return agency_key(self.agency_id_type, self.agency_id_value)


def check_endpoint(endpoint: str) -> str:
    """An http(s) URL of at most 2000 printable characters (a NUL kept in the event would
    never fit the outbox's text column)."""
    url = endpoint.strip()
    parts = urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000
            or not url.isprintable()):
        raise LendingInputInvalidError(
            f"endpoint: {url[:80]!r} is not an http(s) URL of at most 2000 characters")
    return url
