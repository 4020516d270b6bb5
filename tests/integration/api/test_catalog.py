"""The catalog end to end: MARC imports over REST, records and items through GraphQL, on
real PostgreSQL and NATS with the relay and the local catalog projection running."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
SHARED = Path(__file__).parents[2] / "data" / "marc" / "shared"  # copies of ../shared/data/marc
OURS = Path(__file__).parents[2] / "data" / "marc"


def gql(http: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """A GraphQL call's JSON answer."""
    response = http.post("/graphql", json={"query": query, "variables": variables},
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer that must have no errors."""
    assert "errors" not in body, body["errors"]
    found: dict[str, Any] = body["data"]
    return found


def code(body: dict[str, Any]) -> str:
    """The stable code of an answer's first error."""
    assert body.get("errors"), body
    found: str = body["errors"][0]["extensions"]["code"]
    return found


def import_bytes(http: TestClient, token: str, body: bytes) -> dict[str, Any]:
    """Posts a file and polls its import until it is done; the final report."""
    started = http.post("/catalog/imports", content=body,
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/marc"})
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/catalog/imports/{started.json()['import_id']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = http.get(started.headers["Location"],
                          headers={"Authorization": f"Bearer {token}"}).json()
        if report["status"] != "running":
            assert report["status"] == "done", report
            result: dict[str, Any] = report["result"]
            return result
        time.sleep(0.05)
    raise AssertionError("the import did not finish in 60 s")


def wait_for_records(http: TestClient, token: str, count: int) -> None:
    """Imports are asynchronous: waits until the local catalog lists `count` records."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        edges = data(gql(http, token, "{ records(first: 100) { edges { cursor } } }"))
        if len(edges["records"]["edges"]) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the local catalog did not reach {count} records")


SEARCH = """query($q: String, $first: Int, $after: String) {
  records(query: $q, first: $first, after: $after) {
    edges { cursor node { id title isbns authors year language altTitles } }
    pageInfo { hasNextPage endCursor } } }"""


def titles(http: TestClient, token: str, query: str) -> list[str]:
    """The titles a search finds."""
    found = data(gql(http, token, SEARCH, q=query, first=50))["records"]["edges"]
    return [edge["node"]["title"] for edge in found]


def test_marc21_import_is_searchable_and_reimport_changes_nothing(
    http: TestClient, library: dict[str, str]
) -> None:
    token = library["token"]
    first = import_bytes(http, token, (SHARED / "pymarc" / "marc.dat").read_bytes())
    assert first == {"read": 20, "created": 20, "updated": 0, "unchanged": 0, "skipped": 0,
                     "items_added": 0, "errors": [], "warnings": []}
    wait_for_records(http, token, 20)
    assert titles(http, token, "pragmatic programmer") == [
        "The pragmatic programmer : from journeyman to master"]
    for isbn in ("020161622X", "0-201-61622-X", "978-0-201-61622-4", "9780201616224"):
        assert titles(http, token, isbn) == [
            "The pragmatic programmer : from journeyman to master"], isbn
    node = data(gql(http, token, SEARCH, q="pragmatic"))["records"]["edges"][0]["node"]
    assert node["authors"] == ["Hunt, Andrew, 1964-", "Thomas, David, 1956-"]
    assert node["year"] == "2000"
    assert node["language"] == "eng"
    record = data(gql(http, token, "query($id: ID!) { record(id: $id) { id marcxml "
                      "classification { lc dewey } } }", id=node["id"]))["record"]
    assert '<subfield code="a">The pragmatic programmer :</subfield>' in record["marcxml"]
    assert record["classification"] == {"lc": "QA76.6 .H857 2000", "dewey": "005.1"}

    again = import_bytes(http, token, (SHARED / "pymarc" / "marc.dat").read_bytes())
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 20)


def test_pagination_walks_every_record_once(http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    import_bytes(http, token, (SHARED / "pymarc" / "marc.dat").read_bytes())
    wait_for_records(http, token, 20)
    seen: list[str] = []
    after = None
    while True:
        page = data(gql(http, token, SEARCH, first=6, after=after))["records"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 20
    assert len(set(seen)) == 20
    assert code(gql(http, token, SEARCH, first=6, after="not-a-cursor")) == "INVALID_INPUT"
    assert code(gql(http, token, SEARCH, first=0)) == "INVALID_INPUT"


def test_chinese_japanese_arabic_and_vietnamese_titles_are_searchable(
    http: TestClient, library: dict[str, str]
) -> None:
    token = library["token"]
    result = import_bytes(http, token, (OURS / "cjk_vi.xml").read_bytes())
    assert (result["read"], result["created"], result["skipped"]) == (5, 4, 1)
    assert result["items_added"] == 3
    assert result["errors"] == [{"record": 5, "offset": result["errors"][0]["offset"],
                                 "reason": "no title: field 245 $a is missing or empty"}]
    wait_for_records(http, token, 4)
    assert titles(http, token, "紅樓夢") == ["Hong lou meng"]
    assert titles(http, token, "樓夢") == ["Hong lou meng"]  # no spaces between words
    assert titles(http, token, "曹雪芹") == ["Hong lou meng"]
    assert titles(http, token, "吾輩は猫") == ["Wagahai wa neko de aru"]
    assert titles(http, token, "ليلة") == ["Alf laylah wa-laylah"]
    vietnamese = "Lịch sử thư viện Việt Nam : từ khởi đầu đến nay"
    assert titles(http, token, "thu vien") == [vietnamese]
    assert titles(http, token, "thư viện việt") == [vietnamese]
    assert titles(http, token, "dai hoc quoc gia") == [vietnamese]  # the publisher, đ → d
    node = data(gql(http, token, SEARCH, q="Hong lou"))["records"]["edges"][0]["node"]
    assert node["altTitles"] == ["紅樓夢"]
    assert node["language"] == "chi"
    record = data(gql(http, token, """query($id: ID!) { record(id: $id) {
        classification { clc } altAuthors
        items { barcode callNumber callNumberScheme status location { branch collection shelf }
        } } }""", id=node["id"]))["record"]
    assert record["classification"]["clc"] == "I242.4"
    assert record["altAuthors"] == ["曹雪芹, 1715?-1763"]
    assert record["items"][0] == {
        "barcode": "CN-0001", "callNumber": "I242.4/C1", "callNumberScheme": "clc",
        "status": "AVAILABLE", "location": {"branch": "MAIN", "collection": "CHI",
                                            "shelf": "STACKS"}}


def test_dirty_files_skip_bad_records_and_keep_the_rest(
    http: TestClient, library: dict[str, str]
) -> None:
    token = library["token"]
    clean = (SHARED / "pymarc" / "marc.dat").read_bytes()
    records = clean.split(b"\x1d")[:-1]
    records[1] = b"99999" + records[1][5:]  # a leader that states a wrong length
    truncated = records[19][: len(records[19]) // 2]  # the file ends inside record 20
    dirty = b"\x1d".join(records[:19]) + b"\x1d" + truncated
    result = import_bytes(http, token, dirty)
    assert (result["read"], result["created"], result["skipped"]) == (20, 19, 1)
    assert result["errors"][0]["record"] == 20
    assert result["errors"][0]["offset"] == len(b"\x1d".join(records[:19])) + 1
    assert "truncated" in result["errors"][0]["reason"]

    invalid = import_bytes(http, token, (SHARED / "pymarc" / "utf8_invalid.mrc").read_bytes())
    assert invalid["skipped"] == 1
    assert "field 260: subfield code" in invalid["errors"][0]["reason"]
    marc8 = import_bytes(http, token, (SHARED / "pymarc" / "marc8.dat").read_bytes())
    assert marc8["created"] == 1


def test_bodies_that_are_not_marc_are_refused_and_nothing_is_stored(
    http: TestClient, library: dict[str, str], services: Any
) -> None:
    headers = {"Authorization": f"Bearer {library['token']}"}
    catalog = services.consortium.scope(library["slug"]).catalog
    before = catalog.recorder.max_notification_id()  # the tenant's client, so far
    empty = http.post("/catalog/imports", content=b"", headers=headers)
    assert empty.status_code == 400
    assert empty.json()["code"] == "BAD_REQUEST"
    assert "empty" in empty.json()["detail"]
    wrong = http.post("/catalog/imports", content=b'{"records": []}', headers=headers)
    assert wrong.status_code == 415
    assert wrong.json()["code"] == "UNSUPPORTED_FORMAT"
    asked = http.post("/catalog/imports?format=marcxml",
                      content=(SHARED / "pymarc" / "one.dat").read_bytes(), headers=headers)
    assert asked.status_code == 415
    assert "marc21" in asked.json()["detail"]
    limit = services.settings.max_import_bytes
    too_big = http.post("/catalog/imports", content=b"0" * (limit + 1), headers=headers)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "TOO_LARGE"
    assert catalog.recorder.max_notification_id() == before  # not one event recorded


CREATE = """mutation($input: RecordInput!) { createRecord(input: $input) {
  record { id title isbns authors year } } }"""
ADD_ITEM = """mutation($input: AddItemInput!) { addItem(input: $input) {
  item { id barcode epc status location { branch collection shelf } recordId } } }"""
ITEM = """query($barcode: String, $epc: String) { item(barcode: $barcode, epc: $epc) {
  barcode epc status callNumber location { branch shelf } } }"""


def test_records_and_items_through_graphql_read_your_writes(
    http: TestClient, library: dict[str, str]
) -> None:
    token = library["token"]
    created = data(gql(http, token, CREATE, input={
        "title": "Thư viện số", "authors": ["Trần, Thị Bình"], "isbns": ["978-3-16-148410-0"],
        "year": "2021"}))["createRecord"]["record"]
    assert created["isbns"] == ["9783161484100"]
    assert titles(http, token, "thu vien so") == ["Thư viện số"]  # at once: read-your-writes

    edited = data(gql(http, token, """mutation($input: EditRecordInput!) {
        editRecord(input: $input) { record { title year authors } } }""",
                      input={"id": created["id"], "year": "2022"}))["editRecord"]["record"]
    assert edited == {"title": "Thư viện số", "year": "2022", "authors": ["Trần, Thị Bình"]}
    assert data(gql(http, token, "query($id: ID!) { record(id: $id) { year } }",
                    id=created["id"]))["record"] == {"year": "2022"}

    item = data(gql(http, token, ADD_ITEM, input={
        "recordId": created["id"], "barcode": "B-0001", "epc": "e28011606000020812345678",
        "callNumber": "027 T", "location": {"branch": "MAIN", "shelf": "A1"}}))["addItem"]["item"]
    assert item["epc"] == "E28011606000020812345678"
    assert item["status"] == "AVAILABLE"
    by_epc = data(gql(http, token, ITEM, epc="e28011606000020812345678"))["item"]
    assert by_epc["barcode"] == "B-0001"
    assert data(gql(http, token, ITEM, barcode="B-0001"))["item"]["callNumber"] == "027 T"

    same_barcode = gql(http, token, ADD_ITEM, input={
        "recordId": created["id"], "barcode": "B-0001", "location": {"branch": "MAIN"}})
    assert code(same_barcode) == "BARCODE_TAKEN"
    same_epc = gql(http, token, ADD_ITEM, input={
        "recordId": created["id"], "barcode": "B-0002", "epc": "E28011606000020812345678",
        "location": {"branch": "MAIN"}})
    assert code(same_epc) == "EPC_TAKEN"
    not_hex = gql(http, token, ADD_ITEM, input={
        "recordId": created["id"], "barcode": "B-0003", "epc": "XYZ123",
        "location": {"branch": "MAIN"}})
    assert code(not_hex) == "INVALID_INPUT"
    assert "epc" in not_hex["errors"][0]["message"]
    assert data(gql(http, token, ITEM, barcode="B-0002"))["item"] is None  # nothing recorded

    moved = data(gql(http, token, """mutation { moveItem(input: {barcode: "B-0001",
        location: {branch: "EAST", shelf: "C3"}}) { item { location { branch shelf } } } }"""))
    assert moved["moveItem"]["item"]["location"] == {"branch": "EAST", "shelf": "C3"}
    assert data(gql(http, token, ITEM, barcode="B-0001"))["item"]["location"] == {
        "branch": "EAST", "shelf": "C3"}
    withdrawn = data(gql(http, token, """mutation { withdrawItem(input: {barcode: "B-0001",
        reason: "damaged"}) { item { status } } }"""))
    assert withdrawn["withdrawItem"]["item"]["status"] == "WITHDRAWN"
    assert data(gql(http, token, ITEM, barcode="B-0001"))["item"]["status"] == "WITHDRAWN"
    again = gql(http, token, """mutation { moveItem(input: {barcode: "B-0001",
        location: {branch: "MAIN"}}) { item { status } } }""")
    assert code(again) == "ITEM_WITHDRAWN"


def test_bad_record_input_names_the_field(http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    blank = gql(http, token, CREATE, input={"title": "  "})
    assert code(blank) == "INVALID_INPUT"
    assert "title" in blank["errors"][0]["message"]
    bad_isbn = gql(http, token, CREATE, input={"title": "X", "isbns": ["978-3-16-148410-9"]})
    assert code(bad_isbn) == "INVALID_INPUT"
    assert "isbns" in bad_isbn["errors"][0]["message"]
    bad_year = gql(http, token, CREATE, input={"title": "X", "year": "20x1"})
    assert "year" in bad_year["errors"][0]["message"]
    missing = gql(http, token, """mutation { editRecord(input: {id: "00000000-0000-0000-0000-
000000000000", year: "2000"}) { record { id } } }""".replace("-\n", "-"))
    assert code(missing) == "NOT_FOUND"
    assert data(gql(http, token, SEARCH, q="X"))["records"]["edges"] == []


def test_another_library_sees_and_changes_nothing_of_ours(
    http: TestClient, admin_headers: dict[str, str], library: dict[str, str]
) -> None:
    ours = library["token"]
    created = data(gql(http, ours, CREATE, input={"title": "Our own book"}))
    record_id = created["createRecord"]["record"]["id"]
    data(gql(http, ours, ADD_ITEM, input={"recordId": record_id, "barcode": "OWN-1",
                                          "epc": "AABBCCDD", "location": {"branch": "MAIN"}}))
    started = http.post("/catalog/imports", content=(SHARED / "pymarc" / "one.dat").read_bytes(),
                        headers={"Authorization": f"Bearer {ours}"}).json()

    other_slug = library["slug"] + "-x"
    http.post("/admin/tenants", json={"slug": other_slug, "name": "Other"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{other_slug}/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin_headers).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])

    assert titles(http, theirs, "Our own book") == []
    assert data(gql(http, theirs, "query($id: ID!) { record(id: $id) { id } }",
                    id=record_id))["record"] is None
    assert data(gql(http, theirs, ITEM, barcode="OWN-1"))["item"] is None
    assert data(gql(http, theirs, ITEM, epc="AABBCCDD"))["item"] is None
    edit = gql(http, theirs, """mutation($input: EditRecordInput!) { editRecord(input: $input)
        { record { id } } }""", input={"id": record_id, "title": "Stolen"})
    assert code(edit) == "NOT_FOUND"
    add = gql(http, theirs, ADD_ITEM, input={"recordId": record_id, "barcode": "THEIRS-1",
                                             "location": {"branch": "MAIN"}})
    assert code(add) == "NOT_FOUND"
    for mutation in ('moveItem(input: {barcode: "OWN-1", location: {branch: "X"}})',
                     'withdrawItem(input: {barcode: "OWN-1"})'):
        assert code(gql(http, theirs, f"mutation {{ {mutation} {{ item {{ id }} }} }}")) == (
            "NOT_FOUND")
    report = http.get(f"/catalog/imports/{started['import_id']}",
                      headers={"Authorization": f"Bearer {theirs}"})
    assert report.status_code == 404
    assert titles(http, ours, "Our own book") == ["Our own book"]
    assert data(gql(http, ours, ITEM, barcode="OWN-1"))["item"]["status"] == "AVAILABLE"


def test_scopes_guard_reads_writes_and_imports(
    http: TestClient, admin_headers: dict[str, str], library: dict[str, str]
) -> None:
    reader = token_for(http, library["client_id"], library["client_secret"], "library:read")
    assert code(gql(http, reader, CREATE, input={"title": "No"})) == "FORBIDDEN"
    refused = http.post("/catalog/imports", content=b"00000", headers={
        "Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
    office = admin_headers["Authorization"].removeprefix("Bearer ")
    assert code(gql(http, office, SEARCH, q="x")) == "FORBIDDEN"
    assert code(gql(http, "not-a-token", SEARCH, q="x")) == "UNAUTHENTICATED"


ASSIGN = """mutation($b: String!, $e: String!) { assignEpc(input: {itemBarcode: $b, epc: $e}) {
  item { barcode epc } } }"""


def test_assign_epc_is_checked_and_stays_in_its_library(
    http: TestClient, admin_headers: dict[str, str], library: dict[str, str]
) -> None:
    ours = library["token"]
    record_id = data(gql(http, ours, CREATE, input={"title": "Tagged"}))[
        "createRecord"]["record"]["id"]
    for barcode in ("TAG-1", "TAG-2"):
        data(gql(http, ours, ADD_ITEM, input={"recordId": record_id, "barcode": barcode,
                                              "location": {"branch": "MAIN"}}))
    assert data(gql(http, ours, ASSIGN, b="TAG-1", e="a1b2c3d4"))["assignEpc"]["item"] == {
        "barcode": "TAG-1", "epc": "A1B2C3D4"}
    assert code(gql(http, ours, ASSIGN, b="TAG-2", e="A1B2C3D4")) == "EPC_TAKEN"
    assert code(gql(http, ours, ASSIGN, b="TAG-2", e="not-hex")) == "INVALID_INPUT"
    assert code(gql(http, ours, ASSIGN, b="NO-SUCH", e="A1B2C3D5")) == "NOT_FOUND"

    other = library["slug"] + "-t"
    http.post("/admin/tenants", json={"slug": other, "name": "Other"}, headers=admin_headers)
    client = http.post(f"/admin/tenants/{other}/clients", headers=admin_headers, json={
        "name": "desk", "scopes": ["library:read", "library:write"]}).json()
    theirs = token_for(http, client["client_id"], client["client_secret"])
    assert code(gql(http, theirs, ASSIGN, b="TAG-2", e="A1B2C3D6")) == "NOT_FOUND"
    assert data(gql(http, ours, ITEM, barcode="TAG-2"))["item"]["epc"] is None


def test_an_import_whose_process_stopped_shows_as_interrupted(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {library['token']}"}
    schema = "t_" + library["slug"].replace("-", "_")
    jobs = services.scope(library["slug"]).import_jobs
    alive, dead = uuid.uuid4(), uuid.uuid4()
    jobs.start(alive, library["client_id"], "marcxml", 1000)
    jobs.start(dead, library["client_id"], "marcxml", 1000)
    jobs.progress(dead, 400, {"created": 3})
    services.consortium.stores.import_jobs.heartbeat()  # this process lives (beats every 10 s)
    with psycopg.connect(str(services.settings.database_url), autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET owner = %s WHERE id = %s").format(
            sql.Identifier(schema, "imports")), (uuid.uuid4(), dead))

    running = http.get(f"/catalog/imports/{alive}", headers=headers).json()
    assert (running["status"], running["error"]) == ("running", None)
    stopped = http.get(f"/catalog/imports/{dead}", headers=headers).json()
    assert stopped["status"] == "interrupted"
    assert "400 of 1,000 bytes" in stopped["error"]
    assert "upload the file again" in stopped["error"]
    assert stopped["result"] == {"created": 3}


_CJK_SPACED = """<?xml version="1.0" encoding="UTF-8"?>
<collection xmlns="http://www.loc.gov/MARC21/slim">
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">aq0001</controlfield>
<controlfield tag="003">CSTEST</controlfield>
<datafield tag="100" ind1="1" ind2=" "><subfield code="6">880-01</subfield>
<subfield code="a">Lu, Xun,</subfield></datafield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="6">880-02</subfield>
<subfield code="a">A Q zheng zhuan /</subfield></datafield>
<datafield tag="880" ind1="1" ind2=" "><subfield code="6">100-01/$1</subfield>
<subfield code="a">魯迅,</subfield></datafield>
<datafield tag="880" ind1="1" ind2="0"><subfield code="6">245-02/$1</subfield>
<subfield code="a">阿Q正傳 /</subfield></datafield></record>
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">ch0001</controlfield>
<controlfield tag="003">CSTEST</controlfield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="6">880-01</subfield>
<subfield code="a">Nihon no chasho /</subfield></datafield>
<datafield tag="880" ind1="1" ind2="0"><subfield code="6">245-01/$1</subfield>
<subfield code="a">日本の 茶書 /</subfield></datafield></record>
</collection>"""


def test_chinese_across_simplified_and_traditional_and_japanese_without_spaces(
    http: TestClient, library: dict[str, str]
) -> None:
    token = library["token"]
    import_bytes(http, token, (OURS / "cjk_vi.xml").read_bytes())
    import_bytes(http, token, _CJK_SPACED.encode())
    wait_for_records(http, token, 6)
    assert titles(http, token, "红楼梦") == ["Hong lou meng"]  # simplified finds 紅樓夢
    assert titles(http, token, "阿Q正传") == ["A Q zheng zhuan"]  # record: 阿Q正傳
    assert titles(http, token, "鲁迅") == ["A Q zheng zhuan"]
    assert titles(http, token, "日本の茶書") == ["Nihon no chasho"]  # record: 日本の 茶書
    assert titles(http, token, "茶书") == ["Nihon no chasho"]
    assert titles(http, token, "thu vien viet nam") == [
        "Lịch sử thư viện Việt Nam : từ khởi đầu đến nay"]
    assert titles(http, token, "红楼 日本") == []
