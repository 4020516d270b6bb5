"""Circulation on an in-memory event store, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID, uuid4, uuid5

import pytest

from domain.circulation.application import Card, Circulation, Copy

RECORD = uuid5(UUID(int=0), "a record")

CopyMaker = Callable[..., Copy]
CardMaker = Callable[..., Card]


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(clock: Clock) -> Circulation:
    return Circulation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


@pytest.fixture
def copy_of() -> CopyMaker:
    """Copy n of RECORD (or of another record), as the catalog has it."""

    def make(n: int = 1, status: str = "available", *, record: UUID = RECORD,
             version: int | None = None, material_type: str = "book") -> Copy:
        return Copy(uuid5(record, str(n)), f"B{n}", record, material_type, status, version)

    return make


@pytest.fixture
def new_card(desk: Circulation) -> CardMaker:
    """A newly registered patron."""

    def make(group: str = "undergraduate", expires: date = date(2030, 1, 1)) -> Card:
        patron = desk.register_patron(uuid4(), "sealed", group, expires)
        return Card(patron.id, uuid4())

    return make
