"""Rebuilding a read model from the event stores, into new tables, then switching over."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack

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
            progress: Progress | None = None, servers: Sequence[str] = ()) -> tuple[int, int]:
    """Replays every event store (those on the other `servers` too) into a new generation
    while the old one serves; then switches, and drops the old tables. Returns (new
    generation, events applied)."""
    with psycopg.connect(database_url) as conn, ExitStack() as others:
        sources = [conn, *[others.enter_context(psycopg.connect(url, autocommit=True))
                           for url in servers]]
        with conn.transaction(), conn.cursor() as cur:
            create_tracking(cur)
            old = active_generation(cur, projection_class.name)
            projection = projection_class(generation=old + 1)
            drop_generation(cur, projection.name, projection.generation,
                            [projection.table(t) for t in projection.tables])
            projection.create_tables(cur)
        tally = _Tally(0, progress)
        decoder = Decoder()
        while True:  # repeat until a full pass finds nothing new: writes go on meanwhile
            before = tally.done
            logs = _logs(sources)  # listed again: a tenant may have moved meanwhile
            tally.total = max(tally.total, sum(size for _, _, size in logs))
            for source, schema, _ in logs:
                with contextlib.suppress(psycopg.errors.UndefinedTable):  # moved away since
                    _replay_log(conn, projection, (source, schema, log_name(schema)), tally,
                                decoder)
            if tally.done == before:
                break
        with conn.transaction(), conn.cursor() as cur:
            switch_generation(cur, projection.name, projection.generation)
            retired = projection_class(generation=old)
            drop_generation(cur, projection.name, old,
                            [retired.table(t) for t in retired.tables])
    return projection.generation, tally.done


def _logs(sources: list[psycopg.Connection[tuple[object, ...]]]
          ) -> list[tuple[psycopg.Connection[tuple[object, ...]], str, int]]:
    """Every server's logs with their sizes (a tenant moving: its two copies; the second
    finds nothing past the position the first reached)."""
    found = []
    for source in sources:
        with source.cursor() as cur:
            found += [(source, schema, log_size(cur, schema)) for schema in event_logs(cur)]
    return found


def _replay_log(conn: psycopg.Connection[tuple[object, ...]], projection: Projection,
                log: tuple[psycopg.Connection[tuple[object, ...]], str, str], tally: _Tally,
                decoder: Decoder) -> None:
    source, schema, tenant = log
    while True:
        with conn.transaction(), conn.cursor() as cur:
            position = lock_positions(cur, projection.name, projection.generation, {tenant})[tenant]
            if source is conn:
                rows = read_log(cur, schema, position, PAGE)
            else:
                with source.cursor() as other:
                    rows = read_log(other, schema, position, PAGE)
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
