"""Consortium figures over real PostgreSQL and NATS, against values counted by hand: three
fresh members' records, items, patrons, loans and returns today, holds, contributions,
titles held, unique holdings and overlap; a member sees itself and the totals; a suspended
member leaves the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from projections.circulation_figures.view import CirculationFiguresView
from tests.integration.api.test_acquisition import (
    entry_of,
    eventually,
    holding,
    isbn13,
    members,
)
from tests.integration.api.test_catalog import code, data, gql
from tests.integration.api.test_circulation import CHECK_IN, CHECK_OUT, ERASE, HOLD, _patron
from tests.integration.api.test_sharing import SHARE

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["members"]  # the fixture, shared with the acquisition tests

COUNTS = """records items activePatrons holdsWaiting overdueLoans sharedRecordsContributed
  titlesHeld uniqueHoldings daily { day loans returns }"""
FIGURES = f"""query($since: Date, $until: Date) {{
  consortiumFigures(since: $since, until: $until) {{ since until
    members {{ member {{ slug name }} figures {{ {COUNTS} }} }}
    totals {{ {COUNTS} }}
    overlap {{ a {{ slug }} b {{ slug }} sharedTitles aTitles bTitles jaccard }} }} }}"""
WITHDRAW = """mutation($b: String!) { withdrawItem(input: {barcode: $b}) { item { barcode } } }"""


def _counts(found: dict[str, Any], slug: str) -> dict[str, Any] | None:
    for row in found["members"]:
        if row["member"]["slug"] == slug:
            counts: dict[str, Any] = row["figures"]
            return counts
    return None


def _without_daily(counts: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (counts or {}).items() if k != "daily"}


def test_figures_match_what_was_counted_by_hand(
    http: TestClient, services: Services, members: dict[str, Any],
    admin_headers: dict[str, str]
) -> None:
    a, b, c, office = members["a"], members["b"], members["c"], members["office"]
    x = isbn13()
    r1 = holding(http, a["token"], "Overlap Title", x, ["A1", "A2"])
    holding(http, a["token"], "Only A Title", isbn13(), ["A3"])
    r3 = holding(http, a["token"], "Not Held Title", None, [])
    r4 = holding(http, b["token"], "Overlap Title", x, ["B1"])
    holding(http, b["token"], "Only B Title", isbn13(), ["B2"])
    data(gql(http, a["token"], WITHDRAW, b="A2"))
    for n in (1, 2, 3):
        _patron(http, a["token"], f"FA-{n}")
    _patron(http, b["token"], "FB-1")
    data(gql(http, a["token"], ERASE, patron="FA-3"))
    data(gql(http, a["token"], CHECK_OUT, item="A1", patron="FA-1"))
    data(gql(http, a["token"], CHECK_IN, item="A1"))
    data(gql(http, a["token"], CHECK_OUT, item="A1", patron="FA-2"))
    data(gql(http, a["token"], HOLD, record=r1, patron="FA-1"))
    data(gql(http, a["token"], SHARE, id=r3))
    assert entry_of(services, a["slug"], r1, copies=1) == entry_of(
        services, b["slug"], r4, copies=1)

    expected_a = {"records": 3, "items": 2, "activePatrons": 2, "holdsWaiting": 1,
                  "overdueLoans": 0, "sharedRecordsContributed": 1, "titlesHeld": 2,
                  "uniqueHoldings": 1}
    expected_b = {"records": 2, "items": 2, "activePatrons": 1, "holdsWaiting": 0,
                  "overdueLoans": 0, "sharedRecordsContributed": 0, "titlesHeld": 2,
                  "uniqueHoldings": 1}
    expected_c = {"records": 0, "items": 0, "activePatrons": 0, "holdsWaiting": 0,
                  "overdueLoans": 0, "sharedRecordsContributed": 0, "titlesHeld": 0,
                  "uniqueHoldings": 0}
    found = eventually(lambda: data(gql(http, office, FIGURES))["consortiumFigures"],
                       lambda f: _without_daily(_counts(f, a["slug"])) == expected_a
                       and _without_daily(_counts(f, b["slug"])) == expected_b)
    assert _without_daily(_counts(found, a["slug"])) == expected_a
    assert _without_daily(_counts(found, b["slug"])) == expected_b
    assert _without_daily(_counts(found, c["slug"])) == expected_c
    today = datetime.now(UTC).date()
    daily_a = (_counts(found, a["slug"]) or {})["daily"]
    assert len(daily_a) == 30
    assert daily_a[-1] == {"day": today.isoformat(), "loans": 2, "returns": 1}
    assert all(d["loans"] == d["returns"] == 0 for d in daily_a[:-1])
    pairs = {(o["a"]["slug"], o["b"]["slug"]): o for o in found["overlap"]}
    ab = pairs[a["slug"], b["slug"]]
    assert (ab["sharedTitles"], ab["aTitles"], ab["bTitles"], ab["jaccard"]) == (
        1, 2, 2, round(1 / 3, 4))
    assert pairs[a["slug"], c["slug"]]["sharedTitles"] == 0
    for name in ("records", "items", "activePatrons", "holdsWaiting"):
        assert found["totals"][name] == sum(m["figures"][name] for m in found["members"])

    with services.view(CirculationFiguresView) as view:  # a year on, the open loan is late
        later = view.totals([a["slug"]], datetime.now(UTC) + timedelta(days=365))
    assert later[a["slug"]]["overdue_loans"] == 1

    mine = data(gql(http, b["token"], FIGURES, since=(today - timedelta(days=6)).isoformat()))[
        "consortiumFigures"]
    assert [m["member"]["slug"] for m in mine["members"]] == [b["slug"]]
    assert _without_daily(mine["members"][0]["figures"]) == expected_b
    assert len(mine["members"][0]["figures"]["daily"]) == 7
    assert mine["totals"]["records"] == found["totals"]["records"]
    assert all(b["slug"] in (o["a"]["slug"], o["b"]["slug"]) for o in mine["overlap"])

    suspended = http.post(f"/admin/tenants/{b['slug']}/suspend", json={"reason": "test"},
                          headers=admin_headers)
    assert suspended.status_code == 200, suspended.text
    after = eventually(lambda: data(gql(http, office, FIGURES))["consortiumFigures"],
                       lambda f: (_counts(f, a["slug"]) or {}).get("uniqueHoldings") == 2)
    assert _counts(after, b["slug"]) is None
    assert (_counts(after, a["slug"]) or {})["uniqueHoldings"] == 2  # X is a's alone now


def test_figures_refuse_a_bad_period_and_a_member_without_read_scope(
    http: TestClient, members: dict[str, Any]
) -> None:
    a = members["a"]
    today = datetime.now(UTC).date()
    assert code(gql(http, a["token"], FIGURES, since=today.isoformat(),
                    until=(today - timedelta(days=1)).isoformat())) == "INVALID_INPUT"
    assert code(gql(http, a["token"], FIGURES,
                    since=(today - timedelta(days=400)).isoformat())) == "INVALID_INPUT"
    assert code(gql(http, a["token"], FIGURES, since="yesterday")) == "INVALID_INPUT"
    assert code(gql(http, "not-a-token", FIGURES)) == "UNAUTHENTICATED"
