"""Consortium figures against values counted by hand on a small fixture: three members,
five titles, two days of loans; the office sees all, a member itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import pytest

from projections.circulation_figures.view import TOTALS, Day
from tenants.figures import FiguresInvalidError, consortium_figures, period

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
D1, D2, D3 = date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)
COUNTS = {
    "a": {"records": 4, "items": 6, "active_patrons": 3, "holds_waiting": 2,
          "overdue_loans": 1, "shared_records": 1},
    "b": {"records": 2, "items": 2, "active_patrons": 1, "holds_waiting": 0,
          "overdue_loans": 0, "shared_records": 0},
    "c": {"records": 3, "items": 3, "active_patrons": 2, "holds_waiting": 1,
          "overdue_loans": 2, "shared_records": 2},
}
# titles: t1 a,b,c; t2 a,b; t3 a; t4 c; t5 held by d (suspended: not counted)
HOLDERS = [frozenset("abc"), frozenset("ab"), frozenset("a"), frozenset("c"), frozenset("d")]


class FakeCounts:
    def totals(self, tenants: list[str], now: datetime) -> dict[str, dict[str, int]]:
        assert now == NOW
        return {t: COUNTS[t] for t in tenants}

    def daily(self, tenants: list[str], since: date, until: date) -> list[Day]:
        rows = [Day("a", D1, 2, 0), Day("a", D3, 1, 2), Day("c", D3, 4, 1), Day("b", D2, 0, 1)]
        return [r for r in rows if r.tenant in tenants and since <= r.day <= until]


class FakeHolders:
    def holder_sets(self) -> Iterable[frozenset[str]]:
        return HOLDERS


def _figures(viewer: str | None):  # type: ignore[no-untyped-def]
    return consortium_figures(FakeCounts(), FakeHolders(), active=["c", "a", "b"],
                              viewer=viewer, since=D1, until=D3, now=NOW)


def test_the_office_sees_every_member_with_titles_held_and_unique_holdings() -> None:
    found = _figures(None)
    assert sorted(found.members) == ["a", "b", "c"]
    a, b, c = (found.members[m].counts for m in "abc")
    assert (a["titles_held"], a["unique_holdings"]) == (3, 1)  # t1 t2 t3; t3 alone
    assert (b["titles_held"], b["unique_holdings"]) == (2, 0)  # t1 t2
    assert (c["titles_held"], c["unique_holdings"]) == (2, 1)  # t1 t4; t4 alone
    assert a["records"] == 4
    assert found.members["a"].daily == [(D1, 2, 0), (D2, 0, 0), (D3, 1, 2)]


def test_totals_add_members_up_and_count_each_title_once() -> None:
    totals = _figures(None).totals
    assert {k: totals.counts[k] for k in TOTALS} == {
        "records": 9, "items": 11, "active_patrons": 6, "holds_waiting": 3,
        "overdue_loans": 3, "shared_records": 3}
    assert totals.counts["titles_held"] == 4  # t1..t4 (t5's holder is not active)
    assert totals.counts["unique_holdings"] == 2  # t3 (a) and t4 (c)
    assert totals.daily == [(D1, 2, 0), (D2, 0, 1), (D3, 5, 3)]


def test_overlap_of_each_pair_with_its_jaccard_index() -> None:
    pairs = {(o.a, o.b): o for o in _figures(None).overlap}
    assert sorted(pairs) == [("a", "b"), ("a", "c"), ("b", "c")]
    ab, ac, bc = pairs["a", "b"], pairs["a", "c"], pairs["b", "c"]
    assert (ab.shared, ab.a_titles, ab.b_titles, ab.jaccard) == (2, 3, 2, 2 / 3)
    assert (ac.shared, ac.jaccard) == (1, 1 / 4)  # t1 of {t1 t2 t3 t4}
    assert (bc.shared, bc.jaccard) == (1, 1 / 3)  # t1 of {t1 t2 t4}


def test_a_member_sees_itself_the_totals_and_its_own_pairs_only() -> None:
    found = _figures("b")
    assert list(found.members) == ["b"]
    assert found.totals.counts["records"] == 9
    assert sorted((o.a, o.b) for o in found.overlap) == [("a", "b"), ("b", "c")]


def test_the_period_defaults_to_thirty_days_and_refuses_reversed_or_long_ones() -> None:
    assert period(None, None, D3) == (date(2026, 11, 1), D3)
    with pytest.raises(FiguresInvalidError, match=r"^since:"):
        period(D3, D1, D3)
    with pytest.raises(FiguresInvalidError, match="366"):
        period(date(2024, 1, 1), D3, D3)
