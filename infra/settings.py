"""The service's configuration, read once from the environment and the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from infra.nats import NatsUrlError, seed_urls
from infra.servers import ServersError, parse_servers


def default_data_dir() -> Path:
    """Where the embedded runtime keeps its data when no --data-dir is given (XDG rules)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "commonshelf"


def _int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know to reach its servers and sign its tokens."""

    data_dir: Path
    database_url: str | None
    nats_url: str | None
    db_pool_size: int = 8
    db_lock_timeout_s: int = 5
    signing_key_file: Path | None = None
    issuer: str = "commonshelf"
    token_ttl_s: int = 3600
    max_body_bytes: int = 1024 * 1024
    max_import_bytes: int = 100 * 1024 * 1024
    max_scan_bytes: int = 256 * 1024 * 1024  # a scan batch, uncompressed
    scan_ack_wait_s: float = 60.0  # a dead scan worker's job goes to another after this
    nats_prefix: str = "cs"
    read_your_writes_s: float = 5.0
    kek_file: Path | None = None  # the key-encryption key; else <data_dir>/kek, made once
    token_failures_per_client: int = 5  # failed token requests before 429, per client id
    token_failures_per_address: int = 20  # ... and per remote address
    token_failure_window_s: int = 300  # failures older than this are forgotten
    token_failure_delay_s: float = 0.5  # a failed token request is answered this late
    nats_replicas: int = 1  # copies JetStream keeps of each stream (3 on a 3-node cluster)
    drain_s: float = 0.0  # after SIGTERM, /readyz answers 503 this long before the API stops
    tenant_concurrency: int = 4  # GraphQL operations of one library at once, per process
    tenant_rate: float = 200.0  # GraphQL operations of one library a second, per process
    tenant_servers: tuple[tuple[str, str], ...] = ()  # (name, URL) of servers beside default

    @property
    def events_stream(self) -> str:
        """The JetStream stream that carries every tenant's events."""
        return f"{self.nats_prefix.upper()}_EVENTS"

    @property
    def scans_stream(self) -> str:
        """The work queue of scan jobs (its subjects lie outside the events stream's)."""
        return f"{self.nats_prefix.upper()}_SCANS"

    @property
    def scans_subject(self) -> str:
        """Where scan jobs are published."""
        return f"{self.nats_prefix}jobs.scans"

    @property
    def embedded(self) -> bool:
        """True when neither server is given, so the service starts its own."""
        return self.database_url is None and self.nats_url is None

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Settings:
        """Reads DATABASE_URL, NATS_URL and the COMMONSHELF_* variables."""
        chosen = data_dir or os.environ.get("COMMONSHELF_DATA_DIR") or default_data_dir()
        database_url = os.environ.get("DATABASE_URL") or None
        nats_url = os.environ.get("NATS_URL") or None
        if (database_url is None) != (nats_url is None):
            missing = "NATS_URL" if nats_url is None else "DATABASE_URL"
            raise SettingsError(
                f"{missing} is not set: set both DATABASE_URL and NATS_URL to use external "
                "servers, or neither to use the embedded PostgreSQL and NATS"
            )
        if nats_url is not None:
            _check_nats_url(nats_url)
        key_file = os.environ.get("COMMONSHELF_SIGNING_KEY_FILE") or None
        return cls(
            data_dir=Path(chosen).expanduser().resolve(),
            database_url=database_url,
            nats_url=nats_url,
            db_pool_size=_int_from_env("COMMONSHELF_DB_POOL_SIZE", 8),
            db_lock_timeout_s=_int_from_env("COMMONSHELF_DB_LOCK_TIMEOUT", 5),
            signing_key_file=Path(key_file) if key_file else None,
            issuer=os.environ.get("COMMONSHELF_ISSUER") or "commonshelf",
            token_ttl_s=_int_from_env("COMMONSHELF_TOKEN_TTL", 3600),
            max_body_bytes=_int_from_env("COMMONSHELF_MAX_BODY_BYTES", 1024 * 1024),
            max_import_bytes=_int_from_env("COMMONSHELF_MAX_IMPORT_BYTES", 100 * 1024 * 1024),
            max_scan_bytes=_int_from_env("COMMONSHELF_MAX_SCAN_BYTES", 256 * 1024 * 1024),
            scan_ack_wait_s=_int_from_env("COMMONSHELF_SCAN_ACK_WAIT_S", 60),
            nats_prefix=os.environ.get("COMMONSHELF_NATS_PREFIX") or "cs",
            kek_file=Path(kek_file) if (kek_file := os.environ.get("COMMONSHELF_KEK_FILE"))
            else None,
            token_failures_per_client=_int_from_env("COMMONSHELF_TOKEN_FAILURES_PER_CLIENT", 5),
            token_failures_per_address=_int_from_env("COMMONSHELF_TOKEN_FAILURES_PER_ADDRESS",
                                                     20),
            token_failure_window_s=_int_from_env("COMMONSHELF_TOKEN_FAILURE_WINDOW_S", 300),
            token_failure_delay_s=_int_from_env("COMMONSHELF_TOKEN_FAILURE_DELAY_MS", 500) / 1000,
            nats_replicas=_replicas_from_env(),
            drain_s=_int_from_env("COMMONSHELF_DRAIN_S", 0),
            tenant_concurrency=_int_from_env("COMMONSHELF_TENANT_CONCURRENCY", 4),
            tenant_rate=_int_from_env("COMMONSHELF_TENANT_RATE", 200),
            tenant_servers=_servers_from_env(),
        )

    @property
    def kek_path(self) -> Path:
        """Where the key-encryption key is read (and, in the data directory, made once)."""
        return self.kek_file or self.data_dir / "kek"

    def with_servers(self, database_url: str, nats_url: str) -> Settings:
        """The same settings, pointed at the given servers (those of the embedded runtime)."""
        return replace(self, database_url=database_url, nats_url=nats_url)


def _servers_from_env() -> tuple[tuple[str, str], ...]:
    try:
        return tuple(parse_servers(os.environ.get("COMMONSHELF_TENANT_SERVERS")).items())
    except ServersError as error:
        raise SettingsError(str(error)) from None


def _replicas_from_env() -> int:
    replicas = _int_from_env("COMMONSHELF_NATS_REPLICAS", 1)
    if not 1 <= replicas <= 5:  # JetStream's own bounds for a stream's replicas
        raise SettingsError(f"COMMONSHELF_NATS_REPLICAS must be 1 to 5, got {replicas}")
    return replicas


def _check_nats_url(url: str) -> None:
    try:
        seed_urls(url)
    except NatsUrlError as error:
        raise SettingsError(str(error)) from None
