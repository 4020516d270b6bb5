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
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from infra import tenant_copy
from infra.eventstore import create_events_table
from tenants.consortium import Consortium
from tenants.errors import TenantFieldInvalidError, TenantMoveError, TenantNotFoundError
from tenants.scope import tenant_schema
from tenants.tenant import ACTIVE, ARCHIVED, SUSPENDED

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


def import_tenant(consortium: Consortium, source: Path | Iterable[str],
                  server: str | None = None, report: Report | None = None) -> RestoreResult:
    """Restores a tenant from its export (a file, or lines that can be read twice) into its
    empty (or lost) store; registers it first when the office does not know it (on `server`,
    or the least-loaded) and gives it back the status it had (suspended, archived).

    The export is streamed twice, a page at a time: a first pass checks every line (nothing
    is written when one is wrong), the second restores."""
    say = report or (lambda _: None)
    lines = _rereadable(source)
    with lines() as first:
        reader = _Lines(first)
        header = reader.header()
        checked = sum(len(batch) for _, batch in reader.batches())
    say(f"checked {checked:,} records of the export")
    slug = str(header["slug"])
    result = RestoreResult(slug, "")
    status = _status(header)
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
        with lines() as second:
            reader = _Lines(second)
            reader.header()
            _restore(conn, schema, reader.batches(), result, say)
    if result.registered and status != ACTIVE:
        _give_back(consortium, slug, status, header)
        say(f"{slug} is {status} again, as when it was exported")
    return result


def _restore(conn: psycopg.Connection[Any], schema: str,
             batches: Iterator[tuple[str, list[Any]]], result: RestoreResult,
             say: Report) -> None:
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


def _status(header: dict[str, Any]) -> str:
    status = str(header.get("status", ACTIVE))
    if status not in (ACTIVE, SUSPENDED, ARCHIVED):
        raise TenantFieldInvalidError(f"export line 1: status {status!r} is not one of "
                                      f"{ACTIVE}, {SUSPENDED}, {ARCHIVED}")
    return status


def _give_back(consortium: Consortium, slug: str, status: str, header: dict[str, Any]) -> None:
    """The status the tenant had when exported, for a tenant registered from its export."""
    if status == SUSPENDED:
        consortium.suspend_tenant(slug, str(header.get("suspension_reason")
                                            or "suspended when it was exported"))
    else:
        consortium.archive_tenant(slug)


def _rereadable(source: Path | Iterable[str]) -> Callable[[], AbstractContextManager[
        Iterable[str] | Iterable[bytes]]]:
    """Opens the export for each pass: a file again (as bytes: each line is decoded on its
    own, so a line that is not UTF-8 is named), lines as they are."""
    if isinstance(source, Path):
        return lambda: source.open("rb")
    if isinstance(source, Iterator):
        raise TypeError("an export is read twice: give its path or a sequence of lines")
    return lambda: nullcontext(source)


def _by_table(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for table, row in rows:
        grouped.setdefault(table, []).append(row)
    return grouped


class _Lines:
    """An export's lines, checked as they are read (errors name the line)."""

    def __init__(self, lines: Iterable[str] | Iterable[bytes]) -> None:
        self._lines: Iterator[str | bytes] = iter(lines)
        self._number = 0
        self._position = 0  # the last event's

    def _read(self) -> str | None:
        self._number += 1
        line = next(self._lines, None)
        if not isinstance(line, bytes):
            return line
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TenantFieldInvalidError(f"export line {self._number}: not UTF-8 "
                                          f"({error.reason})") from None

    def _next(self) -> tuple[int, dict[str, Any]] | None:
        while (line := self._read()) is not None:
            number = self._number
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
            if record["type"] == "event":
                if item[0] <= self._position:
                    raise TenantFieldInvalidError(
                        f"export line {number}: event position {item[0]} does not follow "
                        f"{self._position} (events come in the order of the log)")
                self._position = item[0]
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
