"""Event stores for many tenants on one bounded connection pool.

eventsourcing gives every Application its own pool by default (FIELD-NOTES: 6 connections
each). Here every Application addresses its own PostgreSQL schema through the process's
one shared pool: a tenant's events stay apart in `<schema>.events`, and the number of
connections a process holds is the pool size, however many tenants it serves.
"""

from __future__ import annotations

import threading

from eventsourcing.persistence import ApplicationRecorder, BaseInfrastructureFactory
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import sql
from psycopg.types.composite import CompositeInfo, register_composite

from infra.database import DDL_LOCK_KEY, Database

EVENTS_TABLE = "events"
TYPES_SCHEMA = "eventstore"
_DATABASE_KEY = "COMMONSHELF_DATABASE"
_SCHEMA_KEY = "COMMONSHELF_SCHEMA"
_LOCK_TIMEOUT_KEY = "COMMONSHELF_LOCK_TIMEOUT"

_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


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
        self.pool = database.pool  # type: ignore[assignment]

    def register_type_adapters(self) -> None:
        """Registers the composite row type, which every schema shares (see TYPES_SCHEMA)."""
        missing = [n for n in self.db_type_names if n not in self.psycopg_type_adapters]
        if not missing:
            return
        with self.get_connection() as conn:
            for name in missing:
                info = CompositeInfo.fetch(conn, f"{TYPES_SCHEMA}.{name}")
                if info is None:
                    continue
                register_composite(info, conn)
                self.psycopg_type_adapters[name] = info
                self.psycopg_python_types[name] = info.python_type

    def close(self) -> None:
        """The pool belongs to the process, not to one schema: nothing to close here."""


class TenantEventsRecorder(PostgresApplicationRecorder):
    """The recorder of `<schema>.events`, notifying on a channel named after its schema."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        # The library names the channel after the table alone; every schema has an
        # `events` table, so without this one tenant's writes would wake all listeners.
        self.channel_name = f"{datastore.schema}_{EVENTS_TABLE}"
        # Pooled connections serve every schema, so the composite row type used for
        # batched inserts must be one type, not one per schema: it lives in TYPES_SCHEMA.
        row_type = sql.Identifier(TYPES_SCHEMA, self.stored_event_type_name)
        self.insert_events_statement = sql.SQL(
            "INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%s::{row_type}[]) RETURNING notification_id"
        ).format(table=sql.Identifier(datastore.schema, EVENTS_TABLE), row_type=row_type)
        self.sql_create_statements = [
            statement
            for statement in self.sql_create_statements
            if not statement.as_string().startswith(("CREATE TYPE", "CREATE OR REPLACE FUNCTION"))
        ]
        self.sql_create_statements.insert(
            0,
            sql.SQL(
                "CREATE TYPE {row_type} AS (originator_id uuid, originator_version bigint, "
                "topic text, state bytea)"
            ).format(row_type=row_type),
        )

    def create_table(self) -> None:
        """Creates the row type (once, for all schemas), the table and its index.

        In one transaction under the DDL advisory lock: processes that start together
        would otherwise race in PostgreSQL's catalog (the library only forgives an
        existing type, not a concurrent CREATE TYPE).
        """
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            row = curs.execute("SELECT to_regtype(%s) AS found",
                               (f"{TYPES_SCHEMA}.{self.stored_event_type_name}",)).fetchone()
            type_exists = row is not None and row["found"] is not None
            for statement in self.sql_create_statements:
                if type_exists and statement.as_string().startswith("CREATE TYPE"):
                    continue
                curs.execute(statement, prepare=False)
        self.datastore.register_type_adapters()


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
    database.create_schema(TYPES_SCHEMA)
    TenantEventsRecorder(SchemaDatastore(database, schema, 5)).create_table()


