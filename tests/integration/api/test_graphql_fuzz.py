"""A bounded fuzz run over GraphQL: every mutation's input and the queries' arguments, built
from the schema itself, filled with random Unicode, control characters, NUL, lone surrogates,
huge numbers, wrong types and deep nesting (sometimes the ids of a real record, item and
patron, so input reaches the aggregates and their events). No answer is a 5xx or an
`INTERNAL` error, and afterwards every read model has caught up with the library's log and
the office's, with nothing parked (issue 12, findings 1, 9 and the fuzz run)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.dependencies import Services, projection_status
from api.graphql.schema import schema
from projections.parked import parked
from tenants.scope import OFFICE
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, data, gql
from tests.integration.api.test_circulation import REGISTER
from tests.integration.api.test_openapi_fuzz import fuzzed_library

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.fuzz]
EXAMPLES = 20  # per mutation or query: the run stays well under a minute on two cores
HOSTILE_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\x1b[2J", "\u202egnp.exe", "\ufeff",
                "\t\n\r", "'; DROP TABLE records; --", "%s%s%n", "${jndi:x}", "\\", '"',
                "\U0001d518\U0001d52b", "thư viện", "图书馆", "e\u0301" * 50, " ", "", "x" * 5000]
HUGE = [2**31, -(2**31) - 1, 2**63, 10**30, -(10**30), 1e308, -1e308, 5e-324]


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for n in range(depth):
        value = [value] if n % 2 else {"a": value}
    return value


TEXT = st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_TEXT),
                 st.text(st.characters(max_codepoint=0x1F), max_size=10))
PLAIN = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1,
                max_size=20)
WILD = st.one_of(st.sampled_from(HUGE), st.sampled_from([_nested(10), _nested(40), _nested(200)]),
                 st.none(), st.booleans(), st.lists(TEXT, max_size=3),
                 st.dictionaries(TEXT, TEXT, max_size=2))


def mostly(inner: st.SearchStrategy[Any], tame: bool) -> st.SearchStrategy[Any]:
    """The value's own kind nine times in ten, a wild one else; always its own when tame."""
    return inner if tame else st.integers(0, 9).flatmap(lambda n: WILD if n == 0 else inner)


def scalar(kind: GraphQLScalarType, known: list[str], tame: bool) -> st.SearchStrategy[Any]:
    """Values for a scalar of its own kind, hostile ones included unless tame."""
    if kind.name == "Int":
        return st.integers(0, 50) if tame else st.one_of(st.integers(-5, 1000),
                                                         st.sampled_from(HUGE))
    if kind.name == "Float":
        return st.floats(allow_nan=False, allow_infinity=False) if not tame else st.floats(
            0, 100)
    if kind.name == "Boolean":
        return st.booleans()
    text = PLAIN if tame else TEXT
    if kind.name == "Date":
        return st.one_of(st.dates().map(str), text)
    if kind.name == "DateTime":
        return st.one_of(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat), text)
    return st.one_of(text, st.sampled_from(known), st.uuids().map(str))


def value_of(kind: GraphQLInputType, known: list[str], tame: bool,
             depth: int = 0) -> st.SearchStrategy[Any]:
    """Input for a GraphQL input type, now and then replaced by a wild value unless tame."""
    if isinstance(kind, GraphQLNonNull):
        return value_of(kind.of_type, known, tame, depth)
    if isinstance(kind, GraphQLList):
        return st.lists(value_of(kind.of_type, known, tame, depth + 1), max_size=3)
    if isinstance(kind, GraphQLInputObjectType):
        if depth > 3:
            return st.just({})
        fields = {n: value_of(f.type, known, tame, depth + 1) for n, f in kind.fields.items()}
        required = [n for n, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)]
        return mostly(st.fixed_dictionaries(
            {n: fields[n] for n in required},
            optional={n: v for n, v in fields.items() if n not in required}), tame)
    if isinstance(kind, GraphQLEnumType):
        return mostly(st.sampled_from(list(kind.values)), tame)
    assert isinstance(kind, GraphQLScalarType)
    return mostly(scalar(kind, known, tame), tame)


def document(operation: str, name: str, field: GraphQLField) -> str:
    """`mutation($a: T!) { name(a: $a) { __typename } }` for a field of the schema."""
    args = field.args
    declared = ", ".join(f"${a}: {t.type}" for a, t in args.items())
    passed = ", ".join(f"{a}: ${a}" for a in args)
    selection = " { __typename }" if isinstance(get_named_type(field.type),
                                                GraphQLObjectType) else ""
    return (f"{operation}{f'({declared})' if declared else ''} "
            f"{{ {name}{f'({passed})' if passed else ''}{selection} }}")


@pytest.fixture(scope="module")
def target(http: TestClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A library with a record, an item and a patron, its token and the office's, and the
    ids."""
    slug, token = fuzzed_library(http, admin_headers)
    record = data(gql(http, token, CREATE, input={"title": "Fuzzed"}))["createRecord"]["record"]
    data(gql(http, token, ADD_ITEM, input={"recordId": record["id"], "barcode": "FZ-1",
                                           "location": {"branch": "MAIN"},
                                           "materialType": "book"}))
    data(gql(http, token, REGISTER, input={"barcode": "FP-1", "name": "Fuzz Patron",
                                           "patronGroup": "staff", "expiresOn": "2030-06-30"}))
    return {"slug": slug, "tokens": [f"Bearer {token}", admin_headers["Authorization"]],
            "known": [record["id"], "FZ-1", "FP-1"],
            "answered": 0}


def fuzz(http: TestClient, target: dict[str, Any], operation: str, name: str,
         field: GraphQLField) -> int:
    """EXAMPLES requests with generated arguments; how many were sent (answers without
    errors are counted in target["answered"])."""
    query = document(operation, name, field)
    arguments = st.one_of(*(st.fixed_dictionaries({
        a: value_of(t.type, target["known"], tame) for a, t in field.args.items()})
        for tame in (True, False)))  # half reach the aggregates, half are hostile
    sent = []

    @given(arguments, st.sampled_from(target["tokens"]))  # the library's or the office's
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(variables: dict[str, Any], token: str) -> None:
        sent.append(variables)
        body = json.dumps({"query": query, "variables": variables})  # lone surrogates escaped
        answer = http.post("/graphql", content=body.encode(), headers={
            "Authorization": token, "Content-Type": "application/json"})
        assert answer.status_code < 500, (name, variables, answer.text)
        if answer.headers.get("content-type", "").startswith("application/json"):
            result = answer.json()
            codes = [(e.get("extensions") or {}).get("code") for e in result.get("errors") or []]
            assert "INTERNAL" not in codes, (name, variables, result)
            assert "Traceback" not in answer.text
            target["answered"] += not codes

    run()
    return len(sent)


def _caught_up(services: Services, tenants: tuple[str, ...]) -> list[dict[str, object]]:
    """The rows of these tenants' read models still behind after 30 s (none, normally)."""
    deadline = time.monotonic() + 30
    while True:
        behind = [r for r in projection_status(services)
                  if r["tenant"] in tenants and r["lag"] != 0]
        if not behind or time.monotonic() > deadline:
            return behind
        time.sleep(0.2)


def _parked(services: Services, tenants: tuple[str, ...]) -> list[dict[str, object]]:
    with services.database.connection() as conn, conn.cursor() as cur:
        return [p for p in parked(cur) if p["tenant"] in tenants]


def test_generated_graphql_input_never_breaks_the_service(
        http: TestClient, services: Services, target: dict[str, Any]) -> None:
    parked_before = _parked(services, (target["slug"], OFFICE))
    logged = services.scope(target["slug"]).last_position()
    graphql = schema._schema
    assert graphql.mutation_type is not None
    counts = {f"mutation {n}": fuzz(http, target, "mutation", n, f)
              for n, f in graphql.mutation_type.fields.items()}
    counts |= {f"query {n}": fuzz(http, target, "query", n, f)
               for n, f in graphql.query_type.fields.items() if f.args}
    print(f"GraphQL fuzz: {sum(counts.values())} requests over {len(counts)} "
          f"mutations and queries, {target['answered']} answered without error, "
          f"{services.scope(target['slug']).last_position() - logged} events recorded")
    assert len(counts) >= len(graphql.mutation_type.fields) + 5
    assert _caught_up(services, (target["slug"], OFFICE)) == []
    assert _parked(services, (target["slug"], OFFICE)) == parked_before  # no poison event
