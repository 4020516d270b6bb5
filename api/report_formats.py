"""A scan's report as CSV (for spreadsheets) and as an SVG shelf map (for people)."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

PX_PER_M = 1000  # 1 px per millimetre
SPINE_PX = 20


def report_csv(report: dict[str, Any]) -> str:
    """One row per book or tag: what the scan found, and where."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["finding", "barcode", "epc", "call_number", "x_m", "y_m", "confidence",
                     "belongs_after"])
    misplaced = {m["barcode"]: m for m in report["misplaced"]}
    for row in report["located"]:
        wrong = misplaced.get(row["barcode"])
        writer.writerow(["misplaced" if wrong else "in order", row["barcode"], row["epc"],
                         wrong["call_number"] if wrong else "", row["x"], row["y"],
                         row["confidence"], wrong["belongs_after"] if wrong else ""])
    for row in report["missing"]:
        writer.writerow(["missing", row["barcode"], "", row["call_number"], "", "", "", ""])
    for row in report["unknown"]:
        writer.writerow(["unknown tag", "", row["epc"], "", row["x"], "", "", ""])
    return out.getvalue()


def report_svg(report: dict[str, Any]) -> str:
    """The shelf as the robot found it: each book where it stood, misplaced ones in red,
    tags the catalog does not know in grey."""
    xs = [r["x"] for r in report["located"]] + [u["x"] for u in report["unknown"]]
    left = min(xs, default=0.0) - 0.05
    width = int((max(xs, default=0.0) + 0.05 - left) * PX_PER_M) + SPINE_PX
    misplaced = {m["barcode"] for m in report["misplaced"]}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="220" '
             f'font-family="sans-serif" font-size="10">',
             f"<title>Shelf {escape(report['shelf'])}: {len(misplaced)} misplaced, "
             f"{len(report['missing'])} missing</title>",
             f'<line x1="0" y1="180" x2="{width}" y2="180" stroke="#555" stroke-width="3"/>']
    for row in report["located"]:
        x = int((row["x"] - left) * PX_PER_M)
        colour = "#d33" if row["barcode"] in misplaced else "#4a4"
        parts.append(f'<rect x="{x - SPINE_PX // 2}" y="40" width="{SPINE_PX}" height="140" '
                     f'fill="{colour}"><title>{escape(row["barcode"])}</title></rect>')
        parts.append(f'<text transform="translate({x + 3},175) rotate(-90)">'
                     f"{escape(row['barcode'])}</text>")
    for row in report["unknown"]:
        x = int((row["x"] - left) * PX_PER_M)
        parts.append(f'<rect x="{x - SPINE_PX // 2}" y="40" width="{SPINE_PX}" height="140" '
                     f'fill="#aaa"><title>unknown tag {escape(row["epc"])}</title></rect>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
