"""Tenants placed across two PostgreSQL servers (two databases of the machine's server): a
tenant on the second works end to end, a live tenant moves with no event lost, an archived
one is deleted entirely, and one tenant is restored from its export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict

from api import cli
from api.app import create_app
from api.dependencies import (
    Services,
    build_processes,
    build_relay,
    build_scan_worker,
    build_services,
    build_workers,
    projection_status,
)
from infra import servers as placed_servers
from infra import tenant_copy
from infra.database import Database
from infra.ill_outbox import IllOutbox
from infra.relay import Relay
from infra.settings import Settings
from tenants.consortium import Consortium, log_name
from tenants.errors import TenantFieldInvalidError, TenantMoveError
from tenants.moves import TenantMoves
from tenants.transfer import import_tenant
from tests.integration.api.test_catalog import ADD_ITEM, CREATE, SEARCH, code, data, gql
from tests.integration.api.test_circulation import CHECK_OUT, ITEM, REGISTER
from tests.integration.conftest import _delete_stream, token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
EVENTS = ("SELECT notification_id, originator_id, originator_version, topic, state "
          "FROM {}.events ORDER BY notification_id")


@contextlib.contextmanager
def _database(base_url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(base_url)
    password = f":{params['password']}" if params.get("password") else ""
    try:  # a URL, as COMMONSHELF_TENANT_SERVERS takes them
        yield (f"postgresql://{params.get('user', 'postgres')}{password}@"
               f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}")
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def two_servers(servers: tuple[str, str]) -> Iterator[tuple[str, str, str]]:
    """Two databases of their own (dropped afterwards): the default and `second`; NATS."""
    base_url, nats_url = servers
    with _database(base_url, "cs_place") as default, _database(base_url, "cs_second") as second:
        yield default, second, nats_url


@pytest.fixture(scope="module")
def placed(two_servers: tuple[str, str, str], tmp_path_factory: pytest.TempPathFactory,
           kek_file: Path) -> Iterator[tuple[Services, TestClient, dict[str, str]]]:
    """A service whose tenants live on two servers, with every role running, and an office
    admin's headers."""
    default, second, nats_url = two_servers
    settings = Settings(data_dir=tmp_path_factory.mktemp("placed"), database_url=default,
                        nats_url=nats_url, db_pool_size=4, kek_file=kek_file,
                        nats_prefix=f"csplace{secrets.token_hex(4)}",
                        tenant_servers=(("second", second),))
    services = build_services(settings)
    app = create_app(services, build_relay(settings), build_workers(settings),
                     [build_scan_worker(services)], [build_processes(services)])
    try:
        with TestClient(app) as http:
            issued = services.consortium.create_client(None, "admin", ["consortium:admin"])
            token = token_for(http, issued.client.client_id, issued.secret)
            yield services, http, {"Authorization": f"Bearer {token}"}
    finally:
        services.close()
        for stream in (settings.events_stream, settings.scans_stream):
            asyncio.run(_delete_stream(nats_url, stream))


@pytest.fixture
def cli_env(two_servers: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's environment: the two servers and NATS."""
    default, second, nats_url = two_servers
    monkeypatch.setenv("DATABASE_URL", default)
    monkeypatch.setenv("NATS_URL", nats_url)
    monkeypatch.setenv("COMMONSHELF_TENANT_SERVERS", f"second={second}")


def _library(http: TestClient, admin: dict[str, str], server: str | None) -> dict[str, Any]:
    slug = f"lib-{secrets.token_hex(4)}"
    body: dict[str, Any] = {"slug": slug, "name": "Placed Library"}
    if server is not None:
        body["server"] = server
    created = http.post("/admin/tenants", json=body, headers=admin)
    assert created.status_code == 201, created.text
    client = http.post(f"/admin/tenants/{slug}/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin).json()
    token = token_for(http, client["client_id"], client["client_secret"])
    shown = http.get(f"/admin/tenants/{slug}", headers=admin).json()
    assert created.json()["server"] == shown["server"]  # the creation answers where it went
    return {"slug": slug, "token": token, "server": shown["server"],
            "client_id": client["client_id"], "secret": client["client_secret"]}


def _schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}


def _events(url: str, slug: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(EVENTS.format("t_" + slug.replace("-", "_")))]


def _circulate(http: TestClient, token: str, tag: str) -> None:
    """A record with a copy, a patron, and a loan of the copy, each read back."""
    record = data(gql(http, token, CREATE, input={"title": f"Middlemarch {tag}"}))
    record_id = record["createRecord"]["record"]["id"]
    data(gql(http, token, ADD_ITEM, input={"recordId": record_id, "barcode": f"I-{tag}",
                                           "location": {"branch": "MAIN"}}))
    data(gql(http, token, REGISTER, input={"barcode": f"P-{tag}", "name": f"Reader {tag}",
                                           "patronGroup": "staff", "expiresOn": "2031-01-01"}))
    data(gql(http, token, CHECK_OUT, item=f"I-{tag}", patron=f"P-{tag}"))
    assert data(gql(http, token, ITEM, b=f"I-{tag}"))["item"]["status"] == "CHECKED_OUT"
    found = data(gql(http, token, SEARCH, q=f"Middlemarch {tag}"))["records"]["edges"]
    assert [e["node"]["id"] for e in found] == [record_id]


def _exported(http: TestClient, admin: dict[str, str], tag: str, to: Path,
              suspend: str | None = None) -> tuple[dict[str, Any], Path]:
    """A library on the second server with some circulation (then suspended, when a reason
    is given), exported by the CLI to `to`/export.jsonl."""
    library = _library(http, admin, "second")
    _circulate(http, library["token"], tag)
    if suspend is not None:
        answer = http.post(f"/admin/tenants/{library['slug']}/suspend",
                           json={"reason": suspend}, headers=admin)
        assert answer.status_code == 200, answer.text
    export = to / "export.jsonl"
    assert cli.main(["tenants", "export", library["slug"], "--to", str(export)]) == 0
    return library, export


def test_tenant_on_the_second_server_works_through_graphql(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str]) -> None:
    _, http, admin = placed
    default, second, _ = two_servers
    library = _library(http, admin, "second")
    assert library["server"] == "second"
    schema = "t_" + library["slug"].replace("-", "_")
    assert schema in _schemas(second)
    assert schema not in _schemas(default)
    _circulate(http, library["token"], "one")
    shown = http.get(f"/admin/tenants/{library['slug']}", headers=admin).json()
    assert shown["server"] == "second"
    listed = {t["slug"]: t["server"] for t in http.get("/admin/tenants", headers=admin).json()}
    assert listed[library["slug"]] == "second"
    other = _library(http, admin, None)  # another library cannot see it
    assert data(gql(http, other["token"], ITEM, b="I-one"))["item"] is None


def test_an_unknown_server_is_refused_naming_it(
        placed: tuple[Services, TestClient, dict[str, str]]) -> None:
    services, http, admin = placed
    slug = f"lib-{secrets.token_hex(4)}"
    answer = http.post("/admin/tenants", json={"slug": slug, "name": "Nowhere",
                                               "server": "third"}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["code"] == "INVALID_INPUT"
    assert "'third'" in answer.json()["detail"]
    assert "second" in answer.json()["detail"]
    assert not services.consortium.office.slug_taken(slug)


def test_new_tenants_go_to_the_server_holding_fewest(
        placed: tuple[Services, TestClient, dict[str, str]]) -> None:
    services, http, admin = placed
    held = services.consortium.placement.table.tenants_per_server()
    fewest = min(("default", "second"), key=lambda n: (held.get(n, 0), n != "default"))
    assert _library(http, admin, None)["server"] == fewest


def test_a_live_tenant_moves_with_no_event_lost_and_is_served_after(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    default, second, _ = two_servers
    library = _library(http, admin, "default")
    token = library["token"]
    _circulate(http, token, "before")
    written: list[str] = []
    stop = threading.Event()

    def keep_writing() -> None:  # records created while the tenant moves
        n = 0
        while not stop.is_set():
            answer = gql(http, token, CREATE, input={"title": f"During {n}"})
            assert "errors" not in answer, answer
            written.append(answer["data"]["createRecord"]["record"]["id"])
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    lines: list[str] = []
    try:
        moved = TenantMoves(services.consortium, lines.append).move(library["slug"], "second")
    finally:
        stop.set()
        writer.join()
    assert moved.target == "second"
    assert any(line.startswith("verified:") for line in lines)
    assert any("paused" in line for line in lines)
    schema = "t_" + library["slug"].replace("-", "_")
    assert schema not in _schemas(default)  # the old copy is gone
    events = _events(second, library["slug"])
    positions = [e[0] for e in events]
    assert positions == sorted(set(positions))
    created = {str(e[1]) for e in events if e[2] == 1}
    assert written
    assert set(written) <= created  # every record written during the move is there
    for projection in ("local_catalog", "circulation"):  # and reached the read models
        assert services.watch.wait(projection, library["slug"], positions[-1], 10)
    assert services.consortium.server_of(library["slug"]) == "second"
    _circulate(http, token, "after")
    assert len(_events(second, library["slug"])) > len(events)
    capsys.readouterr()
    assert cli.main(["tenants", "show", library["slug"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["server"] == "second"


def test_a_move_to_an_unknown_server_or_where_it_lives_is_refused(
        placed: tuple[Services, TestClient, dict[str, str]], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, http, admin = placed
    library = _library(http, admin, "second")
    assert cli.main(["tenants", "move", library["slug"], "--to", "nowhere"]) == 1
    assert "'nowhere'" in capsys.readouterr().err
    assert cli.main(["tenants", "move", library["slug"], "--to", "second"]) == 1
    assert "already lives on second" in capsys.readouterr().err


def test_delete_refuses_a_live_tenant_and_removes_an_archived_one_entirely(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    default, second, _ = two_servers
    library = _library(http, admin, "second")
    _circulate(http, library["token"], "gone")
    slug = library["slug"]
    outbox = IllOutbox(services.database)  # an ISO 18626 message of the library, unsent
    outbox.queue(slug, 1, "http://127.0.0.1:9/iso18626", b"<request/>",
                 datetime.now(UTC) + timedelta(days=1))
    assert cli.main(["tenants", "delete", slug]) == 1
    assert "--yes-delete-everything" in capsys.readouterr().err
    assert cli.main(["tenants", "delete", slug, "--yes-delete-everything"]) == 1
    assert "only an archived tenant" in capsys.readouterr().err
    assert "t_" + slug.replace("-", "_") in _schemas(second)  # nothing removed

    assert http.post(f"/admin/tenants/{slug}/archive", headers=admin).status_code == 200
    assert cli.main(["tenants", "delete", slug, "--yes-delete-everything", "--json"]) == 0
    removed = json.loads(capsys.readouterr().out)
    assert removed["server"] == "second"
    assert removed["tables"]["events"] >= 4
    assert "patron_keys" in removed["tables"]
    assert removed["read_model_rows"]  # its rows in the read models went too
    assert "t_" + slug.replace("-", "_") not in _schemas(second)
    assert removed["tables"]["office.ill_outbox"] == 1
    assert outbox.pending(slug) == []  # nothing of it is sent after its deletion
    for path, body in ((f"/admin/tenants/{slug}/ill-peers",
                        {"agencyIdType": "ISIL", "agencyIdValue": "X-1",
                         "endpoint": "http://127.0.0.1:9/iso18626"}),
                       (f"/admin/tenants/{slug}/clients", {"name": "late", "scopes": ["ill"]})):
        late = http.post(path, json=body, headers=admin)  # its store is gone: it was a 500
        assert late.status_code == 409, late.text
        assert "archived" in late.text
    listed = http.get(f"/admin/tenants/{slug}/clients", headers=admin)  # it was a 500
    assert (listed.status_code, listed.json()) == (200, [])
    stale = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(library["client_id"], library["secret"]))
    assert stale.status_code == 401, stale.text  # no client any more (it was a 500)
    revoked = http.delete(f"/admin/tenants/{slug}/clients/{library['client_id']}",
                          headers=admin)
    assert revoked.status_code == 404, revoked.text
    with psycopg.connect(default) as conn:
        for schema, table in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.columns "
                "WHERE column_name = 'tenant' AND table_schema IN ('projections', 'processes')"):
            left = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}" '  # noqa: S608
                                "WHERE tenant = %s", (slug,)).fetchone()
            assert left == (0,), f"{schema}.{table} keeps rows of {slug}"


def test_a_tenant_is_restored_from_its_export_after_its_store_was_lost(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, http, admin = placed
    _, second, _ = two_servers
    library, export = _exported(http, admin, "kept", tmp_path)
    slug = library["slug"]
    before = _events(second, slug)
    with psycopg.connect(second, autocommit=True) as conn:  # the server's copy is lost
        conn.execute(f"DROP SCHEMA t_{slug.replace('-', '_')} CASCADE")
    capsys.readouterr()
    assert cli.main(["tenants", "import", str(export), "--json"]) == 0
    restored = json.loads(capsys.readouterr().out)
    assert restored["events"] == len(before)
    assert restored["rows"]["patron_keys"] == 1
    assert cli.main(["tenants", "import", str(export)]) == 1  # its store holds events now
    assert "only refills an empty store" in capsys.readouterr().err
    assert _events(second, slug) == before  # byte for byte, at the same positions
    token = library["token"]
    patron = data(gql(http, token, """query { patron(barcode: "P-kept") { name } }"""))
    assert patron["patron"]["name"] == "Reader kept"  # its key came back with it
    _circulate(http, token, "restored")  # new events follow the restored ones
    assert len(_events(second, slug)) > len(before)


def test_an_export_with_a_broken_line_is_refused_naming_the_line(
        placed: tuple[Services, TestClient, dict[str, str]]) -> None:
    services, _, _ = placed
    lines = ['{"type": "tenant", "slug": "lib-broken", "name": "Broken"}', "{not json"]
    with pytest.raises(TenantFieldInvalidError, match="line 2"):
        import_tenant(services.consortium, lines)
    assert not services.consortium.office.slug_taken("lib-broken")  # nothing registered


MARCXML = (b'<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">'
           b'<record><leader>00000nam a2200000 a 4500</leader></record></collection>')


def test_a_write_that_waits_out_a_pause_in_vain_is_refused_as_tenant_moving(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, http, admin = placed
    _, second, _ = two_servers
    library = _library(http, admin, "second")
    slug, token = library["slug"], library["token"]
    auth = {"Authorization": f"Bearer {token}"}
    first = http.post("/catalog/imports", content=MARCXML,  # makes its import jobs' table
                      headers={**auth, "Content-Type": "application/marcxml+xml"})
    while http.get(first.headers["Location"], headers=auth).json()["status"] == "running":
        time.sleep(0.05)
    before = _events(second, slug)
    monkeypatch.setattr(placed_servers, "MOVE_PAUSE_S", 0.3)  # writers give up sooner
    with psycopg.connect(second, autocommit=True) as conn:
        schema = "t_" + slug.replace("-", "_")
        tenant_copy.refuse_writes(conn, schema, f"tenant {slug} is moving to default")
        try:  # a move's pause that does not end
            rest = http.post("/catalog/imports", content=MARCXML,
                             headers={**auth, "Content-Type": "application/marcxml+xml"})
            graphql = gql(http, token, CREATE, input={"title": "Paused"})
        finally:
            tenant_copy.allow_writes(conn, schema)
    assert rest.status_code == 503, rest.text
    assert rest.headers["Retry-After"] == "5"
    assert rest.json()["code"] == "TENANT_MOVING"
    assert "being moved to another database server" in rest.json()["detail"]
    assert code(graphql) == "TENANT_MOVING"
    assert "being moved" in graphql["errors"][0]["message"]
    assert _events(second, slug) == before  # nothing half-written
    assert data(gql(http, token, CREATE, input={"title": "Resumed"}))  # writes go on after


def _renamed(export: Path, slug: str, **header: Any) -> Path:
    """The export as another tenant's (one the office does not know, as after the office's
    database was lost): its header and its tables' schema changed."""
    lines = export.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    schema, renamed = first["schema"], "t_" + slug.replace("-", "_")
    first = {**first, "slug": slug, "schema": renamed, **header}
    tables = [line.replace(schema, renamed) if line.startswith('{"type": "table"') else line
              for line in lines[1:]]
    out = export.with_name(f"{slug}.jsonl")
    out.write_text("\n".join([json.dumps(first), *tables]) + "\n", encoding="utf-8")
    return out


def test_a_tenant_registered_from_its_export_gets_its_status_back(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    _, second, _ = two_servers
    library, export = _exported(http, admin, "status", tmp_path, suspend="unpaid")
    slug = library["slug"]
    assert json.loads(export.read_text(encoding="utf-8").splitlines()[0])[
        "suspension_reason"] == "unpaid"
    office = services.consortium.office

    again = f"lib-{secrets.token_hex(4)}"
    capsys.readouterr()
    assert cli.main(["tenants", "import", str(_renamed(export, again)), "--server", "second",
                     "--json"]) == 0
    restored = json.loads(capsys.readouterr().out)
    assert (restored["registered"], restored["status"]) == (True, "suspended")
    assert restored["events"] == len(_events(second, slug))
    assert (office.get_tenant(again).status, office.get_tenant(again).suspension_reason) == (
        "suspended", "unpaid")

    archived = f"lib-{secrets.token_hex(4)}"
    assert cli.main(["tenants", "import", str(_renamed(export, archived, status="archived"))
                     ]) == 0
    assert office.get_tenant(archived).status == "archived"

    wrong = f"lib-{secrets.token_hex(4)}"
    assert cli.main(["tenants", "import", str(_renamed(export, wrong, status="closed"))]) == 1
    assert "export line 1: status 'closed'" in capsys.readouterr().err
    assert not office.slug_taken(wrong)  # nothing registered


def test_an_import_checks_the_whole_file_before_writing_anything(
        placed: tuple[Services, TestClient, dict[str, str]], cli_env: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    _, export = _exported(http, admin, "late", tmp_path)
    slug = f"lib-{secrets.token_hex(4)}"
    broken = _renamed(export, slug)
    lines = broken.read_text(encoding="utf-8").splitlines()
    count = len(lines)
    broken.write_text("\n".join([*lines, '{"type": "event", "position": 1}']) + "\n",
                      encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["tenants", "import", str(broken)]) == 1
    assert f"export line {count + 1}: a event record is malformed" in capsys.readouterr().err
    assert not services.consortium.office.slug_taken(slug)  # the first pass caught it
    events = [i for i, line in enumerate(lines, start=1) if '"type": "event"' in line]
    swapped = [*lines]
    swapped[events[0] - 1], swapped[events[1] - 1] = swapped[events[1] - 1], swapped[events[0] - 1]
    broken.write_text("\n".join(swapped) + "\n", encoding="utf-8")
    assert cli.main(["tenants", "import", str(broken)]) == 1
    assert f"export line {events[1]}: event position" in capsys.readouterr().err
    broken.write_bytes(b"\n".join([lines[0].encode(), b"\xff\xfe not text"]))
    assert cli.main(["tenants", "import", str(broken)]) == 1
    assert "export line 2: not UTF-8" in capsys.readouterr().err
    assert not services.consortium.office.slug_taken(slug)
    with pytest.raises(TypeError, match="read twice"):
        import_tenant(services.consortium, iter(lines))


class _InterruptedError(Exception):
    """The move's process died here."""


def test_a_move_interrupted_while_writes_pause_resumes_when_run_again(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str]) -> None:
    services, http, admin = placed
    default, second, _ = two_servers
    library = _library(http, admin, "second")
    _circulate(http, library["token"], "resume")
    before = _events(second, library["slug"])

    def dies_at_the_pause(line: str) -> None:
        if line.startswith("paused"):
            raise _InterruptedError(line)

    with pytest.raises(_InterruptedError):
        TenantMoves(services.consortium, dies_at_the_pause).move(library["slug"], "default")
    placement = services.consortium.placement.placement(library["slug"])
    assert (placement.server, placement.moving_to, placement.phase) == (
        "second", "default", "paused")  # recorded in the directory's placements
    with pytest.raises(TenantMoveError, match="run the move again with --to default"):
        TenantMoves(services.consortium).move(library["slug"], "second")
    lines: list[str] = []
    TenantMoves(services.consortium, lines.append).move(library["slug"], "default")
    assert any(line.startswith("verified:") for line in lines)
    assert _events(default, library["slug"]) == before
    assert services.consortium.placement.placement(library["slug"]).moving_to is None
    _circulate(http, library["token"], "resumed")


def test_a_move_interrupted_while_writes_pause_is_given_up_with_abort(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    library = _library(http, admin, "second")
    slug = library["slug"]
    _circulate(http, library["token"], "abort")
    default, second = two_servers[:2]
    before = _events(second, slug)
    assert cli.main(["tenants", "move", slug, "--abort"]) == 1  # nothing to give up
    assert "no unfinished move" in capsys.readouterr().err

    def dies_at_the_pause(line: str) -> None:
        if line.startswith("paused"):
            raise _InterruptedError(line)

    with pytest.raises(_InterruptedError):
        TenantMoves(services.consortium, dies_at_the_pause).move(slug, "default")
    assert "t_" + slug.replace("-", "_") in _schemas(default)  # the partial copy
    assert cli.main(["tenants", "move", slug, "--abort", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "slug": slug, "aborted": True, "server": "second", "removed_from": "default",
        "phase": "paused"}
    placement = services.consortium.placement.placement(slug)
    assert (placement.server, placement.moving_to, placement.phase) == ("second", None, None)
    assert "t_" + slug.replace("-", "_") not in _schemas(default)
    assert _events(second, slug) == before  # the source is untouched
    _circulate(http, library["token"], "after-abort")  # its writes go on where it lives
    assert len(_events(second, slug)) > len(before)


def test_a_move_that_switched_already_is_not_given_up_but_finished(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, http, admin = placed
    default, _, _ = two_servers
    slug = _library(http, admin, "second")["slug"]

    def dies_once_switched(line: str) -> None:
        if line.startswith("switched"):
            raise _InterruptedError(line)

    with pytest.raises(_InterruptedError):
        TenantMoves(services.consortium, dies_once_switched).move(slug, "default")
    assert cli.main(["tenants", "move", slug, "--abort"]) == 1
    assert "run the move again with --to default" in capsys.readouterr().err
    assert services.consortium.server_of(slug) == "default"  # nothing given up
    assert cli.main(["tenants", "move", slug, "--to", "default"]) == 0
    assert services.consortium.placement.placement(slug).moving_to is None
    assert "t_" + slug.replace("-", "_") in _schemas(default)


def test_the_cli_places_a_new_tenant_on_the_server_named_and_refuses_an_unknown_one(
        placed: tuple[Services, TestClient, dict[str, str]], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    services, _, _ = placed
    slug = f"lib-{secrets.token_hex(4)}"
    assert cli.main(["tenants", "create", slug, "--name", "CLI Placed", "--server", "nowhere"]
                    ) == 1
    assert "no database server named 'nowhere'" in capsys.readouterr().err
    assert not services.consortium.office.slug_taken(slug)
    assert cli.main(["tenants", "create", slug, "--name", "CLI Placed", "--server", "second",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["server"] == "second"
    assert cli.main(["tenants", "list", "--json"]) == 0
    listed = {t["slug"]: t["server"] for t in json.loads(capsys.readouterr().out)}
    assert listed[slug] == "second"
    status = {(r["name"], r["tenant"]) for r in projection_status(services)}
    assert ("local_catalog", slug) in status  # its lag is read on its own server


def test_a_second_move_of_a_tenant_while_one_runs_is_refused(
        placed: tuple[Services, TestClient, dict[str, str]]) -> None:
    services, http, admin = placed
    slug = _library(http, admin, "second")["slug"]
    moves = TenantMoves(services.consortium)
    with moves._alone(slug), pytest.raises(TenantMoveError, match="by another process"):
        TenantMoves(services.consortium).move(slug, "default")
    assert services.consortium.server_of(slug) == "second"


async def test_the_relay_goes_on_with_the_other_servers_while_one_is_unreachable(
        servers: tuple[str, str]) -> None:
    base_url, nats_url = servers
    prefix = f"csdown{secrets.token_hex(3)}"
    with _database(base_url, "cs_relaydown") as url:
        database = Database(url, 2, name="relay-down")
        consortium = Consortium(database)
        await asyncio.to_thread(consortium.register_tenant, "up-lib", "Up", None)
        await asyncio.to_thread(consortium.create_client, "up-lib", "desk", ["ill"])
        relay = Relay(url, nats_url, log_name, stream=f"{prefix.upper()}_EVENTS",
                      subject_prefix=prefix, servers=["postgresql://postgres@127.0.0.1:1/gone"])
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            for _ in range(300):  # 30 s at most
                if relay.stats.by_tenant.get("up-lib", 0):
                    break
                await asyncio.sleep(0.1)
            assert relay.stats.by_tenant.get("up-lib", 0) >= 1  # its own server's logs flow
            assert relay.leading.is_set()
        finally:
            stop.set()
            await running
            await _delete_stream(nats_url, f"{prefix.upper()}_EVENTS")
            consortium.close()
            database.close()


def test_a_parked_event_of_a_tenant_on_another_server_is_retried_from_that_server(
        placed: tuple[Services, TestClient, dict[str, str]],
        two_servers: tuple[str, str, str], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, http, admin = placed
    default, _, _ = two_servers
    slug = _library(http, admin, "second")["slug"]
    with psycopg.connect(default, autocommit=True) as conn:
        generation = conn.execute("SELECT generation FROM projections.generations "
                                  "WHERE projection = 'activity'").fetchone()
        conn.execute("INSERT INTO projections.parked (projection, generation, tenant, "
                     "position, previous, topic, error, status, attempts) VALUES "
                     "('activity', %s, %s, 1, 0, 'a topic', 'a fault', 'passed', 1)",
                     (generation[0] if generation else 1, slug))
    # The event is read from the second server, where the tenant lives (it was looked for
    # on the default one, where its schema is not: an unhandled UndefinedTable).
    assert cli.main(["projections", "retry", "activity", "--tenant", slug,
                     "--position", "1", "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["result"] == "applied"
    with psycopg.connect(default) as conn:
        assert conn.execute("SELECT count(*) FROM projections.parked WHERE tenant = %s",
                            (slug,)).fetchone() == (0,)
