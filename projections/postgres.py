"""The projections' shared tables: what each projection applied, per tenant."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor, sql

from infra.database import DDL_LOCK_KEY

SCHEMA = "projections"


def create_tracking(cur: Cursor[Any]) -> None:
    """Creates the schema and the tracking table once, under the DDL lock: processes
    starting together would otherwise race in PostgreSQL's catalog."""
    with cur.connection.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS projections.tracking (projection text NOT NULL, "
            "generation int NOT NULL, tenant text NOT NULL, position bigint NOT NULL, "
            "PRIMARY KEY (projection, generation, tenant))"
        )
        create_generations(cur)


def lock_positions(cur: Cursor[Any], projection: str, generation: int,
                   tenants: set[str]) -> dict[str, int]:
    """The tenants' applied positions, locked until the transaction ends.

    Rows are created first and locked in one order, so concurrent workers queue behind
    each other instead of deadlocking or both reading "nothing applied yet".
    """
    ordered = sorted(tenants)
    cur.execute(
        "INSERT INTO projections.tracking (projection, generation, tenant, position) "
        "SELECT %s, %s, tenant, 0 FROM unnest(%s::text[]) AS tenant "
        "ON CONFLICT DO NOTHING", (projection, generation, ordered))
    rows = cur.execute(
        "SELECT tenant, position FROM projections.tracking WHERE projection = %s "
        "AND generation = %s AND tenant = ANY(%s) ORDER BY tenant FOR UPDATE",
        (projection, generation, ordered)).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def track(cur: Cursor[Any], projection: str, generation: int, tenant: str, position: int) -> None:
    """Records the position applied, in the caller's transaction."""
    cur.execute(
        "INSERT INTO projections.tracking (projection, generation, tenant, position) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, generation, tenant) "
        "DO UPDATE SET position = EXCLUDED.position", (projection, generation, tenant, position))


def positions(cur: Cursor[Any], projection: str, generation: int) -> dict[str, int]:
    """Every tenant's applied position for a projection generation."""
    rows = cur.execute(
        "SELECT tenant, position FROM projections.tracking WHERE projection = %s "
        "AND generation = %s", (projection, generation)).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def events_after(cur: Cursor[Any], schema: str, position: int) -> int:
    """How many events of a log lie beyond a position: a projection's lag for that tenant."""
    row = cur.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE notification_id > %s").format(
            sql.Identifier(schema, "events")), (position,)).fetchone()
    return int(row[0]) if row else 0


def event_logs(cur: Cursor[Any]) -> list[str]:
    """The schemas that hold an event log."""
    rows = cur.execute(
        "SELECT schemaname FROM pg_tables WHERE tablename = 'events' ORDER BY schemaname"
    ).fetchall()
    return [str(r[0]) for r in rows]


def create_generations(cur: Cursor[Any]) -> None:
    """The table that says which generation of each projection serves queries."""
    cur.execute(
        "CREATE TABLE IF NOT EXISTS projections.generations "
        "(projection text PRIMARY KEY, generation int NOT NULL)")


def tracked_generations(cur: Cursor[Any], projection: str) -> list[int]:
    """The generations of a projection that applied anything (the serving one and any
    being rebuilt)."""
    if not (row := cur.execute("SELECT to_regclass('projections.tracking') IS NOT NULL"
                               ).fetchone()) or not row[0]:
        return []
    return [int(r[0]) for r in cur.execute(
        "SELECT DISTINCT generation FROM projections.tracking WHERE projection = %s "
        "ORDER BY 1", (projection,)).fetchall()]


def active_generation(cur: Cursor[Any], projection: str) -> int:
    """The generation that serves queries (1 until a rebuild switches it)."""
    row = cur.execute("SELECT generation FROM projections.generations WHERE projection = %s",
                      (projection,)).fetchone()
    return int(row[0]) if row else 1


def active_generations(cur: Cursor[Any], projections: list[str]) -> dict[str, int]:
    """`active_generation` of several projections, in one query."""
    rows = cur.execute("SELECT projection, generation FROM projections.generations "
                       "WHERE projection = ANY(%s)", (projections,)).fetchall()
    serving = {str(r[0]): int(r[1]) for r in rows}
    return {name: serving.get(name, 1) for name in projections}


def switch_generation(cur: Cursor[Any], projection: str, generation: int) -> None:
    """Makes a rebuilt generation the one that serves."""
    cur.execute(
        "INSERT INTO projections.generations (projection, generation) VALUES (%s, %s) "
        "ON CONFLICT (projection) DO UPDATE SET generation = EXCLUDED.generation",
        (projection, generation))


def drop_generation(cur: Cursor[Any], projection: str, generation: int, tables: list[str]) -> None:
    """Drops a retired generation's tables and tracking."""
    for table in tables:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, table)))
    cur.execute("DELETE FROM projections.tracking WHERE projection = %s AND generation = %s",
                (projection, generation))


def read_log(cur: Cursor[Any], schema: str, after: int, limit: int) -> list[tuple[Any, ...]]:
    """A page of one event log: (position, originator id, version, topic, state)."""
    return cur.execute(sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(schema, "events")), (after, limit)).fetchall()


def log_size(cur: Cursor[Any], schema: str) -> int:
    """How many events a log holds."""
    row = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
        sql.Identifier(schema, "events"))).fetchone()
    return int(row[0]) if row else 0


def applied_position(cur: Cursor[Any], projection: str, tenant: str) -> int:
    """The position the serving generation of a projection has applied for a tenant."""
    row = cur.execute(
        "SELECT t.position FROM projections.tracking t WHERE t.projection = %s AND t.tenant = %s "
        "AND t.generation = COALESCE((SELECT generation FROM projections.generations g "
        "WHERE g.projection = t.projection), 1)", (projection, tenant)).fetchone()
    return int(row[0]) if row else 0


APPLIED_CHANNEL = "commonshelf_applied"  # notified when a projection commits a batch


def notify_applied(cur: Cursor[Any]) -> None:
    """Tells read-your-writes waiters that positions moved (delivered at commit)."""
    cur.execute(f"NOTIFY {APPLIED_CHANNEL}")


def applied_positions(cur: Cursor[Any], keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The serving generations' positions for many (projection, tenant) pairs at once."""
    rows = cur.execute(
        "SELECT t.projection, t.tenant, t.position FROM projections.tracking t "
        "JOIN unnest(%s::text[], %s::text[]) AS k(projection, tenant) "
        "ON k.projection = t.projection AND k.tenant = t.tenant "
        "WHERE t.generation = COALESCE((SELECT generation FROM projections.generations g "
        "WHERE g.projection = t.projection), 1)",
        ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}
