"""The acquisition analysis on a hand-made consortium: demand per copy, suggestions filed
under the entry their ISBN belongs to, suspended members left out, prices hidden from other
members unless shared, filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from projections.circulation_figures.view import RecordDemand
from projections.shared_acquisition.view import OrderRow, Requested, Titled
from tenants.acquisition_analysis import (
    Candidate,
    CandidateInvalidError,
    Filters,
    candidates,
    ranked,
)

NOW = datetime(2026, 11, 30, tzinfo=UTC)
R_A1, R_B1, R_A2, R_D1 = uuid4(), uuid4(), uuid4(), uuid4()
ENTRY_OF = {("a", R_A1): "e1", ("b", R_B1): "e1", ("a", R_A2): "e2", ("d", R_D1): "e3"}
HOLDINGS = {"e1": [{"tenant": "a", "items": 2, "available": 0},
                   {"tenant": "b", "items": 1, "available": 1}],
            "e2": [{"tenant": "a", "items": 4, "available": 4}],
            "e3": [{"tenant": "d", "items": 1, "available": 1}]}


class Union:
    def entry_with_isbn(self, isbn: str) -> str | None:
        return "e2" if isbn == "9781111111111" else None

    def entries_of_records(self, records: list[tuple[str, UUID]]
                           ) -> dict[tuple[str, UUID], str]:
        return {r: ENTRY_OF[r] for r in records if r in ENTRY_OF}

    def described(self, entry_ids: list[str]
                  ) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
        return {i: ({"title": f"Title {i}", "isbns": ["9780000000002"], "authors": ["X"]},
                    HOLDINGS.get(i, [])) for i in entry_ids}


def _order(tenant: str, key: str, price: str | None) -> OrderRow:
    return OrderRow(tenant=tenant, order_id=uuid4(), wanted_key=key, entry_id=None, title=None,
                    isbn=None, copies=2, price_amount=Decimal(price) if price else None,
                    price_currency="EUR" if price else None, vendor=None, status="open",
                    placed_at=NOW, changed_at=NOW, record_id=None)


class Acquisition:
    def __init__(self, shared: bool = False) -> None:
        self.shared = shared

    def prices_shared(self) -> bool:
        return self.shared

    def open_orders(self, wanted_keys: list[str]) -> list[OrderRow]:
        rows = [_order("b", "entry:e1", "20"), _order("c", "isbn:9781111111111", "9.5"),
                _order("d", "entry:e1", "1")]
        return [r for r in rows if r["wanted_key"] in wanted_keys]

    def suggestions(self) -> list[tuple[Titled, str, int]]:
        return [(Titled("isbn:9781111111111", None, None, "9781111111111"), "c", 2),
                (Titled("title:new book", None, "New Book", None), "b", 1),
                (Titled("entry:e1", "e1", None, None), "d", 5)]

    def titles_on_order(self) -> list[Titled]:
        return [Titled("entry:e1", "e1", None, None),
                Titled("isbn:9781111111111", None, None, "9781111111111")]

    def interlibrary(self) -> list[Requested]:
        return [Requested("a", R_A1, 3, 1)]


class Demand:
    def record_demand(self, since: datetime) -> list[RecordDemand]:
        assert since == NOW - timedelta(days=365)
        return [RecordDemand("a", R_A1, 2, 3), RecordDemand("b", R_B1, 1, 1),
                RecordDemand("a", R_A2, 0, 2), RecordDemand("d", R_D1, 9, 9)]


def _found(viewer: str | None, shared: bool = False) -> dict[str, Candidate]:
    found = candidates(Union(), Acquisition(shared), Demand(), viewer=viewer,
                       active={"a", "b", "c"}, now=NOW)
    return {c.id: c for c in found}


def test_demand_per_copy_adds_holds_loans_suggestions_and_unfilled_requests() -> None:
    found = _found("a")
    e1 = found["entry:e1"]
    assert (e1.holds_waiting, e1.loans_last_year, e1.interlibrary_requests,
            e1.interlibrary_unfilled, e1.suggestions) == (3, 4, 3, 1, 0)
    assert (e1.copies, e1.available, e1.demand, e1.demand_per_copy) == (3, 1, 8, 8 / 3)
    e2 = found["entry:e2"]  # 2 loans + 2 suggestions filed by ISBN under the entry
    assert (e2.suggestions, e2.loans_last_year, e2.copies, e2.demand_per_copy) == (
        2, 2, 4, 1.0)
    new = found["title:new book"]
    assert (new.entry_id, new.title, new.copies, new.demand_per_copy) == (
        None, "New Book", 0, 1.0)


def test_a_suspended_members_demand_holdings_suggestions_and_orders_are_left_out() -> None:
    found = _found("a")
    assert "entry:e3" not in found
    assert [o.tenant for o in found["entry:e1"].open_orders] == ["b"]
    assert found["entry:e1"].suggestions == 0  # d's five suggestions do not count


def test_other_members_prices_show_only_when_the_office_shares_them() -> None:
    hidden = _found("a")["entry:e2"].open_orders
    assert [(o.tenant, o.price) for o in hidden] == [("c", None)]
    own = _found("c")["entry:e2"].open_orders
    assert [(o.tenant, o.price) for o in own] == [("c", (Decimal("9.5"), "EUR"))]
    shared = _found("a", shared=True)["entry:e2"].open_orders
    assert [o.price for o in shared] == [(Decimal("9.5"), "EUR")]
    office = _found(None)["entry:e1"].open_orders
    assert [o.price for o in office] == [(Decimal("20"), "EUR")]


def test_pages_follow_the_sort_and_filters_keep_what_they_say() -> None:
    found = list(_found("a").values())
    page, more = ranked(found, sort="DEMAND_PER_COPY", filters=Filters(), viewer="a", first=2,
                        after=None)
    assert [c.id for _, c in page] == ["entry:e1", "entry:e2"]  # 8/3, then 1.0 (id order)
    assert more
    rest, more = ranked(found, sort="DEMAND_PER_COPY", filters=Filters(), viewer="a",
                        first=2, after=page[-1][0])
    assert [c.id for _, c in rest] == ["title:new book"]
    assert not more
    lacking, _ = ranked(found, sort="DEMAND", filters=Filters(held_by_me=False), viewer="a",
                        first=10, after=None)
    assert [c.id for _, c in lacking] == ["title:new book"]
    suggested, _ = ranked(found, sort="SUGGESTIONS", filters=Filters(suggested=True),
                          viewer="a", first=10, after=None)
    assert [c.id for _, c in suggested] == ["entry:e2", "title:new book"]


@pytest.mark.parametrize(("sort", "after"), [("PRICE", None), ("DEMAND", "nonsense"),
                                             ("DEMAND", "Y2FuZGlkYXRlczotMQ==")])
def test_an_unknown_sort_or_cursor_is_refused(sort: str, after: str | None) -> None:
    with pytest.raises(CandidateInvalidError):
        ranked([], sort=sort, filters=Filters(), viewer="a", first=1, after=after)
