"""MARC import: a file's records into a tenant's catalog, in batches, with a summary.

Shared by `commonshelf catalog import` and `POST /catalog/imports`. Records that cannot be
read, or have no title, are skipped and reported with their number and byte offset; every
other record is imported. Each batch is one atomic write, so a failure loses nothing that
was imported before it and half-writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol
from uuid import UUID

from domain.catalog.application import CREATED, UNCHANGED, UPDATED, Catalog, ImportEntry
from domain.catalog.holdings import HoldingsField, holdings
from domain.shared.description import Description, describe
from domain.shared.text import without_controls
from infra.command_metadata import command_metadata
from infra.import_jobs import HEARTBEAT_S
from infra.marc import MarcFormatError, MarcRead, detect_format, read_marc
from tenants.scope import TenantScope

log = logging.getLogger(__name__)

BATCH = 500
MAX_ERRORS = 1000  # listed; every skipped record is still counted


@dataclass
class ImportSummary:
    """What an import did; `errors` names each record skipped, `warnings` each item of an
    imported record that was not added (its record, offset, and which holdings field)."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    items_added: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The summary as the CLI and the REST API print it."""
        return asdict(self)


Progress = Callable[[int, ImportSummary], None]  # bytes read so far, the summary so far


class MarcImport:
    """Imports one file into one tenant's catalog."""

    def __init__(self, catalog: Catalog, progress: Progress | None = None,
                 batch: int = BATCH) -> None:
        self.catalog = catalog
        self.progress = progress
        self.batch = batch
        self.summary = ImportSummary()
        self._pending: list[tuple[MarcRead, list[HoldingsField], ImportEntry]] = []

    def run(self, stream: IO[bytes], fmt: str = "auto") -> ImportSummary:
        """Reads and imports every record; MarcFormatError if the file is not MARC at all."""
        last_offset = 0
        for read in read_marc(stream, fmt):
            self.summary.read += 1
            last_offset = read.offset
            self._take(read)
            if len(self._pending) >= self.batch:
                self._flush(last_offset)
        self._flush(stream.tell())
        return self.summary

    def _note(self, read: MarcRead, reason: str) -> None:
        if len(self.summary.errors) < MAX_ERRORS:
            self.summary.errors.append({"record": read.number, "offset": read.offset,
                                        "reason": reason})

    def _warn(self, read: MarcRead, source: HoldingsField, reason: str) -> None:
        if len(self.summary.warnings) < MAX_ERRORS:
            self.summary.warnings.append({"record": read.number, "offset": read.offset,
                                          "field": source.tag,
                                          "occurrence": source.occurrence, "reason": reason})

    def _skip(self, read: MarcRead, reason: str) -> None:
        self.summary.skipped += 1
        self._note(read, reason)

    def _take(self, read: MarcRead) -> None:
        if read.fields is None:
            self._skip(read, read.error or "unreadable")
            return
        description, cleaned = _without_controls(describe(read.fields, read.leader))
        if cleaned:
            self.summary.warnings.append({
                "record": read.number, "offset": read.offset, "field": ", ".join(cleaned),
                "occurrence": None,
                "reason": "control characters removed (they cannot be kept or searched)"})
        if not description["title"]:
            self._skip(read, "no title: field 245 $a is missing or empty")
            return
        items, problems = holdings(read.fields)
        for problem in problems:
            self._warn(read, problem.field, problem.reason)
        self._pending.append((read, [source for source, _ in items], ImportEntry(
            description, read.original_format, read.original, [item for _, item in items])))

    def _flush(self, offset: int) -> None:
        if self._pending:
            outcomes = self.catalog.import_records([entry for _, _, entry in self._pending])
            counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
            for (read, sources, _), outcome in zip(self._pending, outcomes, strict=True):
                counts[outcome.status] += 1
                self.summary.items_added += outcome.items_added
                for problem in outcome.item_problems:
                    self._warn(read, sources[problem.item], problem.reason)
            self.summary.created += counts[CREATED]
            self.summary.updated += counts[UPDATED]
            self.summary.unchanged += counts[UNCHANGED]
            self._pending.clear()
        if self.progress is not None:
            self.progress(offset, self.summary)


def _without_controls(description: Description) -> tuple[Description, list[str]]:
    """The description with control characters (but tab and line breaks) removed from every
    text, and the fields that had some."""
    cleaned: list[str] = []

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return without_controls(value)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    out: Description = {}
    for key, value in description.items():
        out[key] = clean(value)
        if out[key] != value:
            cleaned.append(key)
    return out, cleaned


def check_format(head: bytes, fmt: str) -> str:
    """The format of a body from its first bytes, as `--format` asked or detected."""
    detected = detect_format(head)
    if fmt not in ("auto", detected):
        raise MarcFormatError(f"format {fmt} was asked for, but the body is {detected}")
    return detected


def run_import_job(scope: TenantScope, job_id: UUID, *, path: Path, fmt: str,
                   actor: str | None = None) -> None:
    """Runs an uploaded file's import to the end, noting progress and who started it beside
    the records it writes; removes the file."""
    jobs = scope.import_jobs

    def progress(offset: int, summary: ImportSummary) -> None:
        jobs.progress(job_id, offset, summary.as_json())

    try:
        with path.open("rb") as stream, command_metadata(actor=actor, operation="importMarc"):
            summary = MarcImport(scope.catalog, progress).run(stream, fmt)
        jobs.finish(job_id, summary.as_json())
    except Exception as error:
        log.exception("import %s failed", job_id)
        jobs.finish(job_id, None, f"{type(error).__name__}: {error}; the records "
                    "of the batches before it are imported, re-import the file to finish")
    finally:
        path.unlink(missing_ok=True)


class Beating(Protocol):
    """What says that this process lives: its import jobs (on every server)."""

    def heartbeat(self) -> None: ...


async def beat_while_serving(jobs: Beating, stop: asyncio.Event) -> None:
    """Tells other processes this one lives, so its running imports are not reported
    interrupted."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(jobs.heartbeat)
        except Exception:
            log.exception("the import heartbeat failed; retrying in %s s", HEARTBEAT_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
