"""The signing keys are stored wrapped by a key PostgreSQL never sees, and rotate with overlap."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.auth import AuthError, TokenService
from api.dependencies import Services
from infra.database import Database
from infra.kek import KeyEncryptionKey, KeyEncryptionKeyError, check_kek, load_kek
from infra.signing import load_signing_keys, rotate_signing_key, stored_signing_keys

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def fresh_database(servers: tuple[str, str]) -> Iterator[Database]:
    """A database of the test's own: the signing keys are one per database."""
    base = servers[0]
    name = f"cs_keys_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(base)
    params["dbname"] = name
    database = Database(make_conninfo(**params), 2)
    yield database
    database.close()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _all_bytes(database: Database) -> bytes:
    with database.connection() as conn:
        rows = conn.execute("SELECT kid, wrapped FROM auth.signing_keys").fetchall()
    return b"".join(r["kid"].encode() + bytes(r["wrapped"]) for r in rows)


def test_the_database_holds_no_signing_key_in_the_clear(services: Services) -> None:
    stored = _all_bytes(services.database)
    key = services.tokens.keys.current
    der = key.as_der(private=True)
    assert der[-64:] not in stored  # the private key's bytes are nowhere in the table
    pem = key.as_pem(private=True)
    assert pem not in stored
    with services.database.connection() as conn:
        assert conn.execute("SELECT to_regclass('auth.signing_key') AS t").fetchone() == {
            "t": None}


def test_a_process_with_another_kek_refuses_to_start(fresh_database: Database,
                                                    tmp_path: Path) -> None:
    check_kek(fresh_database, load_kek(tmp_path / "one", create=True))
    load_signing_keys(fresh_database, load_kek(tmp_path / "one", create=False), None)
    other = load_kek(tmp_path / "two", create=True)
    with pytest.raises(KeyEncryptionKeyError, match="COMMONSHELF_KEK_FILE"):
        check_kek(fresh_database, other)
    with pytest.raises(KeyEncryptionKeyError, match="another key-encryption key"):
        stored_signing_keys(fresh_database, other)


def test_a_malformed_kek_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "kek"
    bad.write_text("not base64 at all!")
    with pytest.raises(KeyEncryptionKeyError, match=str(bad)):
        load_kek(bad, create=False)
    bad.write_text(base64.b64encode(b"short").decode())
    with pytest.raises(KeyEncryptionKeyError, match="32 bytes"):
        load_kek(bad, create=False)


def test_a_plain_key_an_earlier_version_stored_is_wrapped_and_keeps_its_tokens(
        fresh_database: Database, services: Services, tmp_path: Path) -> None:
    pem = services.tokens.keys.current.as_pem(private=True).decode()
    fresh_database.create_schema("auth")
    with fresh_database.connection() as conn:
        conn.execute("CREATE TABLE auth.signing_key (id int PRIMARY KEY CHECK (id = 1), "
                     "pem text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO auth.signing_key (id, pem) VALUES (1, %s)", (pem,))
    kek = load_kek(tmp_path / "kek", create=True)

    keys = load_signing_keys(fresh_database, kek, None)

    assert keys.current.kid == services.tokens.keys.current.kid  # same key: tokens still valid
    assert pem.encode() not in _all_bytes(fresh_database)
    with fresh_database.connection() as conn:
        assert conn.execute("SELECT to_regclass('auth.signing_key') AS t").fetchone() == {
            "t": None}


def test_rotation_publishes_both_keys_and_old_tokens_stay_valid(
        fresh_database: Database, services: Services, library: dict[str, str],
        tmp_path: Path) -> None:
    kek = KeyEncryptionKey(secrets.token_bytes(32))
    before = load_signing_keys(fresh_database, kek, None)
    old = TokenService(services.consortium, before, "commonshelf", 60,
                       reload=lambda: stored_signing_keys(fresh_database, kek))
    credentials = base64.b64encode(
        f"{library['client_id']}:{library['client_secret']}".encode()).decode()
    _, body, _ = old.issue({"grant_type": "client_credentials"},
                           {"Authorization": f"Basic {credentials}"})
    old_token = f"Bearer {body['access_token']}"

    rotate_signing_key(fresh_database, kek, keep_s=60)
    after = stored_signing_keys(fresh_database, kek)
    new = TokenService(services.consortium, after, "commonshelf", 60,
                       reload=lambda: stored_signing_keys(fresh_database, kek))

    assert after.current.kid != before.current.kid
    assert {k["kid"] for k in new.jwks()["keys"]} == {before.current.kid, after.current.kid}
    assert new.authenticate(old_token).tenant == library["slug"]
    _, body, _ = new.issue({"grant_type": "client_credentials"},
                           {"Authorization": f"Basic {credentials}"})
    # A replica started before the rotation learns the new key from the database.
    assert old.authenticate(f"Bearer {body['access_token']}").client_id == library["client_id"]

    rotate_signing_key(fresh_database, kek, keep_s=0)  # the first key's successor is old now
    final = stored_signing_keys(fresh_database, kek)
    assert before.current.kid not in {k.kid for k in final.accepted}
    with pytest.raises(AuthError):
        TokenService(services.consortium, final, "commonshelf", 60).authenticate(old_token)
