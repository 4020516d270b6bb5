"""A log's history as the audit trail shows it: each event's position, aggregate, event type
and time, and who issued the command that recorded it (`<schema>.command_log`). Never an
event's payload: patrons' data stays out of the trail."""

from __future__ import annotations

import re
import uuid
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

    def __init__(self, database: Database) -> None:
        self.database = database
        self._commands = TenantTable(database, COMMANDS_TABLE, COMMANDS_COLUMNS)

    def events(self, schema: str, limit: int, before: int | None = None,
               aggregates: list[uuid.UUID] | None = None) -> list[LoggedEvent]:
        """Up to `limit` events before position `before`, of these aggregates (None: all)."""
        commands = self._commands.of(schema)
        query = sql.SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "substring(e.state FROM 1 FOR {head}) AS head, c.actor, c.operation FROM {events} e "
            "LEFT JOIN LATERAL (SELECT actor, operation, first_position FROM {commands} "
            "WHERE last_position >= e.notification_id ORDER BY last_position LIMIT 1) c "
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
        with self.database.connection() as conn:
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
