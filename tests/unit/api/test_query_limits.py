"""A request's cost and a library's share, without I/O."""

from __future__ import annotations

import asyncio

import pytest
from graphql import parse

from api.graphql.limits import (
    MAX_ALIASES,
    RateLimitedError,
    TenantShare,
    TooComplexError,
    check_request,
)
from api.graphql.schema import schema

GRAPH = schema._schema  # the graphql-core schema strawberry built


def _check(query: str, **variables: object) -> None:
    check_request(GRAPH, parse(query), variables, None)


def test_a_page_of_records_with_their_items_is_allowed() -> None:
    _check("{ records(first: 100) { edges { node { id title items { barcode status } } } } }")


def test_many_aliases_of_a_heavy_query_are_refused() -> None:
    aliases = " ".join(f"a{i}: records(first: 100) {{ edges {{ node {{ id }} }} }}"
                       for i in range(MAX_ALIASES + 1))
    with pytest.raises(TooComplexError, match="aliases"):
        _check(f"{{ {aliases} }}")


def test_pages_multiply_the_cost_of_what_they_hold() -> None:
    page = ("records(first: 100) { edges { node { title authors isbns "
            "items { barcode status epc callNumber } } } }")
    _check(f"{{ a: {page} }}")  # one page: about 5,000
    heavy = " ".join(f"a{i}: {page}" for i in range(6))
    with pytest.raises(TooComplexError, match="cost more than"):
        _check(f"{{ {heavy} }}")


def test_a_page_given_as_a_variable_counts_at_its_value() -> None:
    query = "query($n: Int) { records(first: $n) { edges { node { items { barcode } } } } }"
    _check(query, n=10)
    many = " ".join(f"a{i}: records(first: $n) {{ edges {{ node {{ items {{ barcode status "
                    f"epc callNumber }} }} }} }}" for i in range(20))
    with pytest.raises(TooComplexError):
        _check(f"query($n: Int) {{ {many} }}", n=100)


def test_two_mutations_in_one_request_are_refused() -> None:
    with pytest.raises(TooComplexError, match="one at a time"):
        _check('mutation { a: createRecord(input: {title: "A"}) { record { id } } '
               'b: createRecord(input: {title: "B"}) { record { id } } }')


def test_a_library_over_its_rate_waits_and_another_is_not_affected() -> None:
    async def run() -> None:
        share = TenantShare(concurrency=10, rate=1, burst=2)
        await share.enter("a")
        await share.enter("a")
        with pytest.raises(RateLimitedError) as refused:
            await share.enter("a")
        assert refused.value.retry_after_s > 0
        await share.enter("b")  # another library's share is its own

    asyncio.run(run())


def test_a_library_at_its_concurrency_waits_for_a_place_then_is_refused() -> None:
    async def run() -> None:
        share = TenantShare(concurrency=1, rate=100, burst=100, wait_s=0.2)
        await share.enter("a")
        waiting = asyncio.create_task(share.enter("a"))
        await asyncio.sleep(0.05)
        share.leave("a")  # the place is given back: the waiting one gets it
        await waiting
        with pytest.raises(RateLimitedError, match="already has 1"):
            await share.enter("a")
        await share.enter("b")

    asyncio.run(run())


UNION_NODE = ("id title altTitles authors isbns issns year language format edition "
              "matchReasons records { tenant { slug name } recordId } "
              "holdings { tenant { slug name } items available }")
UNION_FACETS = ("facets { total languages { value count } yearRange { first last } "
                "formats { value count } holdingLibraries { tenant { slug } count } "
                "availableNow }")


def test_a_page_of_union_entries_with_holdings_and_facets_is_allowed() -> None:
    _check(f"{{ unionCatalog(first: 100) {{ edges {{ node {{ {UNION_NODE} }} }} "
           f"{UNION_FACETS} }} }}")


def test_union_catalog_searches_and_facets_weigh_more_than_a_field() -> None:
    page = f"unionCatalog(first: 100) {{ {UNION_FACETS} }}"
    _check(f"{{ a: {page} }}")
    with pytest.raises(TooComplexError, match="cost"):
        _check("{ " + " ".join(f"a{i}: {page}" for i in range(3)) + " }")  # ~30,000
