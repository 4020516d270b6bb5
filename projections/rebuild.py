"""Rebuilding a read model from the event stores, into new tables, then switching over."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from eventsourcing.persistence import StoredEvent

from projections.decoding import Decoder
from projections.framework import Delivery, Projection
from projections.postgres import (
    active_generation,
    create_tracking,
    drop_generation,
    event_logs,
    lock_positions,
    log_size,
    read_log,
    switch_generation,
    track,
)

Progress = Callable[[int, int], None]
PAGE = 2000


class _Tally:
    """Events replayed so far, reported as they go."""

    def __init__(self, total: int, report: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.report = report

    def advance(self, n: int) -> None:
        self.done += n
        self.total = max(self.total, self.done)
        if self.report is not None:
            self.report(self.done, self.total)


def rebuild(projection_class: type[Projection], database_url: str, log_name: Callable[[str], str],
            progress: Progress | None = None) -> tuple[int, int]:
    """Replays every event store into a new generation while the old one serves; then
    switches, and drops the old tables. Returns (new generation, events applied)."""
    with psycopg.connect(database_url) as conn:
        with conn.transaction(), conn.cursor() as cur:
            create_tracking(cur)
            old = active_generation(cur, projection_class.name)
            projection = projection_class(generation=old + 1)
            drop_generation(cur, projection.name, projection.generation,
                            [projection.table(t) for t in projection.tables])
            projection.create_tables(cur)
            logs = event_logs(cur)
            total = sum(log_size(cur, schema) for schema in logs)
        tally = _Tally(total, progress)
        decoder = Decoder()
        while True:  # repeat until a full pass finds nothing new: writes go on meanwhile
            before = tally.done
            for schema in logs:
                _replay_log(conn, projection, (schema, log_name(schema)), tally, decoder)
            if tally.done == before:
                break
        with conn.transaction(), conn.cursor() as cur:
            switch_generation(cur, projection.name, projection.generation)
            retired = projection_class(generation=old)
            drop_generation(cur, projection.name, old,
                            [retired.table(t) for t in retired.tables])
    return projection.generation, tally.done


def _replay_log(conn: psycopg.Connection[tuple[object, ...]], projection: Projection,
                log: tuple[str, str], tally: _Tally, decoder: Decoder) -> None:
    schema, tenant = log
    while True:
        with conn.transaction(), conn.cursor() as cur:
            position = lock_positions(cur, projection.name, projection.generation, {tenant})[tenant]
            rows = read_log(cur, schema, position, PAGE)
            if not rows:
                return
            deliveries: list[Delivery] = []
            previous = position
            for notification_id, originator_id, version, topic, state in rows:
                deliveries.append(decoder.delivery(tenant, int(notification_id), previous,
                                                   StoredEvent(originator_id, int(version),
                                                               str(topic), bytes(state))))
                previous = int(notification_id)
            projection.apply_batch(cur, [d for d in deliveries if projection.accepts(d)])
            track(cur, projection.name, projection.generation, tenant, previous)
        tally.advance(len(rows))
