"""The keys that sign access tokens: from a PEM file, or kept in PostgreSQL wrapped.

Generated keys live in `auth.signing_keys`, each sealed with the key-encryption key (which
never enters the database), so the database's role (or a dump of it) cannot forge tokens.
The newest key signs; every key in the table verifies and is published in the JWKS, so a
rotation keeps the tokens signed just before it valid until they expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from infra.database import Database
from infra.kek import KeyEncryptionKey

KEYS_SCHEMA = "auth"


@dataclass(frozen=True)
class SigningKeys:
    """The key that signs new tokens and every key whose tokens are still accepted."""

    current: RSAKey
    accepted: tuple[RSAKey, ...]


def _generate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _import(pem: bytes | str) -> RSAKey:
    key = RSAKey.import_key(pem, {"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    return key


def _context(kid: str) -> str:
    return f"signing-key:{kid}"


def _create_tables(database: Database, kek: KeyEncryptionKey) -> None:
    database.create_schema(KEYS_SCHEMA)
    with database.ddl() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS auth.signing_keys "
                     "(kid text PRIMARY KEY, wrapped bytea NOT NULL, "
                     "created_at timestamptz NOT NULL DEFAULT clock_timestamp())")
        # A store made before keys were wrapped kept its one key in plain text: wrap it
        # (so its tokens stay valid) and drop the old table, file and all.
        legacy = conn.execute("SELECT to_regclass('auth.signing_key') AS t").fetchone()
        if legacy is not None and legacy["t"] is not None:
            row = conn.execute("SELECT pem, created_at FROM auth.signing_key").fetchone()
            if row is not None:
                key = _import(row["pem"])
                conn.execute("INSERT INTO auth.signing_keys (kid, wrapped, created_at) "
                             "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                             (key.kid, kek.wrap(row["pem"].encode(), _context(str(key.kid))),
                              row["created_at"]))
            conn.execute("DROP TABLE auth.signing_key")


def add_signing_key(database: Database, kek: KeyEncryptionKey) -> str:
    """A new signing key, wrapped; the newest key signs. Returns its key id."""
    pem = _generate_pem()
    key = _import(pem)
    with database.connection() as conn:
        conn.execute("INSERT INTO auth.signing_keys (kid, wrapped) VALUES (%s, %s)",
                     (key.kid, kek.wrap(pem, _context(str(key.kid)))))
    return str(key.kid)


def rotate_signing_key(database: Database, kek: KeyEncryptionKey, keep_s: int) -> str:
    """Adds a new signing key and drops every key replaced more than `keep_s` seconds ago
    (give it the tokens' lifetime: no token signed by a dropped key is still valid)."""
    _create_tables(database, kek)
    kid = add_signing_key(database, kek)
    with database.connection() as conn:
        conn.execute(
            "DELETE FROM auth.signing_keys old WHERE EXISTS (SELECT 1 FROM auth.signing_keys "
            "newer WHERE newer.created_at > old.created_at "
            "AND newer.created_at < clock_timestamp() - make_interval(secs => %s))",
            (keep_s,))
    return kid


def stored_signing_keys(database: Database, kek: KeyEncryptionKey) -> SigningKeys:
    """The database's keys, newest first signing; one is generated on first use."""
    with database.connection() as conn:
        rows = conn.execute("SELECT kid, wrapped FROM auth.signing_keys "
                            "ORDER BY created_at DESC, kid").fetchall()
    keys = tuple(_import(kek.unwrap(bytes(r["wrapped"]), _context(r["kid"]))) for r in rows)
    if not keys:
        add_signing_key(database, kek)
        return stored_signing_keys(database, kek)
    return SigningKeys(keys[0], keys)


def load_signing_keys(database: Database, kek: KeyEncryptionKey,
                      key_file: Path | None) -> SigningKeys:
    """The file's key when one is configured (it alone signs and verifies); otherwise the
    database's wrapped keys, made on first use (every API replica shares them)."""
    if key_file is not None:
        key = _import(key_file.read_text())
        return SigningKeys(key, (key,))
    _create_tables(database, kek)
    return stored_signing_keys(database, kek)
