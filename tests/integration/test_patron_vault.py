"""Patron keys on disk: wrapped by a key PostgreSQL never sees, gone from the table's pages
after an erasure; barcode hashes keyed per tenant; a store of an earlier version migrates."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.dependencies import Services
from infra.kek import KeyEncryptionKey, KeyEncryptionKeyError
from infra.vault import BarcodeTakenError, PatronVault
from tenants.consortium import tenant_schema
from tests.integration.api.test_catalog import data, gql
from tests.integration.api.test_circulation import REGISTER

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _register(http: TestClient, token: str, barcode: str) -> None:
    data(gql(http, token, REGISTER, input={
        "barcode": barcode, "name": f"Reader {secrets.token_hex(4)}", "email": None,
        "patronGroup": "undergraduate", "expiresOn": "2030-06-30"}))


def _table_pages(conn: psycopg.Connection[tuple[object, ...]], table: str) -> bytes:
    """Every page of the table's file as PostgreSQL has it, dead tuples included."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    row = conn.execute("SELECT pg_relation_size(%s::regclass) / 8192", (table,)).fetchone()
    assert row is not None
    pages = [conn.execute("SELECT get_raw_page(%s, %s)", (table, block)).fetchone()
             for block in range(int(str(row[0])))]
    return b"".join(bytes(page[0]) for page in pages if page)  # type: ignore[arg-type]


def _wal_since(conn: psycopg.Connection[tuple[object, ...]], start_lsn: str) -> bytes | None:
    """The WAL written since `start_lsn`, read from the server's files (None when the
    server's data directory is not on this machine)."""
    row = conn.execute("SELECT current_setting('data_directory'), pg_walfile_name(%s::pg_lsn), "
                       "pg_walfile_name(pg_current_wal_insert_lsn())", (start_lsn,)).fetchone()
    assert row is not None
    wal_dir = Path(str(row[0])) / "pg_wal"
    if not os.access(wal_dir, os.R_OK):
        return None
    names = sorted(p.name for p in wal_dir.iterdir() if len(p.name) == 24)
    chosen = [n for n in names if str(row[1]) <= n <= str(row[2])]
    return b"".join((wal_dir / n).read_bytes() for n in chosen)


def test_an_erased_patrons_key_is_in_no_page_and_never_reached_wal_in_the_clear(
        http: TestClient, library: dict[str, str], services: Services) -> None:
    schema = tenant_schema(library["slug"])
    table = f"{schema}.patron_keys"
    url = str(services.settings.database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        start_lsn = str(row[0])
        barcode = f"SHRED-{secrets.token_hex(3)}"
        _register(http, library["token"], barcode)
        key = services.consortium.stores.vault.by_barcode(schema, barcode)
        assert key is not None
        stored = conn.execute(sql.SQL("SELECT key FROM {} WHERE patron_id = %s").format(
            sql.Identifier(schema, "patron_keys")), (key.patron_id,)).fetchone()
        assert stored is not None
        wrapped = bytes(stored[0])  # type: ignore[arg-type]
        assert key.key not in wrapped  # the database holds the key only wrapped
        assert wrapped in _table_pages(conn, table)  # the scan of the pages finds what is there

        erased = data(gql(http, library["token"],
                          f'mutation {{ erasePatron(input: {{barcode: "{barcode}"}}) '
                          "{ erased } }"))
        assert erased == {"erasePatron": {"erased": True}}

        pages = _table_pages(conn, table)
        assert key.key not in pages
        assert wrapped not in pages  # rewritten: not even the wrapped key in a dead tuple
        assert key.pseudonym.bytes not in pages
        wal = _wal_since(conn, start_lsn)
    if wal is not None:
        assert wrapped in wal  # the WAL does keep the row (docs/security.md) ...
        assert key.key not in wal  # ... but only wrapped


def test_barcode_hashes_are_keyed_and_differ_between_tenants(services: Services) -> None:
    one, two = f"t_vault_{secrets.token_hex(3)}", f"t_vault_{secrets.token_hex(3)}"
    for schema in (one, two):
        services.database.create_schema(schema)
    vault = services.consortium.stores.vault
    barcode = "0012345678"
    assert vault.barcode_hash(one, barcode) != vault.barcode_hash(two, barcode)
    assert hashlib.sha256(barcode.encode()).hexdigest() not in vault.barcode_hash(one, barcode)
    other_kek = PatronVault(services.database, KeyEncryptionKey(secrets.token_bytes(32)))
    assert other_kek.barcode_hash(one, barcode) != vault.barcode_hash(one, barcode)

    first = vault.create(one, uuid.uuid4(), barcode)
    vault.create(two, uuid.uuid4(), barcode)  # another library may use the same barcode
    with pytest.raises(BarcodeTakenError):
        vault.create(one, uuid.uuid4(), barcode)
    assert vault.by_barcode(one, barcode) == first
    assert vault.by_pseudonym(one, first.pseudonym) == first
    assert vault.by_pseudonym(two, first.pseudonym) is None

    # A wrapped key copied into another tenant's table opens nothing there.
    with services.database.connection() as conn:
        conn.execute(sql.SQL("INSERT INTO {} SELECT patron_id, gen_random_uuid(), 'x', key "
                             "FROM {} WHERE patron_id = %s").format(
            sql.Identifier(two, "patron_keys"), sql.Identifier(one, "patron_keys")),
            (first.patron_id,))
    with pytest.raises(KeyEncryptionKeyError):
        vault.by_patron(two, first.patron_id)


def test_a_vault_an_earlier_version_wrote_keeps_working_and_is_wrapped(
        services: Services) -> None:
    schema = f"t_legacy_{secrets.token_hex(3)}"
    services.database.create_schema(schema)
    table = sql.Identifier(schema, "patron_keys")
    old_key, other_key = secrets.token_bytes(32), secrets.token_bytes(32)
    patron, other = uuid.uuid4(), uuid.uuid4()
    with services.database.connection() as conn:  # exactly what the earlier version made
        conn.execute(sql.SQL("CREATE TABLE {} (patron_id uuid PRIMARY KEY, pseudonym uuid "
                             "UNIQUE NOT NULL, barcode_hash text UNIQUE NOT NULL, key bytea "
                             "NOT NULL)").format(table))
        for patron_id, barcode, key in ((patron, "OLD-1", old_key),
                                        (other, "OLD-2", other_key)):
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(table),
                         (patron_id, uuid.uuid4(), hashlib.sha256(barcode.encode()).hexdigest(),
                          key))
    # a process of the new version
    vault = PatronVault(services.database, services.consortium.stores.vault.kek)

    found = vault.by_barcode(schema, "OLD-1")

    assert found is not None
    assert (found.patron_id, found.key) == (patron, old_key)
    with services.database.connection() as conn:
        rows = {r["patron_id"]: r for r in conn.execute(
            sql.SQL("SELECT patron_id, barcode_hash, key FROM {}").format(table)).fetchall()}
    assert old_key not in bytes(rows[patron]["key"])  # every key wrapped at first use
    assert other_key not in bytes(rows[other]["key"])
    assert rows[patron]["barcode_hash"] == vault.barcode_hash(schema, "OLD-1")  # re-keyed
    with pytest.raises(BarcodeTakenError):  # an old, unkeyed hash still holds its barcode
        vault.create(schema, uuid.uuid4(), "OLD-2")
    reopened = vault.by_patron(schema, other)
    assert reopened is not None
    assert reopened.key == other_key
