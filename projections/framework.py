"""What a projection is: a stable name, the domain events it handles (by class), typed
handlers for them, and the tables it owns; and what a view is: the queries others may ask."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias, TypeVar

from eventsourcing.domain import Aggregate
from psycopg import Cursor

from projections.postgres import active_generation

DomainEvent: TypeAlias = Aggregate.Event
F = TypeVar("F", bound=Callable[..., None])
V = TypeVar("V", bound="View")
_HANDLES = "__projection_handles__"


@dataclass(frozen=True, slots=True)
class Source:
    """Where an event sits: whose log, and its position in it."""

    tenant: str
    position: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event as the pipeline delivers it, decoded once: where it sits in its log, the
    position before it there, and the typed domain event."""

    tenant: str
    position: int
    previous: int
    event: DomainEvent

    @property
    def source(self) -> Source:
        """The event's tenant and position."""
        return Source(self.tenant, self.position)


def on(*event_classes: type[DomainEvent]) -> Callable[[F], F]:
    """Marks a projection method as the handler of these domain event classes."""

    def mark(handler: F) -> F:
        setattr(handler, _HANDLES, event_classes)
        return handler

    return mark


def table_name(projection: str, generation: int, base: str) -> str:
    """The name of one of a projection's tables in one generation."""
    return f"{projection}_g{generation}_{base}"


class Projection(ABC):
    """A read model's writer: applied inside the worker's transaction, so its writes and the
    tracked position commit together. Handlers are methods marked with `@on(EventClass)`;
    they get the cursor, the typed event and its source."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]  # the base names of the tables it owns
    events: ClassVar[tuple[type[DomainEvent], ...]] = ()  # filled from the handlers
    # True if, once an event it cannot apply is parked, it may apply the rest of that
    # tenant's log (its rows are per record or aggregate, so one missing event spoils one
    # row at most); False: the tenant waits behind the parked event. Events of a shared log
    # (the office's) are passed either way: one member's input never holds back the others.
    skip_poison: ClassVar[bool] = False
    _handlers: ClassVar[dict[type[DomainEvent], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type[DomainEvent], str] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                for event_class in getattr(value, _HANDLES, ()):
                    handlers[event_class] = attribute
        cls._handlers = handlers
        if handlers:
            cls.events = tuple(handlers)

    def __init__(self, generation: int = 1) -> None:
        self.generation = generation

    def table(self, base: str) -> str:
        """The name of one of this projection's tables in the current generation."""
        return table_name(self.name, self.generation, base)

    def accepts(self, delivery: Delivery) -> bool:
        """True if the projection handles this event (a projection may narrow it by log)."""
        return isinstance(delivery.event, self.events)

    @abstractmethod
    def create_tables(self, cur: Cursor[Any]) -> None:
        """Creates this generation's tables if they do not exist."""

    def apply_batch(self, cur: Cursor[Any], deliveries: list[Delivery]) -> None:
        """Applies events in order; a projection may override it to write in bulk."""
        for delivery in deliveries:
            self.apply(cur, delivery)

    def apply(self, cur: Cursor[Any], delivery: Delivery) -> None:
        """Calls the handler of the event's class (or of its nearest base that has one)."""
        for klass in type(delivery.event).__mro__:
            handler = self._handlers.get(klass)
            if handler is not None:
                getattr(self, handler)(cur, delivery.event, delivery.source)
                return


class View:
    """The queries a read model answers, on a cursor, at the generation that serves."""

    name: ClassVar[str]  # the projection's name: whose tables it reads, whose position to wait for

    def __init__(self, cur: Cursor[Any], generation: int = 1) -> None:
        self.cur = cur
        self.generation = generation

    @classmethod
    def serving(cls: type[V], cur: Cursor[Any]) -> V:
        """The view of the generation that serves queries now."""
        return cls(cur, active_generation(cur, cls.name))
