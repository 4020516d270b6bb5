"""The key-encryption key: kept outside PostgreSQL, it wraps the keys the database holds.

The signing key and every patron key are stored wrapped (AES-256-GCM, bound to where they
belong), so a copy of the database alone (a dump, a stolen volume, a dead tuple, WAL) opens
nothing. The key comes from `COMMONSHELF_KEK_FILE`; the embedded default generates one
into its private data directory. The database remembers the key's fingerprint, so a process
given another key refuses to start instead of failing on the first patron.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.database import Database

KEK_BYTES = 32
_WRAP_VERSION = b"\x01"
_NONCE_BYTES = 12
CHECK_SCHEMA = "auth"


class KeyEncryptionKeyError(RuntimeError):
    """The key-encryption key is missing, malformed, or not the one the store was set up with."""


class KeyEncryptionKey:
    """A 256-bit key that wraps other keys and derives per-purpose secrets."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEK_BYTES:
            raise KeyEncryptionKeyError(f"a key-encryption key has {KEK_BYTES} bytes, "
                                        f"not {len(key)}")
        self._key = key

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (what the database remembers)."""
        return hmac.new(self._key, b"commonshelf kek fingerprint", hashlib.sha256).hexdigest()[:32]

    def wrap(self, secret: bytes, context: str) -> bytes:
        """The secret sealed with this key, bound to `context` (it opens nowhere else)."""
        nonce = os.urandom(_NONCE_BYTES)
        return _WRAP_VERSION + nonce + AESGCM(self._key).encrypt(nonce, secret,
                                                                 context.encode())

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        """A secret `wrap` sealed for this context; KeyEncryptionKeyError otherwise."""
        if not is_wrapped(wrapped):
            raise KeyEncryptionKeyError(f"{context}: not a wrapped key")
        nonce, sealed = wrapped[1:1 + _NONCE_BYTES], wrapped[1 + _NONCE_BYTES:]
        try:
            return AESGCM(self._key).decrypt(nonce, sealed, context.encode())
        except InvalidTag:
            raise KeyEncryptionKeyError(f"{context}: wrapped with another key-encryption key "
                                        "or for another place") from None

    def derive(self, purpose: str) -> bytes:
        """A 256-bit secret for one purpose (HKDF-SHA256): unrelated to the key or to any
        other purpose's secret."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=purpose.encode()).derive(self._key)


def is_wrapped(blob: bytes) -> bool:
    """True for what `wrap` makes (a version byte, a nonce, the sealed key and its tag)."""
    return blob[:1] == _WRAP_VERSION and len(blob) > 1 + _NONCE_BYTES + 16


def load_kek(path: Path, *, create: bool) -> KeyEncryptionKey:
    """The key in the file (base64); with `create`, a new one written there first (0600)."""
    if create and not path.exists():
        _create(path)
    try:
        text = path.read_text().strip()
    except UnicodeDecodeError:
        text = ""  # raw bytes, not base64: refused below with how to make one
    except OSError as error:
        raise KeyEncryptionKeyError(f"cannot read the key-encryption key {path}: "
                                    f"{error.strerror}") from None
    try:
        return KeyEncryptionKey(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise KeyEncryptionKeyError(f"{path} must hold {KEK_BYTES} bytes in base64 (make one "
                                    "with: head -c 32 /dev/urandom | base64)") from None


def _create(path: Path) -> None:
    """Writes a new key where processes starting together may race: whole or not at all
    (written aside, then linked into place; the first link wins, the others read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(KEK_BYTES)).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink()


def check_kek(database: Database, kek: KeyEncryptionKey) -> None:
    """Remembers the store's key on first use; refuses a process that brings another one."""
    database.create_schema(CHECK_SCHEMA)
    with database.ddl() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS auth.key_encryption "
                     "(id int PRIMARY KEY CHECK (id = 1), fingerprint text NOT NULL, "
                     "created_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO auth.key_encryption (id, fingerprint) VALUES (1, %s) "
                     "ON CONFLICT DO NOTHING", (kek.fingerprint,))
        row = conn.execute("SELECT fingerprint FROM auth.key_encryption").fetchone()
    if row is None or row["fingerprint"] != kek.fingerprint:
        remembered = row["fingerprint"] if row else "none"
        raise KeyEncryptionKeyError(
            f"this process's key-encryption key (fingerprint {kek.fingerprint}) is not the "
            f"one this database was set up with ({remembered}): give every process the same "
            "COMMONSHELF_KEK_FILE")
