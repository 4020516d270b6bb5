"""The union catalog end to end: members' records clustered into one entry that every
member and the office read alike, holdings following check-out and check-in, a suspended
member leaving the view, the office's merges and splits (and nobody else's), surviving a
rebuild."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from infra.nats import connect, purge_tenant_events, tenant_subjects
from projections.postgres import active_generation
from projections.rebuild import rebuild
from projections.union_catalog.postgres import UnionCatalogTables
from tenants.consortium import log_name
from tenants.moves import TenantMoves
from tenants.read_models import READ_MODELS
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, code, data, gql
from tests.integration.api.test_circulation import CHECK_IN, CHECK_OUT, REGISTER
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

NODE = """id title altTitles authors isbns issns year language format edition matchReasons
  records { tenant { slug name } recordId } holdings { tenant { slug name } items available }"""
SEARCH = f"""query($q: String, $first: Int, $after: String, $filters: UnionCatalogFilters) {{
  unionCatalog(query: $q, first: $first, after: $after, filters: $filters) {{
    edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage endCursor }}
    facets {{ total languages {{ value count }} yearRange {{ first last }}
      formats {{ value count }} holdingLibraries {{ tenant {{ slug name }} count }}
      availableNow }} }} }}"""
ENTRY = f"query($id: ID!) {{ unionCatalogEntry(id: $id) {{ {NODE} }} }}"
OWN = "query($id: ID!) { record(id: $id) { id unionEntry { id title } } }"
MERGE = """mutation($ids: [ID!]!, $key: String) {
  mergeUnionEntries(input: {ids: $ids, note: "one edition", idempotencyKey: $key}) {
    entry { id records { tenant { slug } recordId } } } }"""
SPLIT = """mutation($id: ID!, $records: [ID!]!, $key: String) {
  splitUnionEntry(input: {id: $id, recordIds: $records, note: "two editions",
                          idempotencyKey: $key}) {
    entry { id records { recordId } } splitOff { id records { recordId } } } }"""


@pytest.fixture
def members(http: TestClient, admin_headers: dict[str, str],
            unique_slug: str) -> dict[str, Any]:
    """Two member libraries' tokens and slugs, and the office's token."""
    found: dict[str, Any] = {
        "office": admin_headers["Authorization"].removeprefix("Bearer "), "slugs": {}}
    for name in ("a", "b"):
        slug = f"{unique_slug}-{name}"
        http.post("/admin/tenants", json={"slug": slug, "name": f"Library {name.upper()}"},
                  headers=admin_headers)
        client = http.post(f"/admin/tenants/{slug}/clients",
                           json={"name": "desk", "scopes": ["library:read", "library:write"]},
                           headers=admin_headers).json()
        found[name] = token_for(http, client["client_id"], client["client_secret"])
        found["slugs"][name] = slug
    return found


def _until(check: Callable[[], Any], what: str) -> Any:
    """The first truthy answer of check (the union catalog follows the events a moment
    after the command that recorded them)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the union catalog did not show {what} in time")


def _catalogue(http: TestClient, token: str, title: str, year: str = "2004") -> str:
    created = data(gql(http, token, CREATE, input={
        "title": title, "authors": ["Hesse, Hermann"], "year": year, "publisher": "Penguin",
        "languages": ["ger"]}))
    record_id: str = created["createRecord"]["record"]["id"]
    return record_id


def _entry_of(http: TestClient, token: str, record_id: str) -> str | None:
    found = data(gql(http, token, OWN, id=record_id))["record"]["unionEntry"]
    return found["id"] if found else None


def _search(http: TestClient, token: str, query: str, **filters: Any) -> dict[str, Any]:
    found: dict[str, Any] = data(gql(http, token, SEARCH, q=query, filters=filters or None))
    return found["unionCatalog"]


def test_members_records_are_one_entry_every_member_reads_with_holdings_following_loans(
        http: TestClient, members: dict[str, Any], unique_slug: str) -> None:
    a, b, office = members["a"], members["b"], members["office"]
    title = f"Steppenwolf {unique_slug}"
    ours, theirs = _catalogue(http, a, title), _catalogue(http, b, title)
    data(gql(http, a, ADD_ITEM, input={"recordId": ours, "barcode": "U-1",
                                       "location": {"branch": "MAIN"}}))
    entry_id = _until(lambda: _entry_of(http, a, ours) == _entry_of(http, b, theirs)
                      and _entry_of(http, a, ours), "both records in one entry")

    answers = [_search(http, token, title) for token in (a, b, office)]
    assert answers[0] == answers[1] == answers[2]  # the same union view for everyone
    [edge] = answers[0]["edges"]
    node = edge["node"]
    assert node["id"] == entry_id
    assert (node["title"], node["year"], node["language"], node["format"]) == (
        title, 2004, "ger", "unknown")  # catalogued by hand: no leader to read
    assert sorted((r["tenant"]["slug"], r["recordId"]) for r in node["records"]) == sorted(
        [(members["slugs"]["a"], ours), (members["slugs"]["b"], theirs)])
    assert any("title exact" in reason for reason in node["matchReasons"])
    assert answers[0]["facets"]["total"] == 1
    assert answers[0]["facets"]["holdingLibraries"][0]["tenant"]["name"] == "Library A"

    def holdings() -> list[tuple[str, int, int]]:
        entry = data(gql(http, b, ENTRY, id=entry_id))["unionCatalogEntry"]
        return [(h["tenant"]["name"], h["items"], h["available"]) for h in entry["holdings"]]

    assert holdings() == [("Library A", 1, 1), ("Library B", 0, 0)]
    data(gql(http, a, REGISTER, input={"barcode": "UP-1", "name": "Reader",
                                       "patronGroup": "adult", "expiresOn": "2030-01-01"}))
    data(gql(http, a, CHECK_OUT, item="U-1", patron="UP-1"))
    _until(lambda: holdings() == [("Library A", 1, 0), ("Library B", 0, 0)], "the loan")
    assert _search(http, b, title, availableNow=True)["edges"] == []
    data(gql(http, a, CHECK_IN, item="U-1"))
    _until(lambda: holdings() == [("Library A", 1, 1), ("Library B", 0, 0)], "the return")
    assert [e["node"]["id"] for e in _search(http, b, title, availableNow=True)["edges"]] == [
        entry_id]
    # A member sees its own records' entries, never another's record through `record`.
    assert data(gql(http, b, OWN, id=ours))["record"] is None


def test_a_suspended_member_leaves_the_union_view_and_returns_when_reactivated(
        http: TestClient, members: dict[str, Any], admin_headers: dict[str, str],
        services: Services, unique_slug: str) -> None:
    a, b = members["a"], members["b"]
    title = f"Siddhartha {unique_slug}"
    ours, theirs = _catalogue(http, a, title), _catalogue(http, b, title)
    _until(lambda: _entry_of(http, a, ours) == _entry_of(http, b, theirs)
           and _entry_of(http, a, ours), "both records in one entry")
    path = f"/admin/tenants/{members['slugs']['a']}"

    def slugs() -> list[str]:  # of the entry B's record is in (its id follows its members)
        entry = data(gql(http, b, ENTRY, id=_entry_of(http, b, theirs)))["unionCatalogEntry"]
        return sorted(r["tenant"]["slug"] for r in entry["records"])

    def clustered() -> list[str]:  # the members of B's record's entry, as stored
        with psycopg.connect(services.settings.database_url) as conn:
            store = UnionCatalogTables(active_generation(conn.cursor(), "union_catalog"))
            found = conn.execute(sql.SQL(
                "SELECT e.members FROM {} e JOIN {} r ON r.entry_id = e.id "
                "WHERE r.tenant = %s AND r.record_id = %s").format(
                    store.t["entries"], store.t["records"]),
                [members["slugs"]["b"], theirs]).fetchone()
        return sorted(found[0]) if found else []

    both = sorted([f"{members['slugs']['a']}:{ours}", f"{members['slugs']['b']}:{theirs}"])
    assert clustered() == both
    http.post(f"{path}/suspend", json={"reason": "fees"}, headers=admin_headers)
    _until(lambda: slugs() == [members["slugs"]["b"]], "the suspension")
    facets = _search(http, b, title)["facets"]
    assert [h["tenant"]["slug"] for h in facets["holdingLibraries"]] == [members["slugs"]["b"]]
    # its records take no part in matching while it is suspended (they could join others')
    assert clustered() == [f"{members['slugs']['b']}:{theirs}"]
    http.post(f"{path}/reactivate", headers=admin_headers)
    _until(lambda: slugs() == sorted(members["slugs"].values()), "the reactivation")
    assert clustered() == both


def _published(url: str, stream: str, subjects: str) -> int:
    """How many messages of these subjects the stream holds."""

    async def count() -> int:
        client = await connect(url)
        try:
            info = await client.jetstream().stream_info(stream, subjects_filter=subjects)
            return sum((info.state.subjects or {}).values())
        finally:
            await client.close()

    return asyncio.run(count())


def test_a_deleted_member_leaves_the_union_catalog_at_once(
        http: TestClient, members: dict[str, Any], admin_headers: dict[str, str],
        services: Services, unique_slug: str) -> None:
    a, b = members["a"], members["b"]
    gone_slug = members["slugs"]["a"]
    shared_title, own_title = f"Demian {unique_slug}", f"Unterm Rad {unique_slug}"
    ours, theirs = _catalogue(http, a, shared_title), _catalogue(http, b, shared_title)
    only_ours = _catalogue(http, a, own_title)
    data(gql(http, a, ADD_ITEM, input={"recordId": ours, "barcode": "D-1",
                                       "location": {"branch": "MAIN"}}))
    _until(lambda: _entry_of(http, a, ours) == _entry_of(http, b, theirs)
           and _entry_of(http, a, ours), "both records in one entry")
    own_entry = _until(lambda: _entry_of(http, a, only_ours), "the title only A holds")
    assert http.post(f"/admin/tenants/{gone_slug}/archive",
                     headers=admin_headers).status_code == 200

    settings = services.settings
    assert settings.nats_url is not None
    assert _published(settings.nats_url, settings.events_stream,
                      tenant_subjects(settings.nats_prefix, gone_slug)) > 0
    removed = TenantMoves(services.consortium, purge_events=partial(
        purge_tenant_events, settings.nats_url, settings.events_stream,
        settings.nats_prefix)).delete(gone_slug)
    assert removed.events_purged
    # no consumer made later (a rebuild's) can replay its events into the read models
    assert _published(settings.nats_url, settings.events_stream,
                      tenant_subjects(settings.nats_prefix, gone_slug)) == 0

    assert removed.read_model_rows["projections.union_catalog"] >= 4  # records, copy, entries
    with psycopg.connect(services.settings.database_url) as conn:
        generation = active_generation(conn.cursor(), "union_catalog")
        store = UnionCatalogTables(generation)
        for base in ("records", "items", "lendings"):
            left = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s").format(
                store.t[base]), [gone_slug]).fetchone()
            assert left == (0,), f"{base} keeps rows of the deleted member"
        mentioned = conn.execute(sql.SQL(
            "SELECT (SELECT count(*) FROM {} WHERE EXISTS (SELECT 1 FROM unnest(members) m "
            "WHERE m LIKE %s)), (SELECT count(*) FROM {} WHERE a LIKE %s OR b LIKE %s), "
            "(SELECT count(*) FROM {} WHERE record LIKE %s)").format(
                store.t["entries"], store.t["edges"], store.t["filed"]),
            [f"{gone_slug}:%"] * 4).fetchone()
        assert mentioned == (0, 0, 0)  # no entry, match or key names its records
        [(members_left, title)] = conn.execute(sql.SQL(
            "SELECT e.members, e.title FROM {} e JOIN {} r ON r.entry_id = e.id "
            "WHERE r.tenant = %s AND r.record_id = %s").format(
                store.t["entries"], store.t["records"]),
            [members["slugs"]["b"], theirs]).fetchall()
        assert (members_left, title) == ([f"{members['slugs']['b']}:{theirs}"], shared_title)
        assert conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(
            store.t["entries"]), [own_entry]).fetchone() == (0,)  # only it held that title
    entry = data(gql(http, b, ENTRY, id=_entry_of(http, b, theirs)))["unionCatalogEntry"]
    assert [r["tenant"]["slug"] for r in entry["records"]] == [members["slugs"]["b"]]


def test_the_office_splits_and_merges_entries_which_survive_a_rebuild(
        http: TestClient, members: dict[str, Any], services: Services,
        unique_slug: str) -> None:
    a, b, office = members["a"], members["b"], members["office"]
    title = f"Demian {unique_slug}"
    ours, theirs = _catalogue(http, a, title), _catalogue(http, b, title)
    entry_id = _until(lambda: _entry_of(http, a, ours) == _entry_of(http, b, theirs)
                      and _entry_of(http, a, ours), "both records in one entry")

    assert code(gql(http, a, SPLIT, id=entry_id, records=[theirs])) == "FORBIDDEN"
    split = data(gql(http, office, SPLIT, id=entry_id, records=[theirs], key="split-1"))
    answer = split["splitUnionEntry"]
    assert [r["recordId"] for r in answer["entry"]["records"]] == [ours]
    assert [r["recordId"] for r in answer["splitOff"][0]["records"]] == [theirs]
    again = data(gql(http, office, SPLIT, id=entry_id, records=[theirs], key="split-1"))
    assert again == split  # the first answer, nothing recorded twice
    apart = [_entry_of(http, a, ours), _entry_of(http, b, theirs)]
    assert apart[0] != apart[1]

    assert code(gql(http, b, MERGE, ids=apart)) == "FORBIDDEN"
    assert code(gql(http, office, MERGE, ids=apart[:1])) == "INVALID_INPUT"
    assert code(gql(http, office, MERGE, ids=[apart[0], apart[0]])) == "INVALID_INPUT"
    unknown = "00000000-0000-0000-0000-000000000000"
    assert code(gql(http, office, MERGE, ids=[apart[0], unknown])) == "NOT_FOUND"
    assert code(gql(http, office, MERGE, ids=[apart[0], "not-an-id"])) == "INVALID_INPUT"
    assert code(gql(http, office, SPLIT, id=apart[0], records=[theirs])) == (
        "RECORD_NOT_IN_ENTRY")
    assert code(gql(http, office, SPLIT, id=apart[0], records=[ours])) == "INVALID_INPUT"
    assert code(gql(http, office, SPLIT, id=unknown, records=[ours])) == "NOT_FOUND"
    assert _entry_of(http, a, ours) == apart[0]  # nothing recorded by the refusals

    merged = data(gql(http, office, MERGE, ids=apart))["mergeUnionEntries"]["entry"]
    assert sorted(r["recordId"] for r in merged["records"]) == sorted([ours, theirs])
    data(gql(http, office, SPLIT, id=merged["id"], records=[theirs]))
    live = [_entry_of(http, a, ours), _entry_of(http, b, theirs)]
    assert live[0] != live[1]  # the later decision stands

    database_url = str(services.settings.database_url)
    rebuild(READ_MODELS["union_catalog"], database_url, log_name)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        assert active_generation(cur, "union_catalog") >= 2
    assert [_entry_of(http, a, ours), _entry_of(http, b, theirs)] == live


def test_union_catalog_bad_input_gets_a_code(http: TestClient,
                                             members: dict[str, Any]) -> None:
    a = members["a"]
    for variables, expected in (({"first": 0}, "INVALID_INPUT"),
                                ({"after": "bm90IG91cnM="}, "INVALID_INPUT"),
                                ({"filters": {"yearFrom": 2000, "yearTo": 1990}},
                                 "INVALID_INPUT"),
                                ({"q": "x\u0000y"}, "INVALID_INPUT")):
        assert code(gql(http, a, SEARCH, **variables)) == expected
    assert code(gql(http, a, ENTRY, id="nope")) == "INVALID_INPUT"
    assert data(gql(http, a, ENTRY, id="00000000-0000-0000-0000-000000000000")) == {
        "unionCatalogEntry": None}
