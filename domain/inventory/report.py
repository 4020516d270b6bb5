"""What a localized scan tells about a shelf: books out of call-number order, books that
should be there and are not, tags the catalog does not know.

Call numbers sort the way librarians sort them: letters as letters, class numbers as
decimals (`TP312` < `TP312.8` < `TP313`; Dewey `005.133` < `005.2`), cutters as decimal
fractions (`.P98` < `.P985` < `.Q1`), and numbers after a slash as integers
(`TP312/9` < `TP312/10`, as the Chinese Library Classification's shelf marks want).
"""

from __future__ import annotations

import bisect
import math
import re
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(r"(?P<cutter>\.[A-Z]+\d*)|(?P<letters>[A-Z]+)|(?P<slash>/\d+)"
                    r"|(?P<number>\d+(?:\.\d+)?)")
CallNumberKey = tuple[tuple[int, str, Decimal], ...]
SPINE_M = 0.03  # a book's width, where a missing one at an end of the shelf would stand


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


def _interval(tag: dict[str, Any]) -> tuple[float, float]:
    """A located tag's 90% interval along the shelf (its point when none was given)."""
    interval = tag.get("x_interval")
    if interval is None:
        return tag["x"], tag["x"]
    return float(interval[0]), float(interval[1])


def _where_it_belongs(key: CallNumberKey, keys: list[CallNumberKey],
                      kept: list[int]) -> tuple[int | None, int | None]:
    """The books that stay in order (their positions in shelf order) just before and just
    after where a call number belongs."""
    j = bisect.bisect_right([keys[i] for i in kept], key)
    return (kept[j - 1] if j else None), (kept[j] if j < len(kept) else None)


def shelf_report(scan_id: str, shelf: str, located: list[dict[str, Any]],
                 items_by_epc: dict[str, dict[str, Any]],
                 shelf_items: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of one scan (the contract robots' vendors and libraries read).

    A book out of call-number order is `misplaced` only when its 90% interval lies wholly
    outside the stretch where it belongs (between the books it belongs after and before,
    their own intervals included); otherwise it is `uncertain` (check it, with its
    neighbours). A tag read too rarely to be placed is `unlocalized`, with its reads."""
    found = [t for t in located if t.get("localized")]
    known = sorted((t for t in found if t["epc"] in items_by_epc), key=lambda t: t["x"])
    items = [items_by_epc[t["epc"]] for t in known]
    keys = [call_number_key(item.get("call_number")) for item in items]
    stay = _in_order(keys)
    kept = sorted(stay)  # shelf order, which is call-number order for these
    misplaced, uncertain = [], []
    for i, tag in enumerate(known):
        if i in stay:
            continue
        before, after = _where_it_belongs(keys[i], keys, kept)
        low, high = _interval(tag)
        span_low = _interval(known[before])[0] if before is not None else -math.inf
        span_high = _interval(known[after])[1] if after is not None else math.inf
        entry = {"barcode": items[i]["barcode"], "call_number": items[i].get("call_number"),
                 "x": tag["x"], "x_interval": tag.get("x_interval"),
                 "belongs_after": items[before]["barcode"] if before is not None else None,
                 "belongs_after_call_number":
                     items[before].get("call_number") if before is not None else None}
        if high < span_low or low > span_high:
            misplaced.append(entry)
        else:
            uncertain.append({**entry, "neighbours": [
                {"barcode": items[j]["barcode"], "call_number": items[j].get("call_number")}
                for j in (i - 1, i + 1) if 0 <= j < len(known)]})
    seen = {t["epc"] for t in located}
    missing = []
    for item in shelf_items:
        if item.get("epc") and item["epc"] not in seen and item["status"] == "available":
            missing.append({"barcode": item["barcode"], "call_number": item.get("call_number"),
                            **_expected_place(call_number_key(item.get("call_number")),
                                              keys, known, items, kept)})
    by_epc = {item["epc"]: item for item in shelf_items if item.get("epc")} | items_by_epc
    return {
        "scan_id": scan_id, "shelf": shelf, "misplaced": misplaced, "uncertain": uncertain,
        "missing": sorted(missing, key=lambda m: call_number_key(m["call_number"])),
        "unknown": [{"epc": t["epc"], "x": t["x"], "x_interval": t.get("x_interval"),
                     "y": t["y"]} for t in found if t["epc"] not in items_by_epc],
        "unlocalized": [{"epc": t["epc"], "reads": t.get("reads", 0),
                         "barcode": by_epc[t["epc"]]["barcode"] if t["epc"] in by_epc else None,
                         "call_number": by_epc[t["epc"]].get("call_number")
                         if t["epc"] in by_epc else None}
                        for t in located if not t.get("localized")],
        "located": [{"barcode": item["barcode"], "call_number": item.get("call_number"),
                     "epc": t["epc"], "x": t["x"], "x_interval": t.get("x_interval"),
                     "y": t["y"], "confidence": t["confidence"]}
                    for t, item in zip(known, items, strict=True)],
    }


def _expected_place(key: CallNumberKey, keys: list[CallNumberKey],
                    known: list[dict[str, Any]], items: list[dict[str, Any]],
                    kept: list[int]) -> dict[str, Any]:
    """Where a missing book should stand: halfway between the books in order it belongs
    after and before (a spine beyond the end one; null on a shelf with no book in order)."""
    before, after = _where_it_belongs(key, keys, kept)
    if before is not None and after is not None:
        expected: float | None = (known[before]["x"] + known[after]["x"]) / 2
    elif before is not None or after is not None:
        expected = known[before]["x"] + SPINE_M if before is not None else (
            known[after]["x"] - SPINE_M)  # type: ignore[index]
    else:
        expected = None
    return {"expected_x": expected,
            "belongs_after": items[before]["barcode"] if before is not None else None,
            "belongs_after_call_number":
                items[before].get("call_number") if before is not None else None}
