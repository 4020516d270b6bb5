"""A member's lending settings: what it lends to the consortium, for how long, whether it
answers requests by itself, and how long the rota waits for its answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.lending.errors import LendingInputInvalidError

_ID = uuid5(NAMESPACE_URL, "commonshelf:lending:settings")
ANY = "*"
DEFAULT_TIMEOUT = timedelta(days=2)
DEFAULT_LOAN_DAYS = 28


class LendingSettings(Aggregate):
    """One per library: its consortium lending settings (defaults until set)."""

    class Started(Aggregate.Created):
        pass

    class Set(Aggregate.Event):
        material_types: list[str]
        loan_days: int
        auto_answer: bool
        answer_timeout_hours: int
        set_at: datetime

    @staticmethod
    def create_id() -> UUID:
        """One per library."""
        return _ID

    @event(Started)
    def __init__(self) -> None:
        self.material_types: list[str] = [ANY]
        self.loan_days = DEFAULT_LOAN_DAYS
        self.auto_answer = False
        self.answer_timeout_hours = int(DEFAULT_TIMEOUT.total_seconds() // 3600)

    @classmethod
    def defaults(cls) -> LendingSettings:
        """The settings of a library that never set them."""
        return cls()

    def change(self, material_types: list[str], loan_days: int, auto_answer: bool,
               answer_timeout_hours: int, at: datetime) -> None:
        """Sets every value at once (material types: lowercase; '*' for any)."""
        types = sorted({t.strip().lower() for t in material_types if t.strip()})
        if not types:
            raise LendingInputInvalidError("material_types: give at least one ('*' for any)")
        if any(len(t) > 50 for t in types):
            raise LendingInputInvalidError("material_types: at most 50 characters each")
        if not 1 <= loan_days <= 365:
            raise LendingInputInvalidError("loan_days: 1-365")
        if not 1 <= answer_timeout_hours <= 24 * 60:
            raise LendingInputInvalidError("answer_timeout_hours: 1-1440")
        self._set(types, loan_days, auto_answer, answer_timeout_hours, at)

    @event(Set)
    def _set(self, material_types: list[str], loan_days: int, auto_answer: bool,
             answer_timeout_hours: int, set_at: datetime) -> None:
        self.material_types, self.loan_days = list(material_types), loan_days
        self.auto_answer, self.answer_timeout_hours = auto_answer, answer_timeout_hours

    @property
    def answer_timeout(self) -> timedelta:
        """How long the rota waits for this library's answer."""
        return timedelta(hours=self.answer_timeout_hours)

    def lends(self, material_type: str) -> bool:
        """Whether the library lends copies of this material type to the consortium."""
        return ANY in self.material_types or material_type.lower() in self.material_types
