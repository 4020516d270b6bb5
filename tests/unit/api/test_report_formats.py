"""A scan's report as a shelver reads it: CSV with every call number, an SVG shelf map."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from api.report_formats import report_csv, report_svg
from domain.inventory.report import shelf_report


def _report() -> dict[str, Any]:
    items = {f"E{n}": {"barcode": f"B{n}", "call_number": f"QA{n}", "epc": f"E{n}",
                       "status": "available"} for n in range(1, 8)}
    xs = {"E6": (0.05, 0.01), "E1": (0.10, 0.01), "E2": (0.14, 0.01), "E4": (0.175, 0.02),
          "E3": (0.185, 0.02), "E5": (0.26, 0.01)}
    located: list[dict[str, Any]] = [
        {"epc": e, "x": x, "x_interval": [x - half, x + half], "y": 0.0, "confidence": 0.9,
         "localized": True} for e, (x, half) in xs.items()]
    located.append({"epc": "E7", "x": 0.0, "y": 0.0, "reads": 3, "confidence": 0.0,
                    "localized": False})
    shelf = [*items.values(), {"barcode": "B0", "call_number": "QA0.5", "epc": "E0",
                               "status": "available"}]
    return shelf_report("scan-1", "A-01", located, items, shelf)


def test_the_csv_gives_every_located_books_call_number_and_what_it_belongs_after() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(_report()))))
    located = [r for r in rows if r["finding"] in ("in order", "misplaced",
                                                   "uncertain — check")]
    assert len(located) == 6
    assert all(r["call_number"] == "QA" + r["barcode"][1:] for r in located)
    assert all(float(r["x_low_m"]) < float(r["x_m"]) < float(r["x_high_m"]) for r in located)
    [wrong] = [r for r in rows if r["finding"] == "misplaced"]
    assert (wrong["barcode"], wrong["belongs_after"], wrong["belongs_after_call_number"]) == (
        "B6", "B5", "QA5")
    [check] = [r for r in rows if r["finding"] == "uncertain — check"]
    assert check["barcode"] in {"B3", "B4"}
    [rare] = [r for r in rows if r["finding"] == "unlocalized"]
    assert (rare["barcode"], rare["call_number"], rare["reads"]) == ("B7", "QA7", "3")
    [gone] = [r for r in rows if r["finding"] == "missing"]
    assert (gone["barcode"], gone["belongs_after"]) == ("B0", "")  # before the first book
    assert 0.05 < float(gone["x_m"]) < 0.10


def test_the_svg_labels_books_by_call_number_and_hatches_missing_ones() -> None:
    svg = report_svg(_report())
    labels = re.findall(r"rotate\(-90\)\">([^<]*)</text>", svg)
    assert sorted(labels) == ["QA0.5", "QA1", "QA2", "QA3", "QA4", "QA5", "QA6"]
    assert "<title>B6 (misplaced)</title>" in svg  # the barcode on hover
    assert "<title>B0 (missing)</title>" in svg
    assert 'fill="url(#missing)"' in svg
    assert '<pattern id="missing"' in svg
    assert "#d33" in svg  # misplaced: red
    assert "#e90" in svg  # uncertain: amber
