"""Call numbers in librarians' order, and the shelf report from a localized scan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.inventory.calibration import ReaderCalibration
from domain.inventory.report import call_number_key, shelf_report


@pytest.mark.parametrize("ordered", [
    # CLC: a class's books (/9 before /10) before its subclass TP312.8, then TP313
    ["TP312", "TP312/9", "TP312/10", "TP312.8", "TP312.8/2", "TP313"],
    ["005.133 L37", "005.2 A12", "005.74 B1", "510 Z9"],  # Dewey
    ["QA76.6 .H857 2000", "QA76.73 .P98 L37", "QA76.73 .P985", "QA76.9 .A25", "QB1"],  # LC
])
def test_call_numbers_sort_as_librarians_sort_them(ordered: list[str]) -> None:
    shuffled = ordered[1::2] + ordered[::2]  # out of order, whatever the key
    assert sorted(shuffled, key=call_number_key) == ordered


def test_the_report_finds_misplaced_missing_and_unknown() -> None:
    items = {f"E{n}": {"barcode": f"B{n}", "call_number": f"QA{n}", "epc": f"E{n}",
                       "status": "available"} for n in range(1, 7)}
    xs = {"E1": 0.1, "E2": 0.2, "E5": 0.3, "E3": 0.4, "E4": 0.5}  # E5 sits between E2, E3
    located = [{"epc": e, "x": x, "y": 0.0, "confidence": 0.9, "localized": True}
               for e, x in xs.items()]
    located.append({"epc": "FFFF", "x": 0.6, "y": 0.0, "confidence": 0.8, "localized": True})
    report = shelf_report("scan-1", "A-01", located, items, list(items.values()))
    assert report["misplaced"] == [{"barcode": "B5", "call_number": "QA5", "x": 0.3,
                                    "x_interval": None, "belongs_after": "B4",
                                    "belongs_after_call_number": "QA4"}]
    assert report["uncertain"] == []
    assert report["missing"] == [{"barcode": "B6", "call_number": "QA6", "expected_x": 0.53,
                                  "belongs_after": "B4", "belongs_after_call_number": "QA4"}]
    assert report["unknown"] == [{"epc": "FFFF", "x": 0.6, "x_interval": None, "y": 0.0}]
    assert [r["barcode"] for r in report["located"]] == ["B1", "B2", "B5", "B3", "B4"]
    assert [r["call_number"] for r in report["located"]] == ["QA1", "QA2", "QA5", "QA3", "QA4"]


def _shelf(xs: dict[str, tuple[float, float]]) -> tuple[list[dict[str, Any]],
                                                         dict[str, dict[str, Any]]]:
    items = {f"E{n}": {"barcode": f"B{n}", "call_number": f"QA{n}", "epc": f"E{n}",
                       "status": "available"} for n in range(1, 7)}
    located = [{"epc": e, "x": x, "x_interval": [x - half, x + half], "y": 0.0,
                "confidence": 0.9, "localized": True} for e, (x, half) in xs.items()]
    return located, items


def test_a_swap_within_the_uncertainty_is_uncertain_not_misplaced() -> None:
    # B3 and B4 seen swapped by 1 cm, each ±2 cm: the evidence does not say they are
    located, items = _shelf({"E1": (0.10, 0.02), "E2": (0.14, 0.02), "E4": (0.175, 0.02),
                             "E3": (0.185, 0.02), "E5": (0.22, 0.02), "E6": (0.26, 0.02)})
    report = shelf_report("scan-1", "A-01", located, items, list(items.values()))
    assert report["misplaced"] == []
    [check] = report["uncertain"]
    assert check["barcode"] in {"B3", "B4"}
    assert check["belongs_after_call_number"] in {"QA2", "QA3"}
    assert {n["barcode"] for n in check["neighbours"]} <= {"B2", "B3", "B4", "B5"}
    assert len(check["neighbours"]) == 2


def test_a_book_far_beyond_its_uncertainty_is_misplaced() -> None:
    located, items = _shelf({"E1": (0.10, 0.01), "E2": (0.14, 0.01), "E3": (0.18, 0.01),
                             "E5": (0.22, 0.01), "E6": (0.26, 0.01), "E4": (0.40, 0.01)})
    report = shelf_report("scan-1", "A-01", located, items, list(items.values()))
    assert [(m["barcode"], m["belongs_after"], m["belongs_after_call_number"])
            for m in report["misplaced"]] == [("B4", "B3", "QA3")]
    assert report["misplaced"][0]["x_interval"] == pytest.approx([0.39, 0.41])
    assert report["uncertain"] == []


def test_a_tag_read_too_rarely_is_listed_with_its_reads_not_missing() -> None:
    located, items = _shelf({"E1": (0.10, 0.01), "E2": (0.14, 0.01)})
    located.append({"epc": "E3", "x": 0.0, "y": 0.0, "reads": 2, "confidence": 0.0,
                    "localized": False})
    located.append({"epc": "ABCD", "x": 0.0, "y": 0.0, "reads": 1, "confidence": 0.0,
                    "localized": False})
    report = shelf_report("scan-1", "A-01", located, items, list(items.values()))
    assert report["unlocalized"] == [
        {"epc": "E3", "reads": 2, "barcode": "B3", "call_number": "QA3"},
        {"epc": "ABCD", "reads": 1, "barcode": None, "call_number": None}]
    assert [m["barcode"] for m in report["missing"]] == ["B4", "B5", "B6"]
    assert report["missing"][0]["expected_x"] == pytest.approx(0.17)


def test_a_robots_calibration_counts_each_scan_once() -> None:
    calibration = ReaderCalibration(robot="r-1")
    at = datetime(2026, 11, 23, tzinfo=UTC)
    assert calibration.improve({"920625000.0": 1.0, "920875000.0": 2.0}, 40, "scan-1", at)
    assert not calibration.improve({"920625000.0": 1.5}, 40, "scan-1", at)  # redelivered
    assert calibration.weight == 40
    # a second scan, its offsets turned by 0.5 rad as a new first channel would turn them
    assert calibration.improve({"920625000.0": 1.5, "920875000.0": 2.5}, 40, "scan-2", at)
    assert calibration.weight == 80
    assert abs(calibration.offsets["920875000.0"] - calibration.offsets["920625000.0"] - 1.0
               ) < 1e-9
