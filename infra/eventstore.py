"""Event stores for many tenants on one bounded connection pool.

eventsourcing gives every Application its own pool by default (FIELD-NOTES: 6 connections
each). Here every Application addresses its own PostgreSQL schema through the process's
one shared pool: a tenant's events stay apart in `<schema>.events`, and the number of
connections a process holds is the pool size, however many tenants it serves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    BaseInfrastructureFactory,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType, retry
from psycopg import sql

from infra.command_metadata import current_metadata
from infra.database import DDL_LOCK_KEY, Database
from infra.idempotency import TABLE as RECEIPTS_TABLE
from infra.idempotency import Receipt
from infra.servers import PlacedDatabase, moving

EVENTS_TABLE = "events"
COMMANDS_TABLE = "commands"  # beside each log: what each append was asked for
COMMANDS_COLUMNS = ("position bigint PRIMARY KEY, first_position bigint NOT NULL, "
                    "metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now()")
EVENTS_CHANNEL = "commonshelf_events"  # notified on every append: the relay wakes on it
APPEND_FUNCTION = "cs_append"
_DATABASE_KEY = "COMMONSHELF_DATABASE"
_SCHEMA_KEY = "COMMONSHELF_SCHEMA"
_LOCK_TIMEOUT_KEY = "COMMONSHELF_LOCK_TIMEOUT"

T = TypeVar("T")
_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()
_appended = threading.local()  # the positions a command running in this thread appended


def appends_of(command: Callable[[], T]) -> tuple[T, dict[str, int]]:
    """Runs a command in this thread; its result and, per schema it appended to (a command
    may write to its tenant's log and the office's), the position of its last append."""
    outer = getattr(_appended, "positions", None)
    _appended.positions = {}
    try:
        result = command()
        return result, _appended.positions
    finally:
        if outer is not None:
            outer.update(_appended.positions)
        _appended.positions = outer


def application_env(database: Database, schema: str, lock_timeout_s: int = 5) -> dict[str, str]:
    """The environment that makes an eventsourcing Application store its events in `schema`."""
    key = f"db{id(database)}"
    with _databases_lock:
        _databases[key] = database
    return {
        "PERSISTENCE_MODULE": f"{__name__}:SharedPoolFactory",
        _DATABASE_KEY: key,
        _SCHEMA_KEY: schema,
        _LOCK_TIMEOUT_KEY: str(lock_timeout_s),
        "CREATE_TABLE": "n",
    }


class SchemaDatastore(PostgresDatastore):
    """A datastore for one schema that borrows connections from the shared pool."""

    def __init__(self, database: Database, schema: str, lock_timeout_s: int) -> None:
        # Deliberately not calling super().__init__: it would open a pool of its own.
        self.database = database
        self.idle_in_transaction_session_timeout = 0
        self.pre_ping = False
        self.pool_open_timeout = None
        self.single_row_tracking = True
        self.lock_timeout = lock_timeout_s
        self.schema = schema
        self.originator_id_type = "uuid"
        self.enable_db_functions = False
        self.db_type_names = set()
        self.psycopg_type_adapters = {}
        self.psycopg_python_types = {}
        database.open()

    @property
    def pool(self) -> Any:  # type: ignore[override]
        """The pool of the server the schema lives on now (a tenant may move)."""
        return self.database.pool

    def register_type_adapters(self) -> None:
        """Nothing to register: our recorder inserts events as plain arrays, not rows of a
        composite type."""

    def close(self) -> None:
        """The pool belongs to the process, not to one schema: nothing to close here."""


class TenantEventsRecorder(PostgresApplicationRecorder):
    """The recorder of `<schema>.events`.

    An append is one call of the schema's `cs_append` function, in one round trip and one
    implicit transaction: it writes the command's receipt (its answer under an idempotency
    key) if it has one, locks the table so notification ids commit in order, notifies the
    relay with the schema's name, and inserts the events, sent as four binary arrays (no
    composite row type, which the library makes per schema and which clashes on pooled
    connections serving every schema). The library's own path sends seven statements in a
    pipeline and a transaction around them. Unlike the library's optional database
    functions, which skip the table lock and let a tailing reader miss events
    (FIELD-NOTES), this one takes it: the lock holds until the call's transaction commits.
    """

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        schema = datastore.schema
        self.channel_name = f"{schema}_{EVENTS_TABLE}"
        self._append_ready = False
        self._append_statement = sql.SQL(
            "SELECT * FROM {}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], "
            "%s, %s, %s::jsonb, %s::text, %s::jsonb) AS notification_id"
        ).format(sql.Identifier(schema, APPEND_FUNCTION)).as_bytes(None)
        self._create_append = sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], "
            "topics text[], states bytea[], receipt_key text, receipt_operation text, "
            "receipt_answer jsonb, receipt_fingerprint text, command jsonb) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $append$ "
            "DECLARE appended bigint[]; "
            "BEGIN "
            "IF receipt_key IS NOT NULL THEN "
            "INSERT INTO {receipts} (key, operation, answer, fingerprint) "
            "VALUES (receipt_key, receipt_operation, receipt_answer, receipt_fingerprint); "
            "END IF; "
            "PERFORM set_config('lock_timeout', {timeout}, true); "
            "LOCK TABLE {events} IN EXCLUSIVE MODE; "
            "PERFORM pg_notify({channel}, {schema}); "
            "WITH inserted AS (INSERT INTO {events} (originator_id, originator_version, topic, "
            "state) SELECT * FROM unnest(ids, versions, topics, states) "
            "RETURNING notification_id) SELECT array_agg(notification_id ORDER BY "
            "notification_id) INTO appended FROM inserted; "
            "IF command IS NOT NULL THEN "
            "INSERT INTO {commands} (position, first_position, metadata) "
            "VALUES (appended[cardinality(appended)], appended[1], command); "
            "END IF; "
            "RETURN QUERY SELECT unnest(appended); "
            "END $append$"
        ).format(function=sql.Identifier(schema, APPEND_FUNCTION),
                 commands=sql.Identifier(schema, COMMANDS_TABLE),
                 receipts=sql.Identifier(schema, RECEIPTS_TABLE),
                 events=sql.Identifier(schema, EVENTS_TABLE),
                 timeout=sql.Literal(f"{datastore.lock_timeout}s"),
                 channel=sql.Literal(EVENTS_CHANNEL), schema=sql.Literal(schema))
        # What each append was asked for (command metadata): its last position, first, facts.
        self._create_commands = sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            sql.Identifier(schema, COMMANDS_TABLE), sql.SQL(COMMANDS_COLUMNS))
        # Composed once: psycopg renders a composed statement anew on every execute.
        self._select_events_of = sql.SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS held(id, version) "
            "JOIN {} AS e ON e.originator_id = held.id AND e.originator_version > held.version "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(sql.Identifier(schema, EVENTS_TABLE)).as_bytes(None)
        self.sql_create_statements = [
            statement
            for statement in self.sql_create_statements
            if not statement.as_string().startswith(("CREATE TYPE", "CREATE OR REPLACE FUNCTION"))
        ] + [self._create_commands, self._create_append]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      receipt: Receipt | None = None, **_: Any) -> Sequence[int] | None:
        """Appends the events (and the receipt) atomically; their notification ids."""
        if not stored_events:
            return []
        answer = None if receipt is None else json.dumps(receipt.answer)
        arguments = ([e.originator_id for e in stored_events],
                     [e.originator_version for e in stored_events],
                     [e.topic for e in stored_events], [e.state for e in stored_events],
                     receipt and receipt.key, receipt and receipt.operation, answer,
                     receipt and receipt.fingerprint,
                     json.dumps(metadata) if (metadata := current_metadata()) else None)
        started = time.monotonic()
        while True:
            try:
                self._ensure_append()  # before the connection: it may need one
                with self.datastore.get_connection() as conn:
                    rows = conn.execute(self._append_statement, arguments).fetchall()
                break
            except PersistenceError as error:
                # The tenant's old copy refuses writes while it moves (or is gone): the same
                # events go to its new server once the move switched it.
                database = getattr(self.datastore, "database", None)
                if not (moving(error) and isinstance(database, PlacedDatabase)):
                    raise
                database.wait_moved(started)
                self._append_ready = False  # the new copy: its function made once more
        ids = [int(row["notification_id"]) for row in rows]
        appended = getattr(_appended, "positions", None)
        if appended is not None:
            appended[self.datastore.schema] = max(ids, default=0)
        return ids

    def position_after(self, command: Callable[[], T]) -> tuple[T, int]:
        """Runs a command in this thread; its result and the log's position a reader must
        reach to see it: that of the command's own last append, or (it appended nothing)
        the log's last, read once more."""
        result, appended = appends_of(command)
        position = appended.get(self.datastore.schema) or self.max_notification_id() or 0
        return result, position

    def _ensure_append(self) -> None:
        """Stores made by an earlier version lack the function: (re)created on a recorder's
        first append (a few per tenant and process), under the DDL lock."""
        if not self._append_ready:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
                curs.execute(self._create_commands)
                curs.execute(self._create_append)
            self._append_ready = True

    def select_events_of(self, originator_ids: Sequence[UUID],
                         after: Mapping[UUID, int] | None = None) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates in one query: an import looks up a whole batch, a
        desk command everything it decides on. `after` gives, for aggregates already held,
        the version held: only later events come back for them."""
        held = after or {}
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(self._select_events_of, (
                list(originator_ids), [held.get(i, 0) for i in originator_ids]))
            for row in cur.fetchall():
                found.setdefault(row["originator_id"], []).append(StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"], state=bytes(row["state"])))
        return found

    def create_table(self) -> None:
        """Creates the table and its index, under the DDL advisory lock: processes that
        start together would otherwise race in PostgreSQL's catalog."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for statement in self.sql_create_statements:
                curs.execute(statement, prepare=False)


class SharedPoolFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, bound to a schema and the shared pool."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        # BasePostgresFactory.__init__ would build a pool of its own: skip to its base.
        BaseInfrastructureFactory.__init__(self, env)
        key = self.env.get(_DATABASE_KEY)
        schema = self.env.get(_SCHEMA_KEY)
        if not key or key not in _databases or not schema:
            raise OSError("SharedPoolFactory needs the environment from application_env()")
        lock_timeout = int(self.env.get(_LOCK_TIMEOUT_KEY) or "5")
        self.datastore = SchemaDatastore(_databases[key], schema, lock_timeout)

    def application_recorder(self) -> ApplicationRecorder:
        """The recorder of the schema's one events table."""
        recorder = TenantEventsRecorder(self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def close(self) -> None:
        """Leaves the shared pool open for the process's other applications."""


def create_events_table(database: Database, schema: str) -> None:
    """Creates `<schema>.events` and its index (the schema must exist)."""
    TenantEventsRecorder(SchemaDatastore(database, schema, 5)).create_table()


