"""Many aggregates in one read of the event store, for commands that decide on several
(a check-out reads the patron, the policies, the item's lending and the borrower) and for
imports that look up a whole batch.

With the application's aggregate cache, an aggregate already held is only fast-forwarded by
the events written since (by another process, or a command that lost its race); the cached
copy is never handed out, so a command that fails leaves it untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import Aggregate


class BatchReader(Protocol):
    """A recorder that reads many aggregates' events in one go (ours does)."""

    def select_events_of(self, originator_ids: Sequence[UUID],
                         after: Mapping[UUID, int] | None = None
                         ) -> Mapping[UUID, Sequence[Any]]:
        """Each aggregate's stored events (after the version held, if given), by id."""


def load_many(app: Application[UUID], aggregate_ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
    """The aggregates that exist among these ids, in one query when the store can."""
    reader = app.recorder
    if not hasattr(reader, "select_events_of"):
        return {i: a for i in aggregate_ids if (a := _get_or_none(app, i)) is not None}
    cache = app.repository.cache
    held: dict[UUID, Aggregate] = {}
    if cache is not None:
        for aggregate_id in aggregate_ids:
            try:
                cached = cache.get(aggregate_id)
            except KeyError:
                continue
            if isinstance(cached, Aggregate):
                held[aggregate_id] = cached
    stored = cast(BatchReader, reader).select_events_of(
        aggregate_ids, {i: a.version for i, a in held.items()})
    loaded: dict[UUID, Aggregate] = {}
    for aggregate_id in aggregate_ids:
        events = [app.mapper.to_domain_event(e) for e in stored.get(aggregate_id, ())]
        known = held.get(aggregate_id)
        if known is None and not events:
            continue
        start = deepcopy(known) if known is not None else None
        aggregate = project_aggregate(start, events)
        if not isinstance(aggregate, Aggregate):
            continue
        if cache is not None and (known is None or events):
            cache.put(aggregate_id, deepcopy(aggregate))
        loaded[aggregate_id] = aggregate
    return loaded


def _get_or_none(app: Application[UUID], aggregate_id: UUID) -> Aggregate | None:
    try:
        found: Aggregate = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found
