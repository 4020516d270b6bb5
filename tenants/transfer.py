"""A tenant's export as a file, and its restore from one.

The export is JSON lines: the tenant's header and every event of its log in order (as
`Consortium.export` gives them), then each table beside the log (receipts, patron keys,
blobs, import jobs, client usage) with its definition and its rows. Patron keys stay wrapped
by the key-encryption key: a restore needs the same key. A restore refills a tenant's store
that is empty or gone (its server lost) with exactly the events it had, at the same
positions, so the read models and the stream, which know those positions, stay right.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from infra import tenant_copy
from infra.eventstore import create_events_table
from tenants.consortium import Consortium
from tenants.errors import TenantFieldInvalidError, TenantMoveError, TenantNotFoundError
from tenants.scope import tenant_schema

Report = Callable[[str], None]
PAGE = 5000


@dataclass
class RestoreResult:
    """What a restore put back."""

    slug: str
    server: str
    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    registered: bool = False  # the office had no such tenant: registered from the export


def export_tenant(consortium: Consortium, slug: str) -> Iterator[str]:
    """The tenant's whole export, line by line."""
    yield from consortium.export(slug)
    database = consortium.placement.database(slug)
    schema = tenant_schema(slug)
    with psycopg.connect(database.url, autocommit=True) as conn:
        for table, statements in tenant_copy.table_definitions(conn, schema).items():
            yield json.dumps({"type": "table", "table": table, "definition": statements})
            for row in tenant_copy.rows_as_json(conn, schema, table):
                yield f'{{"type": "row", "table": {json.dumps(table)}, "row": {row}}}'


def import_tenant(consortium: Consortium, lines: Iterable[str], server: str | None = None,
                  report: Report | None = None) -> RestoreResult:
    """Restores a tenant from its export into its empty (or lost) store; registers it first
    when the office does not know it (on `server`, or the least-loaded)."""
    say = report or (lambda _: None)
    reader = _Lines(lines)
    header = reader.header()
    batches = list(reader.batches())  # every line checked before anything is written
    slug = str(header["slug"])
    result = RestoreResult(slug, "")
    try:
        consortium.office.get_tenant(slug)
    except TenantNotFoundError:
        consortium.register_tenant(slug, str(header["name"]), header.get("isil"),
                                   server=server)
        result.registered = True
    result.server = consortium.placement.server_of(slug, fresh=True)
    schema = tenant_schema(slug)
    database = consortium.servers.get(result.server)
    database.create_schema(schema)
    create_events_table(database, schema)
    with psycopg.connect(database.url, autocommit=True) as conn:
        if tenant_copy.last_position(conn, schema) and not result.registered:
            raise TenantMoveError(f"{slug} has events on {result.server}: a restore only "
                                  "refills an empty store (delete it first, or restore "
                                  "under a new server)")
        last = 0
        for kind, batch in batches:
            if kind == "event":
                tenant_copy.insert_events(conn, schema, batch)
                result.events += len(batch)
                last = int(batch[-1][0])
                say(f"restored {result.events:,} events")
            elif kind == "table":
                tenant_copy.create_tables(conn, schema, dict(batch))
            else:
                for table, rows in _by_table(batch).items():
                    result.rows[table] = result.rows.get(table, 0) + tenant_copy.insert_json_rows(
                        conn, schema, table, rows)
        tenant_copy.set_sequence(conn, schema, last)
    return result


def _by_table(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for table, row in rows:
        grouped.setdefault(table, []).append(row)
    return grouped


class _Lines:
    """An export's lines, checked as they are read (errors name the line)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = enumerate(lines, start=1)

    def _next(self) -> tuple[int, dict[str, Any]] | None:
        for number, line in self._lines:
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except ValueError as error:
                raise TenantFieldInvalidError(f"export line {number}: not JSON ({error})") \
                    from None
            if not isinstance(parsed, dict) or "type" not in parsed:
                raise TenantFieldInvalidError(f"export line {number}: not an export record")
            return number, parsed
        return None

    def header(self) -> dict[str, Any]:
        found = self._next()
        if found is None or found[1]["type"] != "tenant" or "slug" not in found[1]:
            raise TenantFieldInvalidError("export line 1: the tenant header is missing")
        return found[1]

    def batches(self) -> Iterator[tuple[str, list[Any]]]:
        """Consecutive records of one kind, in pages: events as rows to insert, tables as
        (name, definition), rows as (table, JSON)."""
        kind, batch = "", []  # type: tuple[str, list[Any]]
        while (found := self._next()) is not None:
            number, record = found
            try:
                item = _item(record)
            except (KeyError, TypeError, ValueError) as error:
                raise TenantFieldInvalidError(
                    f"export line {number}: a {record['type']} record is malformed ({error})"
                ) from None
            if record["type"] != kind or len(batch) >= PAGE:
                if batch:
                    yield kind, batch
                kind, batch = record["type"], []
            batch.append(item)
        if batch:
            yield kind, batch


def _item(record: dict[str, Any]) -> Any:
    if record["type"] == "event":
        state = record["state"]
        raw = (bytes.fromhex(state["hex"]) if isinstance(state, dict) and set(state) == {"hex"}
               else json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())
        return (int(record["position"]), UUID(record["originator_id"]),
                int(record["originator_version"]), str(record["topic"]), raw)
    if record["type"] == "table":
        return str(record["table"]), [str(s) for s in record["definition"]]
    if record["type"] == "row":
        return str(record["table"]), json.dumps(record["row"])
    raise ValueError(f"unknown record type {record['type']!r}")
