"""What a localized scan tells about a shelf: books out of call-number order, books that
should be there and are not, tags the catalog does not know.

Call numbers sort the way librarians sort them: letters as letters, class numbers as
decimals (`TP312` < `TP312.8` < `TP313`; Dewey `005.133` < `005.2`), cutters as decimal
fractions (`.P98` < `.P985` < `.Q1`), and numbers after a slash as integers
(`TP312/9` < `TP312/10`, as the Chinese Library Classification's shelf marks want).
"""

from __future__ import annotations

import bisect
import re
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(r"(?P<cutter>\.[A-Z]+\d*)|(?P<letters>[A-Z]+)|(?P<slash>/\d+)"
                    r"|(?P<number>\d+(?:\.\d+)?)")
CallNumberKey = tuple[tuple[int, str, Decimal], ...]


def call_number_key(call_number: str | None) -> CallNumberKey:
    """The sort key of a call number (LC, Dewey or CLC); a missing one sorts last."""
    if not call_number or not call_number.strip():
        return ((9, "", Decimal(0)),)
    key: list[tuple[int, str, Decimal]] = []
    for match in _TOKEN.finditer(call_number.upper()):
        text = match.group(0)
        if match.lastgroup == "cutter":
            letters = text[1:].rstrip("0123456789")
            digits = text[1 + len(letters):]
            key.append((2, letters, Decimal("0." + digits) if digits else Decimal(0)))
        elif match.lastgroup == "letters":
            key.append((0, text, Decimal(0)))
        elif match.lastgroup == "slash":
            key.append((3, "", Decimal(text[1:])))
        else:
            key.append((1, "", Decimal(text)))
    return tuple(key)


def _in_order(keys: list[CallNumberKey]) -> set[int]:
    """Positions of a longest non-decreasing subsequence: the books that stay put."""
    tails: list[CallNumberKey] = []
    tail_at: list[int] = []
    previous = [-1] * len(keys)
    for i, key in enumerate(keys):
        j = bisect.bisect_right(tails, key)
        if j == len(tails):
            tails.append(key)
            tail_at.append(i)
        else:
            tails[j], tail_at[j] = key, i
        previous[i] = tail_at[j - 1] if j else -1
    kept, i = set(), tail_at[-1] if tail_at else -1
    while i >= 0:
        kept.add(i)
        i = previous[i]
    return kept


def shelf_report(scan_id: str, shelf: str, located: list[dict[str, Any]],
                 items_by_epc: dict[str, dict[str, Any]],
                 shelf_items: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of one scan (the contract robots' vendors and libraries read)."""
    found = [t for t in located if t.get("localized")]
    known = sorted((t for t in found if t["epc"] in items_by_epc), key=lambda t: t["x"])
    keys = [call_number_key(items_by_epc[t["epc"]].get("call_number")) for t in known]
    kept = _in_order(keys)
    stays = sorted((keys[i], items_by_epc[known[i]["epc"]]["barcode"]) for i in kept)
    misplaced = []
    for i, tag in enumerate(known):
        if i in kept:
            continue
        item = items_by_epc[tag["epc"]]
        j = bisect.bisect_right([k for k, _ in stays], keys[i])
        misplaced.append({"barcode": item["barcode"], "call_number": item.get("call_number"),
                          "x": tag["x"], "belongs_after": stays[j - 1][1] if j else None})
    seen = {t["epc"] for t in located}
    missing = [{"barcode": item["barcode"], "call_number": item.get("call_number")}
               for item in shelf_items
               if item.get("epc") and item["epc"] not in seen and item["status"] == "available"]
    return {
        "scan_id": scan_id, "shelf": shelf, "misplaced": misplaced,
        "missing": sorted(missing, key=lambda m: call_number_key(m["call_number"])),
        "unknown": [{"epc": t["epc"], "x": t["x"]} for t in found
                    if t["epc"] not in items_by_epc],
        "located": [{"barcode": items_by_epc[t["epc"]]["barcode"], "epc": t["epc"],
                     "x": t["x"], "y": t["y"], "confidence": t["confidence"]} for t in known],
    }
