"""What every context's Application shares: an injected clock, and saving a command's events
together with its receipt (the answer kept under the caller's idempotency key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.shared.clock import Clock, utc_now

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)
RETRIES = 5  # optimistic concurrency: a command re-runs on fresh state when it lost a race
# What a caller wants written with a command's events, made from the command's result (the
# answer under an idempotency key). Opaque here: the event store writes it in the same
# transaction, so it exists exactly when the command was recorded.
Receipt = Callable[[Any], object]


class ContextApplication(Application[UUID]):
    """A bounded context's use cases on one tenant's event store."""

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock

    def _saved(self, receipt: Receipt | None, result: T, *aggregates: Aggregate) -> T:
        """Saves the aggregates, with the receipt made from the command's result."""
        if receipt is None:
            self.save(*aggregates)
        else:
            self.save(*aggregates, receipt=receipt(result))
        return result

    def _found(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of that kind with this id, or None."""
        try:
            found: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    @staticmethod
    def _retrying(command: Callable[[], T]) -> T:
        return retrying(command)


def retrying(command: Callable[[], T]) -> T:
    """Runs a command; when another writer came first (optimistic concurrency), runs it again
    on the new state."""
    for _ in range(RETRIES - 1):
        try:
            return command()
        except IntegrityError:
            continue
    return command()


def fold_events(app: Application[UUID], kind: type[Aggregate],
                topics: list[str]) -> list[Any]:
    """Every aggregate of `kind` in the app's store, folded from the events with these topics
    only (the store's other events are not read), in the order they were created."""
    folded: dict[UUID, Any] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=topics)
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            if isinstance(domain_event, kind.Event):
                current = folded.get(domain_event.originator_id)
                folded[domain_event.originator_id] = domain_event.mutate(current)
        if len(page) < 500:
            return list(folded.values())
        start = page[-1].id + 1
