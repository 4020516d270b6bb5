"""Copying one tenant's schema from one PostgreSQL server to another, and checking the copy.

A tenant's schema holds its event log (`events`, whose notification ids are its positions
in every read model and stream, so they are copied as they are) and the tables beside it
(receipts, patron keys, blobs, import jobs, client usage). Tables are made on the target
from the source's own catalog (columns, constraints, indexes), so a table added by a later
version moves too; rows travel by binary COPY.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import sql

from infra.eventstore import COMMANDS_TABLE, EVENTS_TABLE
from infra.idempotency import TABLE as RECEIPTS_TABLE
from infra.servers import MOVING_STATE

Conn = psycopg.Connection[Any]
EVENT_COLUMNS = ("notification_id", "originator_id", "originator_version", "topic", "state")
REFUSE_FUNCTION = "cs_moving"


def tables(conn: Conn, schema: str) -> list[str]:
    """The tables of a schema, by name (none: the schema is not there)."""
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s "
                        "ORDER BY tablename", (schema,)).fetchall()
    return [_first(r) for r in rows]


def row_counts(conn: Conn, schema: str) -> dict[str, int]:
    """How many rows each table of the schema holds."""
    return {table: _first(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
        sql.Identifier(schema, table))).fetchone())
        for table in tables(conn, schema)}


def create_tables_like(source: Conn, target: Conn, schema: str) -> None:
    """Makes on target the schema's tables as source has them (those already there are kept);
    `events` must exist on target first (its id sequence is made with it)."""
    target.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    present = set(tables(target, schema))
    for table in tables(source, schema):
        if table in present:
            continue
        with target.transaction():
            for statement in _definition(source, schema, table):
                target.execute(statement)


def _definition(source: Conn, schema: str, table: str) -> Iterator[sql.Composed | sql.SQL]:
    relation = f"{_quoted(schema)}.{_quoted(table)}"
    columns = source.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", (relation,)).fetchall()
    parts = []
    for name, kind, not_null, default in (tuple(c.values()) if isinstance(c, dict) else c
                                          for c in columns):
        part = sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
        if default is not None and "nextval(" not in default:
            part = sql.SQL("{} DEFAULT {}").format(part, sql.SQL(default))
        if not_null:
            part = sql.SQL("{} NOT NULL").format(part)
        parts.append(part)
    yield sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, table),
                                                  sql.SQL(", ").join(parts))
    for name, definition in _pairs(source.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'c') ORDER BY conname",
            (relation,)).fetchall()):
        yield sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.Identifier(schema, table), sql.Identifier(name), sql.SQL(definition))
    for row in source.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = "
            "%s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = i.indexrelid)", (relation,)).fetchall():
        yield sql.SQL(_first(row))


def copy_events(source: Conn, target: Conn, schema: str, after: int, limit: int) -> int:
    """Copies up to `limit` events past position `after`, as they are; how many."""
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    table = sql.Identifier(schema, EVENTS_TABLE)
    select = sql.SQL("COPY (SELECT {} FROM {} WHERE notification_id > {} "
                     "ORDER BY notification_id LIMIT {}) TO STDOUT (FORMAT binary)").format(
        columns, table, sql.Literal(after), sql.Literal(limit))
    insert = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(table, columns)
    with target.transaction():
        _stream(source, target, select, insert)
    return int(_first(target.execute(sql.SQL(
        "SELECT count(*) FROM {} WHERE notification_id > %s").format(table),
        (after,)).fetchone()))


def last_position(conn: Conn, schema: str) -> int:
    """The last notification id of the schema's log (0: empty)."""
    return int(_first(conn.execute(sql.SQL(
        "SELECT coalesce(max(notification_id), 0) FROM {}").format(
            sql.Identifier(schema, EVENTS_TABLE))).fetchone()))


def copy_table(source: Conn, target: Conn, schema: str, table: str) -> int:
    """Replaces the target table's rows with the source's (columns by name); the rows."""
    names = [_first(r) for r in source.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        (f"{_quoted(schema)}.{_quoted(table)}",)).fetchall()]
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    identifier = sql.Identifier(schema, table)
    with target.transaction():
        target.execute(sql.SQL("DELETE FROM {}").format(identifier))
        _stream(source, target,
                sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)").format(
                    columns, identifier),
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(identifier, columns))
    return int(_first(target.execute(sql.SQL("SELECT count(*) FROM {}").format(
        identifier)).fetchone()))


def _stream(source: Conn, target: Conn, select: sql.Composed, insert: sql.Composed) -> None:
    with source.cursor().copy(select) as out, target.cursor().copy(insert) as into:
        for data in out:
            into.write(data)


def continue_sequence(source: Conn, target: Conn, schema: str) -> None:
    """The target's next notification id follows the source's last one (ids never reused)."""
    relation = f"{_quoted(schema)}.{_quoted(EVENTS_TABLE)}"
    sequence = _first(source.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')",
                                     (relation,)).fetchone())
    last = _first(source.execute(sql.SQL("SELECT last_value FROM {}").format(
        sql.SQL(sequence))).fetchone())
    set_sequence(target, schema, int(last))


def set_sequence(conn: Conn, schema: str, last: int) -> None:
    """The schema's next notification id comes after `last`."""
    relation = f"{_quoted(schema)}.{_quoted(EVENTS_TABLE)}"
    conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                 (relation, max(last, 1)))


def refuse_writes(conn: Conn, schema: str, message: str) -> None:
    """From now on every write to the schema's tables fails with SQLSTATE CSMOV (writers
    look again for where the tenant lives); returns once writes in flight have committed
    (making a trigger waits for them)."""
    function = sql.Identifier(schema, REFUSE_FUNCTION)
    # Locks are taken in the order an append takes them (receipt, events, its metadata), so
    # an append in flight finishes first instead of deadlocking with the move.
    first = {RECEIPTS_TABLE: 0, EVENTS_TABLE: 1, COMMANDS_TABLE: 2}
    with conn.transaction():
        conn.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $refuse$ "
            "BEGIN RAISE EXCEPTION USING ERRCODE = {}, MESSAGE = {}; END $refuse$").format(
                function, sql.Literal(MOVING_STATE), sql.Literal(message)))
        for table in sorted(tables(conn, schema), key=lambda t: (first.get(t, 3), t)):
            conn.execute(sql.SQL(
                "CREATE OR REPLACE TRIGGER {} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
                "ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(
                    sql.Identifier(REFUSE_FUNCTION), sql.Identifier(schema, table), function))


def allow_writes(conn: Conn, schema: str) -> None:
    """Undoes refuse_writes (a move given up)."""
    with conn.transaction():
        for table in tables(conn, schema):
            conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                sql.Identifier(REFUSE_FUNCTION), sql.Identifier(schema, table)))
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(
            sql.Identifier(schema, REFUSE_FUNCTION)))


def compare_events(source: Conn, target: Conn, schema: str, batch: int = 5000,
                   progress: Callable[[int], None] | None = None, *, after: int = 0,
                   upto: int | None = None) -> int:
    """Compares the two logs event for event (position, aggregate, version, topic, state)
    past position `after` (up to `upto`, or to the end); how many matched. Raises
    CopyMismatchError at the first difference."""
    matched = 0
    statement = sql.SQL("SELECT {} FROM {} WHERE notification_id > %s "
                        "AND notification_id <= %s ORDER BY notification_id LIMIT %s").format(
        sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS)),
        sql.Identifier(schema, EVENTS_TABLE))
    while True:
        bounds = (after, upto if upto is not None else 2**63 - 1, batch)
        ours = [_values(r) for r in source.execute(statement, bounds).fetchall()]
        theirs = [_values(r) for r in target.execute(statement, bounds).fetchall()]
        for mine, copied in zip(ours, theirs, strict=False):
            if mine != copied:
                raise CopyMismatchError(f"{schema}: the event at position {mine[0]} differs "
                                        "in the copy")
            matched += 1
        if len(ours) != len(theirs):
            raise CopyMismatchError(f"{schema}: the copy has {len(theirs)} events after "
                                    f"position {after} where the original has {len(ours)}")
        if progress is not None:
            progress(matched)
        if len(ours) < batch:
            return matched
        after = int(ours[-1][0])


class CopyMismatchError(RuntimeError):
    """A tenant's copy is not the same, event for event, as its original."""


def drop_schema(conn: Conn, schema: str) -> None:
    """Drops the schema and everything in it."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def table_definitions(conn: Conn, schema: str) -> dict[str, list[str]]:
    """The statements that make each table of the schema but `events`, as text."""
    return {table: [statement.as_string(conn) for statement in _definition(conn, schema, table)]
            for table in tables(conn, schema) if table != EVENTS_TABLE}


def rows_as_json(conn: Conn, schema: str, table: str) -> Iterator[str]:
    """Each row of the table as a JSON object (bytea as PostgreSQL's hex text)."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(
            sql.Identifier(schema, table)))
        for row in cur:
            yield str(_first(row))


def create_tables(conn: Conn, schema: str, definitions: dict[str, list[str]]) -> None:
    """Makes tables from `table_definitions` (those already there are kept)."""
    present = set(tables(conn, schema))
    for table, statements in definitions.items():
        if table not in present:
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement.encode())


def insert_json_rows(conn: Conn, schema: str, table: str, rows: list[str]) -> int:
    """Inserts rows given as `rows_as_json` gave them; how many."""
    identifier = sql.Identifier(schema, table)
    with conn.transaction():
        for row in rows:
            conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM json_populate_record("
                                 "NULL::{}, %s::json)").format(identifier, identifier), (row,))
    return len(rows)


def insert_events(conn: Conn, schema: str, events: list[tuple[Any, ...]]) -> None:
    """Inserts events as they were: (position, aggregate id, version, topic, state)."""
    columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
    with conn.transaction(), conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(schema, EVENTS_TABLE), columns)) as into:
        for event in events:
            into.write_row(event)


def delete_tenant_rows(conn: Conn, schemas: tuple[str, ...], tenant: str) -> dict[str, int]:
    """Deletes, in every table of these schemas that has a `tenant` column, the tenant's rows;
    how many went, by table (tables that had none: absent)."""
    removed: dict[str, int] = {}
    for schema, table in (_values(r) for r in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.columns WHERE "
            "column_name = 'tenant' AND table_schema = ANY(%s) ORDER BY 1, 2",
            (list(schemas),)).fetchall()):
        count = conn.execute(sql.SQL("DELETE FROM {} WHERE tenant = %s").format(
            sql.Identifier(schema, table)), (tenant,)).rowcount
        if count:
            removed[f"{schema}.{table}"] = count
    return removed


def forget_outbox(conn: Conn, tenant: str) -> int:
    """Deletes the tenant's ISO 18626 messages in the office's outbox (sent or still to
    send: a deleted library sends nothing more); how many went."""
    if not _first(conn.execute("SELECT to_regclass('office.ill_outbox') IS NOT NULL"
                               ).fetchone()):
        return 0
    return conn.execute("DELETE FROM office.ill_outbox WHERE tenant = %s", (tenant,)).rowcount


def forget_relay_position(conn: Conn, schema: str) -> int:
    """Forgets how far the relay got in the schema's log; 1 if it had got anywhere."""
    if not _first(conn.execute("SELECT to_regclass('relay.positions') IS NOT NULL").fetchone()):
        return 0
    return conn.execute("DELETE FROM relay.positions WHERE log = %s", (schema,)).rowcount


def _values(row: Any) -> tuple[Any, ...]:
    values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)


def _pairs(rows: list[Any]) -> list[tuple[str, str]]:
    return [(str(v[0]), str(v[1])) for v in map(_values, rows)]


def _first(row: Any) -> Any:
    if row is None:
        raise LookupError("the query returned no row")
    return _values(row)[0]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
