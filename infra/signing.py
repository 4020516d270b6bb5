"""The key that signs access tokens: from a PEM file, or generated once and kept in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from infra.database import Database

KEYS_SCHEMA = "auth"


def _generate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_signing_key(database: Database, key_file: Path | None) -> RSAKey:
    """The file's key when one is configured; otherwise the database's, made on first use.

    Keeping the generated key in PostgreSQL lets every API replica sign and verify with the
    same key without a shared volume; production should mount a key file instead.
    """
    if key_file is not None:
        pem = key_file.read_text()
    else:
        database.create_schema(KEYS_SCHEMA)
        with database.ddl() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS auth.signing_key "
                "(id int PRIMARY KEY CHECK (id = 1), pem text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.execute(
                "INSERT INTO auth.signing_key (id, pem) VALUES (1, %s) ON CONFLICT DO NOTHING",
                (_generate_pem(),),
            )
            row = conn.execute("SELECT pem FROM auth.signing_key WHERE id = 1").fetchone()
        assert row is not None  # noqa: S101 (inserted just above)
        pem = row["pem"]
    key = RSAKey.import_key(pem, {"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    return key
