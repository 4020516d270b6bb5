"""Staff administration (office REST, a library's GraphQL for its administrators), the audit
trail (who did what and when), tenant isolation, and no password or hash anywhere else."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from tests.integration.api.test_catalog import import_bytes
from tests.integration.api.test_lending import CANCEL, ONE, _request_loan, consortium
from tests.integration.signin import PASSWORD, signed_in

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
__all__ = ["consortium"]  # the interlibrary fixture, shared with the lending tests
CREATE = """mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) {
  staffUser { username displayName roles status scopes } } }"""
DISABLE = """mutation($input: StaffUserInput!) { disableStaffUser(input: $input) {
  staffUser { username status } } }"""
RESET = """mutation($input: ResetStaffPasswordInput!) { resetStaffPassword(input: $input) {
  staffUser { username status } } }"""
STAFF = "{ staffUsers { username roles status } }"
HISTORY = """query($first: Int, $before: Int) { libraryHistory(first: $first, before: $before) {
  entries { position at actor operation aggregate event } nextBefore } }"""


@pytest.fixture
def browser(http: TestClient, services: Services) -> Iterator[TestClient]:
    """The app's client with an empty cookie jar; sign-ins counted per account only."""
    throttle = services.consortium.staff.throttle
    per_address, throttle.per_address = throttle.per_address, 10_000
    http.cookies.clear()
    yield http
    http.cookies.clear()
    throttle.per_address = per_address


def gql(http: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """A GraphQL answer."""
    answer: dict[str, Any] = http.post("/graphql", json={"query": query, "variables": variables},
                                       headers={"Authorization": f"Bearer {token}"}).json()
    return answer


def code(answer: dict[str, Any]) -> str:
    """The first error's code."""
    return str(answer["errors"][0]["extensions"]["code"])


def library_admin(http: TestClient, admin_headers: dict[str, str], slug: str) -> str:
    """The office creates the library's first administrator, who signs in: their token."""
    username = f"adm-{secrets.token_hex(3)}"
    made = http.post(f"/admin/tenants/{slug}/staff", headers=admin_headers, json={
        "username": username, "display_name": "Ada Admin", "roles": ["library-admin"],
        "password": PASSWORD})
    assert made.status_code == 201, made.text
    assert made.json()["scopes"] == ["library:admin", "library:read"]
    assert "password" not in made.text
    return signed_in(http, {"library": slug, "username": username, "password": PASSWORD})


def new_library(http: TestClient, admin_headers: dict[str, str]) -> str:
    """A fresh library's slug."""
    slug = f"lib-{secrets.token_hex(4)}"
    assert http.post("/admin/tenants", json={"slug": slug, "name": "Library"},
                     headers=admin_headers).status_code == 201
    return slug


def test_office_creates_only_a_librarys_administrators(http: TestClient,
                                                        admin_headers: dict[str, str],
                                                        library: dict[str, str]) -> None:
    refused = http.post(f"/admin/tenants/{library['slug']}/staff", headers=admin_headers, json={
        "username": "cat", "display_name": "Cat", "roles": ["cataloguer"],
        "password": PASSWORD})
    assert refused.status_code == 422
    assert "library-admin" in refused.json()["detail"]
    weak = http.post(f"/admin/tenants/{library['slug']}/staff", headers=admin_headers, json={
        "username": "adm", "display_name": "Adm", "roles": ["library-admin"],
        "password": "password1234"})
    assert weak.status_code == 422
    assert weak.json()["detail"].startswith("password:")
    assert http.get(f"/admin/tenants/{library['slug']}/staff", headers=admin_headers
                    ).json() == []  # nothing half-made
    library_token = {"Authorization": f"Bearer {library['token']}"}
    assert http.get(f"/admin/tenants/{library['slug']}/staff", headers=library_token
                    ).status_code == 403


def test_office_manages_its_own_staff(http: TestClient, admin_headers: dict[str, str]) -> None:
    username = f"off-{secrets.token_hex(3)}"
    made = http.post("/admin/staff", headers={**admin_headers, "Idempotency-Key": username},
                     json={"username": username, "display_name": "Olga", "password": PASSWORD,
                           "roles": ["office-admin"]})
    assert made.status_code == 201, made.text
    again = http.post("/admin/staff", headers={**admin_headers, "Idempotency-Key": username},
                      json={"username": username, "display_name": "Olga",
                            "password": PASSWORD, "roles": ["office-admin"]})
    assert again.status_code == 201  # the first answer, nothing recorded twice
    assert [u["username"] for u in http.get("/admin/staff", headers=admin_headers).json()
            ].count(username) == 1
    bad_role = http.post("/admin/staff", headers=admin_headers, json={
        "username": "x-" + username, "display_name": "X", "password": PASSWORD,
        "roles": ["cataloguer"]})
    assert bad_role.status_code == 422
    disabled = http.post(f"/admin/tenants/office/staff/{username}/disable",
                         headers=admin_headers)
    assert disabled.json()["status"] == "disabled"


NEW_ADMIN = {"username": "someone", "display_name": "S", "password": PASSWORD,
             "roles": ["library-admin"]}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/staff", None), ("post", "/staff", NEW_ADMIN),
    ("post", "/staff/someone/disable", None), ("post", "/staff/someone/enable", None),
    ("post", "/staff/someone/reset-password", {"password": PASSWORD}),
    ("get", "/history", None)])
def test_a_library_no_tenant_has_is_404_on_every_staff_path(
        http: TestClient, admin_headers: dict[str, str], method: str, path: str,
        body: dict[str, Any] | None) -> None:
    # With an idempotency key, a slug that is no schema name reached the library's answers
    # table and answered 500 (the fuzz run found it); now the slug is looked up first.
    for slug in ("no-such-library", "t_Z\U000be40b"):
        answer = http.request(method, f"/admin/tenants/{slug}{path}", json=body,
                              headers={**admin_headers, "Idempotency-Key": "k-404"})
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "NOT_FOUND"


def test_library_admin_manages_staff_through_graphql(browser: TestClient,
                                                     admin_headers: dict[str, str]) -> None:
    slug = new_library(browser, admin_headers)
    token = library_admin(browser, admin_headers, slug)
    made = gql(browser, token, CREATE, input={
        "username": "circ", "displayName": "Carla", "roles": ["circulation", "ill"],
        "password": PASSWORD, "idempotencyKey": "k-1"})
    assert made["data"]["createStaffUser"]["staffUser"] == {
        "username": "circ", "displayName": "Carla", "roles": ["circulation", "ill"],
        "status": "active", "scopes": ["ill", "library:read", "library:write"]}
    replay = gql(browser, token, CREATE, input={
        "username": "circ", "displayName": "Carla", "roles": ["circulation", "ill"],
        "password": PASSWORD, "idempotencyKey": "k-1"})
    assert replay["data"] == made["data"]
    reused = gql(browser, token, CREATE, input={
        "username": "other", "displayName": "O", "roles": ["ill"], "password": PASSWORD,
        "idempotencyKey": "k-1"})
    assert code(reused) == "IDEMPOTENCY_KEY_REUSED"
    taken = gql(browser, token, CREATE, input={
        "username": "circ", "displayName": "Carla", "roles": ["ill"], "password": PASSWORD})
    assert code(taken) == "USERNAME_TAKEN"
    for bad, field in (({"roles": ["office-admin"]}, "roles"),
                       ({"password": "short"}, "password"),
                       ({"username": "Not Valid"}, "username"),
                       ({"displayName": " "}, "displayName")):
        answer = gql(browser, token, CREATE, input={
            "username": "new-one", "displayName": "N", "roles": ["ill"], "password": PASSWORD,
            **bad})
        assert code(answer) == "INVALID_INPUT", answer
        assert answer["errors"][0]["message"].startswith(field), answer
    assert [u["username"] for u in gql(browser, token, STAFF)["data"]["staffUsers"]
            ] == sorted(["circ", *(u["username"] for u in gql(browser, token, STAFF)["data"][
                "staffUsers"] if u["username"].startswith("adm-"))])
    circ = signed_in(browser, {"library": slug, "username": "circ", "password": PASSWORD})
    assert code(gql(browser, circ, STAFF)) == "FORBIDDEN"  # not an administrator
    assert code(gql(browser, circ, CREATE, input={
        "username": "sneaky", "displayName": "S", "roles": ["library-admin"],
        "password": PASSWORD})) == "FORBIDDEN"
    assert gql(browser, token, RESET, input={"username": "circ",
                                             "password": "another long passphrase"}
               )["data"]["resetStaffPassword"]["staffUser"]["status"] == "active"
    assert code(gql(browser, circ, "{ viewer { scopes } }")) == "UNAUTHENTICATED"
    circ = signed_in(browser, {"library": slug, "username": "circ",
                               "password": "another long passphrase"})
    assert gql(browser, token, DISABLE, input={"username": "circ"})["data"][
        "disableStaffUser"]["staffUser"] == {"username": "circ", "status": "disabled"}
    assert code(gql(browser, circ, "{ viewer { scopes } }")) == "UNAUTHENTICATED"
    enabled = gql(browser, token, """mutation($input: StaffUserInput!) {
        enableStaffUser(input: $input) { staffUser { status } } }""", input={"username": "circ"})
    assert enabled["data"]["enableStaffUser"]["staffUser"] == {"status": "active"}
    circ = signed_in(browser, {"library": slug, "username": "circ",
                               "password": "another long passphrase"})
    assert gql(browser, circ, "{ viewer { scopes } }")["data"]["viewer"]["scopes"] == [
        "ill", "library:read", "library:write"]


def test_a_library_admin_cannot_see_or_manage_another_librarys_staff(
        browser: TestClient, admin_headers: dict[str, str], services: Services) -> None:
    ours, theirs = new_library(browser, admin_headers), new_library(browser, admin_headers)
    our_admin = library_admin(browser, admin_headers, ours)
    their_admin = library_admin(browser, admin_headers, theirs)
    services.consortium.staff.create_user(theirs, "their-cat", display_name="T",
                                          roles=["cataloguer"], password=PASSWORD)
    listed = gql(browser, our_admin, STAFF)["data"]["staffUsers"]
    assert "their-cat" not in [u["username"] for u in listed]
    assert code(gql(browser, our_admin, DISABLE, input={"username": "their-cat"})) == "NOT_FOUND"
    assert code(gql(browser, our_admin, RESET, input={
        "username": "their-cat", "password": "a takeover passphrase"})) == "NOT_FOUND"
    assert services.consortium.staff.directory(theirs).get_user("their-cat").active
    assert "their-cat" in [u["username"] for u in gql(browser, their_admin, STAFF)["data"][
        "staffUsers"]]
    history = gql(browser, our_admin, HISTORY, first=200)["data"]["libraryHistory"]["entries"]
    assert all(e["actor"] is None or f"@{theirs}" not in e["actor"] for e in history)
    assert not any(e["aggregate"] == "StaffUser" and e["operation"] is None for e in history)
    assert browser.get(f"/admin/tenants/{theirs}/history",
                       headers={"Authorization": f"Bearer {our_admin}"}).status_code == 403


def test_history_shows_who_did_what_and_when(http: TestClient, library: dict[str, str],
                                             admin_headers: dict[str, str],
                                             services: Services) -> None:
    token = library["token"]
    record = gql(http, token, """mutation($input: RecordInput!) { createRecord(input: $input) {
        record { id } } }""", input={"title": "History of Reading",
                                     "idempotencyKey": "rec-1"})["data"]["createRecord"]["record"]
    gql(http, token, """mutation($input: AddItemInput!) { addItem(input: $input) {
        item { barcode } } }""", input={"recordId": record["id"], "barcode": "H-1",
                                        "location": {"branch": "MAIN"}, "idempotencyKey": "it-1"})
    gql(http, token, """mutation($input: WithdrawItemInput!) { withdrawItem(input: $input) {
        item { barcode } } }""", input={"barcode": "H-1", "idempotencyKey": "wd-1"})
    who = f"client:{library['client_id']}"
    of_record = gql(http, token, """query($id: ID!) { recordHistory(id: $id) {
        entries { actor operation aggregate event at } nextBefore } }""", id=record["id"])
    entries = of_record["data"]["recordHistory"]["entries"]
    assert [(e["aggregate"], e["event"], e["actor"], e["operation"]) for e in entries] == [
        ("Record", "Catalogued", who, "createRecord")]
    assert entries[0]["at"]
    of_item = gql(http, token, """query { itemHistory(barcode: "H-1") {
        entries { position actor operation aggregate event } nextBefore } }""")["data"][
        "itemHistory"]
    done = {(e["operation"], e["aggregate"], e["event"]) for e in of_item["entries"]}
    assert {("withdrawItem", "Item", "Withdrawn"), ("addItem", "Item", "Added")} <= done
    assert all(e["actor"] == who or str(e["actor"]).startswith("process:")
               for e in of_item["entries"])
    assert of_item["nextBefore"] is None
    newest = of_item["entries"][0]["position"]  # process managers may append after it
    first_page = gql(http, token, """query($b: Int) { itemHistory(barcode: "H-1", first: 1,
        before: $b) { entries { position } nextBefore } }""", b=newest + 1)["data"][
        "itemHistory"]
    assert first_page == {"entries": [{"position": newest}], "nextBefore": newest}
    older = gql(http, token, """query($b: Int) { itemHistory(barcode: "H-1", before: $b) {
        entries { position } } }""", b=first_page["nextBefore"])["data"]["itemHistory"]
    assert [e["position"] for e in older["entries"]] == [
        e["position"] for e in of_item["entries"][1:]]
    assert code(gql(http, token, "{ libraryHistory { nextBefore } }")) == "FORBIDDEN"
    assert code(gql(http, token, '{ itemHistory(barcode: "H-1", first: 0) { nextBefore } }'
                    )) == "INVALID_INPUT"
    office = http.get(f"/admin/tenants/{library['slug']}/history", headers=admin_headers)
    assert office.status_code == 200
    assert ("withdrawItem", who) in {(e["operation"], e["actor"])
                                     for e in office.json()["entries"]}
    other = http.post("/admin/tenants", json={"slug": library["slug"] + "-h", "name": "H"},
                      headers=admin_headers)
    assert other.status_code == 201
    theirs = services.consortium.create_client(library["slug"] + "-h", "x", ["library:read"])
    from tests.integration.conftest import token_for  # noqa: PLC0415
    their_token = token_for(http, theirs.client.client_id, theirs.secret)
    seen = gql(http, their_token, """query($id: ID!) { recordHistory(id: $id) {
        entries { event } } }""", id=record["id"])
    assert seen["data"]["recordHistory"]["entries"] == []  # another library's log: nothing


def test_no_password_or_hash_in_logs_or_any_table_but_the_credentials(
        browser: TestClient, admin_headers: dict[str, str], services: Services,
        caplog: pytest.LogCaptureFixture) -> None:
    secret_password = f"unique passphrase {secrets.token_hex(6)}"
    caplog.set_level(logging.DEBUG)
    slug = new_library(browser, admin_headers)
    token = library_admin(browser, admin_headers, slug)
    gql(browser, token, CREATE, input={"username": "logcheck", "displayName": "L",
                                       "roles": ["inventory"], "password": secret_password,
                                       "idempotencyKey": "log-1"})
    signed_in(browser, {"library": slug, "username": "logcheck", "password": secret_password})
    gql(browser, token, CREATE, input={"username": "weak", "displayName": "W",
                                       "roles": ["inventory"], "password": "tooshort"})
    assert secret_password not in caplog.text
    assert "$argon2" not in caplog.text
    schemas = [f"t_{slug.replace('-', '_')}", "office", "auth", "projections"]
    with services.database.connection() as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'", (schemas,)).fetchall()
        found = []
        for row in tables:
            if row["table_name"] == "staff_credentials":
                continue
            table = sql.Identifier(row["table_schema"], row["table_name"])
            hit = conn.execute(sql.SQL(
                "SELECT count(*) AS n FROM {} t WHERE t::text LIKE %s OR t::text LIKE %s "
                "OR t::text LIKE %s").format(table), (
                f"%{secret_password}%", "%$argon2%",
                "%" + secret_password.encode().hex() + "%")).fetchone()
            if hit and hit["n"]:
                found.append(f"{row['table_schema']}.{row['table_name']}")
        stored = conn.execute(sql.SQL("SELECT hash FROM {}").format(
            sql.Identifier(schemas[0], "staff_credentials"))).fetchall()
    assert found == []
    assert stored
    assert all(r["hash"].startswith("$argon2id$") for r in stored)


def test_a_staff_members_marc_import_is_theirs_in_the_history(
        browser: TestClient, admin_headers: dict[str, str], services: Services) -> None:
    slug = new_library(browser, admin_headers)
    admin = library_admin(browser, admin_headers, slug)
    services.consortium.staff.create_user(slug, "importer", display_name="I",
                                          roles=["cataloguer"], password=PASSWORD)
    cataloguer = signed_in(browser, {"library": slug, "username": "importer",
                                     "password": PASSWORD})
    marc = (Path(__file__).parents[2] / "data" / "marc" / "shared" / "pymarc" / "one.dat")
    assert import_bytes(browser, cataloguer, marc.read_bytes())["created"] == 1
    entries = gql(browser, admin, HISTORY, first=20)["data"]["libraryHistory"]["entries"]
    assert ("Record", "Catalogued", f"staff:importer@{slug}", "importMarc") in {
        (e["aggregate"], e["event"], e["actor"], e["operation"]) for e in entries}


def test_a_lending_requests_history_names_who_asked_and_nothing_of_the_patron(
        http: TestClient, consortium: dict[str, Any]) -> None:
    request = _request_loan(http, consortium)
    requester = consortium["a"]
    query = """query($id: ID!) { lendingRequestHistory(id: $id) {
        entries { actor operation aggregate event } } }"""
    entries = gql(http, requester["token"], query, id=request["id"])["data"][
        "lendingRequestHistory"]["entries"]
    assert any(str(e["actor"]).startswith(f"client:{requester['slug']}.")
               and e["operation"] == "requestLoan" for e in entries), entries
    assert "P-1" not in str(entries)
    assert "Pat Ron" not in str(entries)
    bystander = gql(http, consortium["d"]["token"], query, id=request["id"])
    assert bystander["data"]["lendingRequestHistory"]["entries"] == []
    bad = gql(http, requester["token"], query, id="not-an-id")
    assert code(bad) == "INVALID_INPUT"


def test_a_lending_step_by_a_staff_member_names_them_and_their_name_stays_out_of_the_log(
        browser: TestClient, consortium: dict[str, Any], admin_headers: dict[str, str],
        services: Services) -> None:
    request = _request_loan(browser, consortium)
    a = consortium["a"]
    username = f"ill-{secrets.token_hex(3)}"
    admin = library_admin(browser, admin_headers, a["slug"])
    made = gql(browser, admin, CREATE, input={"username": username, "displayName": "Ina",
                                              "roles": ["ill"], "password": PASSWORD})
    assert "errors" not in made, made
    token = signed_in(browser, {"library": a["slug"], "username": username,
                                "password": PASSWORD})

    answer = gql(browser, token, CANCEL, input={"id": request["id"]})
    assert "errors" not in answer, answer
    steps = answer["data"]["cancelLendingRequest"]["request"]["history"]
    client = steps[0]["by"]
    assert client.startswith(f"{a['slug']}.")  # requested by the desk's API client ...
    assert steps[-1]["by"] == username  # ... cancelled by the staff member, by name
    seen = gql(browser, a["token"], ONE, id=request["id"])["data"]["lendingRequest"]
    assert [h["by"] for h in seen["history"]] == [h["by"] for h in steps]
    with services.database.connection() as conn:
        def stored(text: str) -> int:
            found = conn.execute(sql.SQL(
                "SELECT count(*) AS n FROM {} WHERE topic LIKE %s AND state::text LIKE %s"
            ).format(sql.Identifier(f"t_{a['slug'].replace('-', '_')}", "events")),
                ("%lending%", "%" + text.encode().hex() + "%")).fetchone()
            assert found is not None
            return int(found["n"])

        assert stored(client) >= 1  # the client's id is there as it was given ...
        assert stored(username) == 0  # ... the staff member only by user id
