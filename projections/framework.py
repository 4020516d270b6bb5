"""What a projection is: a stable name, the events it handles, and how it applies them."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from psycopg import Cursor


def plain(value: Any) -> Any:
    """An event field without the event store's type wrapper ({"_type_", "_data_"})."""
    if isinstance(value, dict) and "_type_" in value and "_data_" in value:
        return value["_data_"]
    return value


@dataclass(frozen=True)
class EventRecord:
    """One event as the relay carries it: whose log, where in it, and what happened."""

    tenant: str
    position: int
    previous: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes

    @property
    def aggregate(self) -> str:
        """The aggregate class name (`ApiClient` of `tenants.client:ApiClient.Created`)."""
        return self.topic.rpartition(":")[2].rpartition(".")[0]

    @property
    def event(self) -> str:
        """The event class name (`Created`)."""
        return self.topic.rpartition(".")[2]

    def data(self) -> dict[str, Any]:
        """The event's fields, decoded from the stored JSON."""
        decoded: dict[str, Any] = json.loads(self.state)
        return decoded

    def timestamp(self) -> datetime:
        """When the event happened (eventsourcing stamps every event)."""
        stamp = self.data()["timestamp"]
        return datetime.fromisoformat(stamp["_data_"] if isinstance(stamp, dict) else stamp)


class Projection(ABC):
    """A read model: owns its tables (named by `table()`), applied inside the worker's
    transaction so its writes and the tracked position commit together."""

    name: ClassVar[str]
    aggregates: ClassVar[frozenset[str] | None] = None  # the aggregates handled; None: all
    tables: ClassVar[tuple[str, ...]]  # the base names of the tables it owns

    def __init__(self, generation: int = 1) -> None:
        self.generation = generation

    def table(self, base: str) -> str:
        """The name of one of this projection's tables in the current generation."""
        return f"{self.name}_g{self.generation}_{base}"

    def handles(self, record: EventRecord) -> bool:
        """True if the projection handles this event's aggregate."""
        return self.aggregates is None or record.aggregate in self.aggregates

    @abstractmethod
    def create_tables(self, cur: Cursor[Any]) -> None:
        """Creates this generation's tables if they do not exist."""

    @abstractmethod
    def apply(self, cur: Cursor[Any], record: EventRecord) -> None:
        """Applies one event to the read model."""

    def apply_batch(self, cur: Cursor[Any], records: list[EventRecord]) -> None:
        """Applies events in order; a projection may override it to write in bulk."""
        for record in records:
            self.apply(cur, record)
