"""A log's history as the audit trail shows it: each event's position, aggregate, event type
and time, and who issued the command that recorded it and through which operation (the
command's metadata in `<schema>.commands`). Never an event's payload: patrons' data stays
out of the trail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from infra.database import Database, TenantTable
from infra.eventstore import COMMANDS_COLUMNS, COMMANDS_TABLE, EVENTS_TABLE

# An event's state begins with its timestamp (eventsourcing's JSON): read from its head only.
_TIMESTAMP = re.compile(rb'^\{"timestamp":\{"_type_":"datetime_iso","_data_":"([^"]+)"')
_HEAD_BYTES = 120


@dataclass(frozen=True)
class LoggedEvent:
    """One event of a log, with who issued it (None: recorded before actors were kept, or by
    a path that names none)."""

    position: int
    aggregate_id: uuid.UUID
    version: int
    topic: str
    at: datetime | None
    actor: str | None
    operation: str | None


class EventHistory:
    """Reads the events of a log, newest first, with their actors."""

    def __init__(self, database_of: Callable[[str], Database]) -> None:
        self.database_of = database_of  # a schema's database, wherever its tenant lives
        self._commands: dict[int, TenantTable] = {}

    def events(self, schema: str, limit: int, before: int | None = None,
               aggregates: list[uuid.UUID] | None = None) -> list[LoggedEvent]:
        """Up to `limit` events before position `before`, of these aggregates (None: all)."""
        database = self.database_of(schema)
        known = self._commands.get(id(database))
        if known is None:
            known = self._commands[id(database)] = TenantTable(database, COMMANDS_TABLE,
                                                               COMMANDS_COLUMNS)
        commands = known.of(schema)
        query = sql.SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "substring(e.state FROM 1 FOR {head}) AS head, c.metadata ->> 'actor' AS actor, "
            "c.metadata ->> 'operation' AS operation FROM {events} e "
            "LEFT JOIN LATERAL (SELECT metadata, first_position FROM {commands} "
            "WHERE position >= e.notification_id ORDER BY position LIMIT 1) c "
            "ON c.first_position <= e.notification_id "
            "WHERE e.notification_id < %s {only} ORDER BY e.notification_id DESC LIMIT %s"
        ).format(head=sql.Literal(_HEAD_BYTES), events=sql.Identifier(schema, EVENTS_TABLE),
                 commands=commands,
                 only=sql.SQL("AND e.originator_id = ANY(%s)" if aggregates is not None
                              else ""))
        params: list[object] = [before if before is not None else 2**62]
        if aggregates is not None:
            params.append(aggregates)
        params.append(limit)
        with database.connection() as conn:
            rows = conn.execute(query, params).fetchall()
        return [LoggedEvent(int(r["notification_id"]), r["originator_id"],
                            int(r["originator_version"]), str(r["topic"]),
                            _timestamp(bytes(r["head"])), r["actor"], r["operation"])
                for r in rows]


def _timestamp(head: bytes) -> datetime | None:
    found = _TIMESTAMP.match(head)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found.group(1).decode())
    except ValueError:
        return None
