"""Parked events: the events a projection could not apply, and how an operator resolves
them (`commonshelf projections parked | retry | skip`).

The follower parks an event in `projections.parked` (infra/follower.py); a row is `held`
(the tenant waits behind it), `passed` (the projection moved on past it) or `skipped` (an
operator dropped it for good; kept for the record). Retrying re-applies the stored event
from the tenant's log with the serving generation of the projection; success removes the
row and, for a held event, moves the tenant's position past it.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor, sql

from infra.follower import HELD, PASSED, SKIPPED, error_text
from projections.decoding import Decoder
from projections.framework import Projection
from projections.postgres import active_generation, lock_positions, notify_applied, track
from projections.runner import TRACKING


class ParkedEventError(Exception):
    """A parked event cannot be resolved as asked (none such, or it still fails)."""


def create_parked(cur: Cursor[Any]) -> None:
    """Creates the tracking and parked tables if a worker has not yet."""
    TRACKING.create(cur)


def parked(cur: Cursor[Any]) -> list[dict[str, object]]:
    """Every parked event of every projection, oldest first."""
    rows = cur.execute(
        "SELECT projection, generation, tenant, position, topic, status, error, attempts, "
        "parked_at, resolved_at FROM projections.parked ORDER BY parked_at, projection, "
        "tenant, position").fetchall()
    keys = ("name", "generation", "tenant", "position", "topic", "status", "error",
            "attempts", "parked_at", "resolved_at")
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for stamp in ("parked_at", "resolved_at"):
            value = item[stamp]
            item[stamp] = value.isoformat() if value is not None else None
        out.append(item)
    return out


def _locked_row(cur: Cursor[Any], name: str, generation: int, tenant: str,
                position: int) -> tuple[int, str, str]:
    """The parked event's (previous, topic, status), locked; refused when there is none."""
    row = cur.execute(
        "SELECT previous, topic, status FROM projections.parked WHERE projection = %s "
        "AND generation = %s AND tenant = %s AND position = %s AND status <> %s FOR UPDATE",
        (name, generation, tenant, position, SKIPPED)).fetchone()
    if row is None:
        raise ParkedEventError(
            f"no parked event of projection {name!r} (generation {generation}) for tenant "
            f"{tenant!r} at position {position}; `commonshelf projections parked` lists them")
    return int(row[0]), str(row[1]), str(row[2])


def _pass_held(cur: Cursor[Any], name: str, generation: int, tenant: str, *, position: int,
               previous: int) -> bool:
    """Moves a held tenant's position past the parked event (it must be the next one);
    False if a worker applied it meanwhile (another process had parked it)."""
    current = lock_positions(cur, name, generation, {tenant}).get(tenant, 0)
    if current >= position:
        return False
    if current != previous:
        raise ParkedEventError(
            f"projection {name!r} is at position {current} of tenant {tenant!r}, not at the "
            f"parked event's predecessor {previous}: it was resolved meanwhile")
    track(cur, name, generation, tenant, position)
    return True


def retry(cur: Cursor[Any], projection: type[Projection], tenant: str, schema: str,
          position: int, *, log: Cursor[Any] | None = None) -> str:
    """Re-applies a parked event (from the tenant's log, schema `schema`, read through `log`:
    the tenant's server, when it is not the read models' own) with the serving generation;
    success removes its row. Returns the row's former status."""
    name = projection.name
    generation = active_generation(cur, name)
    with cur.connection.transaction():
        previous, topic, status = _locked_row(cur, name, generation, tenant, position)
        stored = (log or cur).execute(sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id = %s").format(sql.Identifier(schema, "events")),
            (position,)).fetchone()
        if stored is None:
            raise ParkedEventError(f"tenant {tenant!r}'s log has no event at position "
                                   f"{position} ({topic})")
        pending = status != HELD or _pass_held(cur, name, generation, tenant,
                                               position=position, previous=previous)
        delivery = Decoder().delivery(tenant, position, previous, StoredEvent(
            originator_id=stored[0], originator_version=int(stored[1]), topic=str(stored[2]),
            state=bytes(stored[3])))
        model = projection(generation=generation)
        try:
            if pending and model.accepts(delivery):
                model.apply_batch(cur, [delivery])
        except Exception as error:  # noqa: BLE001 (reported to the operator)
            raise ParkedEventError(f"{name} still cannot apply tenant {tenant!r}'s event at "
                                   f"position {position} ({topic}): {error_text(error)}") from None
        cur.execute("DELETE FROM projections.parked WHERE projection = %s AND generation = %s "
                    "AND tenant = %s AND position = %s", (name, generation, tenant, position))
        notify_applied(cur)
    return status


def skip(cur: Cursor[Any], projection: type[Projection], tenant: str, position: int) -> str:
    """Drops a parked event for good (its row stays, `skipped`); a held tenant moves on past
    it. Returns the row's former status."""
    name = projection.name
    generation = active_generation(cur, name)
    with cur.connection.transaction():
        previous, _, status = _locked_row(cur, name, generation, tenant, position)
        if status == HELD:
            _pass_held(cur, name, generation, tenant, position=position, previous=previous)
        cur.execute("UPDATE projections.parked SET status = %s, resolved_at = now() "
                    "WHERE projection = %s AND generation = %s AND tenant = %s "
                    "AND position = %s", (SKIPPED, name, generation, tenant, position))
        notify_applied(cur)
    return status


__all__ = ["HELD", "PASSED", "SKIPPED", "ParkedEventError", "create_parked", "parked",
           "retry", "skip"]
