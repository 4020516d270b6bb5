"""`commonshelf tenants move|delete|export|import`: where tenants live, and their data whole."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from api.dependencies import Services
from infra.nats import purge_tenant_events
from tenants.errors import TenantFieldInvalidError, TenantMoveError
from tenants.moves import TenantMoves
from tenants.transfer import export_tenant, import_tenant

ACTIONS = ("move", "delete", "export", "import")
CONFIRM_FLAG = "--yes-delete-everything"


def add_parsers(tsub: Any, common: argparse.ArgumentParser) -> None:
    """The subcommands of `tenants` that this module runs."""
    move = tsub.add_parser("move", parents=[common], help="move a live tenant to another "
                           "database server (run again to resume one interrupted)")
    move.add_argument("slug")
    where = move.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="SERVER",
                       help="default, or a name from COMMONSHELF_TENANT_SERVERS")
    where.add_argument("--abort", action="store_true",
                       help="give up an unfinished move: back to the server the tenant lives "
                            "on (its writes resume), the partial copy removed")
    delete = tsub.add_parser("delete", parents=[common],
                             help="remove an archived tenant's data entirely")
    delete.add_argument("slug")
    delete.add_argument(CONFIRM_FLAG, dest="confirmed", action="store_true",
                        help="required: the data cannot be brought back but from an export")
    export = tsub.add_parser("export", parents=[common],
                             help="the tenant's events and stores as JSON lines")
    export.add_argument("slug")
    export.add_argument("--to", metavar="FILE", help="write here (default: standard output)")
    restore = tsub.add_parser("import", parents=[common],
                              help="restore a tenant from its export into an empty store")
    restore.add_argument("file")
    restore.add_argument("--server", help="for a tenant the office does not know: its server")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run(args: argparse.Namespace, services: Services) -> tuple[Any, str]:
    """Runs one of ACTIONS; the JSON answer and its text."""
    consortium = services.consortium
    if args.action == "move" and args.abort:
        ended = TenantMoves(consortium, _say).abort(args.slug)
        return ({"slug": ended.slug, "aborted": True, "server": ended.server,
                 "removed_from": ended.target, "phase": ended.phase},
                f"{ended.slug}: its move to {ended.target} was given up ({ended.phase}); it "
                f"lives on {ended.server}, its writes go on there, the partial copy is removed")
    if args.action == "move":
        moved = TenantMoves(consortium, _say).move(args.slug, args.to)
        out = {"slug": moved.slug, "from": moved.source, "to": moved.target,
               "events": moved.events, "rows": moved.rows,
               "pause_s": round(moved.pause_s, 3), "seconds": round(moved.seconds, 3)}
        return out, (f"{moved.slug} moved from {moved.source} to {moved.target}: "
                     f"{moved.events:,} events copied and verified in {moved.seconds:.1f} s, "
                     f"writes paused {moved.pause_s:.2f} s")
    if args.action == "delete":
        if not args.confirmed:
            raise TenantMoveError(f"deleting {args.slug} removes its data for good: "
                                  f"add {CONFIRM_FLAG} to confirm")
        settings = services.settings
        purge = (partial(purge_tenant_events, settings.nats_url, settings.events_stream,
                         settings.nats_prefix) if settings.nats_url else None)
        gone = TenantMoves(consortium, _say, purge).delete(args.slug)
        out = {"slug": gone.slug, "server": gone.server, "tables": gone.tables,
               "read_model_rows": gone.read_model_rows, "relay_positions": gone.relay_positions,
               "events_purged": gone.events_purged}
        lines = [f"{gone.slug}: removed from {gone.server}"]
        lines += [f"  {table}: {rows:,} rows" for table, rows in gone.tables.items()]
        lines += [f"  read model {table}: {rows:,} rows"
                  for table, rows in gone.read_model_rows.items()]
        lines.append("  its events purged from the events stream" if gone.events_purged else
                     "  NOTE: no NATS here: its events stay in the events stream (a consumer "
                     "made later would replay them); delete it where NATS_URL is set")
        lines.append("  the office keeps its register entry (archived); the union catalog's "
                     "entries it shared with other libraries were computed again without it")
        return out, "\n".join(lines)
    if args.action == "export":
        written = 0
        with (open(args.to, "w", encoding="utf-8") if args.to else sys.stdout) as out_file:
            for line in export_tenant(consortium, args.slug):
                out_file.write(line + "\n")
                written += 1
        if not args.to:
            return None, ""  # the export itself went to standard output
        return ({"slug": args.slug, "lines": written, "file": args.to},
                f"{args.slug}: {written:,} lines written to {args.to}")
    path = Path(args.file)
    if not path.is_file():
        raise TenantFieldInvalidError(f"{args.file}: no such file")
    restored = import_tenant(consortium, path, args.server, _say)
    out = {"slug": restored.slug, "server": restored.server, "events": restored.events,
           "rows": restored.rows, "registered": restored.registered,
           "status": consortium.office.get_tenant(restored.slug).status}
    return out, (f"{restored.slug}: {restored.events:,} events and "
                 f"{sum(restored.rows.values()):,} rows restored on {restored.server}")


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Prints the answer as JSON (--json) or text."""
    if payload is None:
        return
    if args.json:
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    elif text:
        sys.stdout.write(text + "\n")
