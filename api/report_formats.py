"""A scan's report as CSV (for spreadsheets) and as an SVG shelf map (for people)."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

PX_PER_M = 1000  # 1 px per millimetre
SPINE_PX = 20


def _interval(row: dict[str, Any]) -> tuple[Any, Any]:
    interval = row.get("x_interval")
    return (interval[0], interval[1]) if interval else ("", "")


def report_csv(report: dict[str, Any]) -> str:
    """One row per book or tag: what the scan found, and where (every located book with its
    call number; a misplaced or uncertain one with the book, and call number, it belongs
    after)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["finding", "barcode", "epc", "call_number", "x_m", "x_low_m", "x_high_m",
                     "y_m", "confidence", "reads", "belongs_after",
                     "belongs_after_call_number"])
    flagged = {m["barcode"]: ("misplaced", m) for m in report["misplaced"]} | {
        m["barcode"]: ("uncertain — check", m) for m in report.get("uncertain", [])}
    for row in report["located"]:
        finding, entry = flagged.get(row["barcode"], ("in order", {}))
        writer.writerow([finding, row["barcode"], row["epc"], row.get("call_number") or "",
                         row["x"], *_interval(row), row["y"], row["confidence"], "",
                         entry.get("belongs_after") or "",
                         entry.get("belongs_after_call_number") or ""])
    for row in report["missing"]:
        writer.writerow(["missing", row["barcode"], "", row["call_number"] or "",
                         _blank(row.get("expected_x")), "", "", "", "", "",
                         row.get("belongs_after") or "",
                         row.get("belongs_after_call_number") or ""])
    for row in report.get("unlocalized", []):
        writer.writerow(["unlocalized", row.get("barcode") or "", row["epc"],
                         row.get("call_number") or "", "", "", "", "", "", row["reads"], "", ""])
    for row in report["unknown"]:
        writer.writerow(["unknown tag", "", row["epc"], "", row["x"], "", "", "", "", "", "",
                         ""])
    return out.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _spine(x: int, fill: str, label: str, hover: str, extra: str = "") -> list[str]:
    """A book's spine at x px: its label (the call number) written up it, its barcode on
    hover."""
    return [f'<g><title>{escape(hover)}</title>'
            f'<rect x="{x - SPINE_PX // 2}" y="40" width="{SPINE_PX}" height="140" '
            f'fill="{fill}"{extra}/>'
            f'<text transform="translate({x + 3},175) rotate(-90)">{escape(label)}</text></g>']


def report_svg(report: dict[str, Any]) -> str:
    """The shelf as the robot found it: each book where it stood, labelled by call number
    (barcode on hover); misplaced ones in red, uncertain ones in amber, missing ones hatched
    where they should stand, tags the catalog does not know in grey."""
    missing = [m for m in report["missing"] if m.get("expected_x") is not None]
    xs = ([r["x"] for r in report["located"]] + [u["x"] for u in report["unknown"]]
          + [m["expected_x"] for m in missing])
    left = min(xs, default=0.0) - 0.05
    width = int((max(xs, default=0.0) + 0.05 - left) * PX_PER_M) + SPINE_PX
    misplaced = {m["barcode"] for m in report["misplaced"]}
    uncertain = {m["barcode"] for m in report.get("uncertain", [])}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="220" '
             f'font-family="sans-serif" font-size="10">',
             f"<title>Shelf {escape(report['shelf'])}: {len(misplaced)} misplaced, "
             f"{len(uncertain)} uncertain, {len(report['missing'])} missing</title>",
             '<defs><pattern id="missing" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern>'
             "</defs>",
             f'<line x1="0" y1="180" x2="{width}" y2="180" stroke="#555" stroke-width="3"/>']
    for row in report["located"]:
        x = int((row["x"] - left) * PX_PER_M)
        state = ("misplaced" if row["barcode"] in misplaced else
                 "uncertain, check" if row["barcode"] in uncertain else "in order")
        colour = {"misplaced": "#d33", "uncertain, check": "#e90"}.get(state, "#4a4")
        parts += _spine(x, colour, row.get("call_number") or row["barcode"],
                        f"{row['barcode']} ({state})")
    for row in missing:
        x = int((row["expected_x"] - left) * PX_PER_M)
        parts += _spine(x, "url(#missing)", row.get("call_number") or row["barcode"],
                        f"{row['barcode']} (missing)", ' stroke="#888" stroke-dasharray="4 2"')
    for row in report["unknown"]:
        x = int((row["x"] - left) * PX_PER_M)
        parts.append(f'<rect x="{x - SPINE_PX // 2}" y="40" width="{SPINE_PX}" height="140" '
                     f'fill="#aaa"><title>unknown tag {escape(row["epc"])}</title></rect>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
