"""Wiring: the process's services, built once from settings, and the request dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from psycopg.rows import tuple_row

from api.auth import Principal, TokenService
from infra.database import Database
from infra.nats import Nats
from infra.relay import Relay
from infra.settings import Settings
from infra.signing import load_signing_key
from projections.catalogue import PROJECTIONS
from projections.postgres import (
    active_generation,
    create_tracking,
    event_logs,
    events_after,
    positions,
)
from projections.runner import ProjectionWorker
from tenants.consortium import Consortium, log_name


@dataclass
class Services:
    """What every request may use: settings, PostgreSQL, NATS, the consortium, tokens."""

    settings: Settings
    database: Database
    nats: Nats
    consortium: Consortium
    tokens: TokenService

    def close(self) -> None:
        """Closes the database pool (NATS is closed by the app's lifespan)."""
        self.database.close()


def build_services(settings: Settings) -> Services:
    """Connects to the configured servers and readies the consortium."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_services needs resolved server URLs (start the runtime first)")
    database = Database(settings.database_url, settings.db_pool_size)
    database.open()
    consortium = Consortium(database, settings.db_lock_timeout_s)
    key = load_signing_key(database, settings.signing_key_file)
    tokens = TokenService(consortium, key, settings.issuer, settings.token_ttl_s)
    return Services(settings, database, Nats(settings.nats_url), consortium, tokens)


def build_relay(settings: Settings) -> Relay:
    """The relay of every tenant's event log into JetStream."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_relay needs resolved server URLs (start the runtime first)")
    return Relay(settings.database_url, settings.nats_url, log_name)


def build_workers(settings: Settings) -> list[ProjectionWorker]:
    """One worker per projection the service runs."""
    if settings.database_url is None or settings.nats_url is None:
        raise ValueError("build_workers needs resolved server URLs (start the runtime first)")
    return [ProjectionWorker(projection(), settings.database_url, settings.nats_url)
            for projection in PROJECTIONS.values()]


def projection_status(services: Services) -> list[dict[str, object]]:
    """Each projection's applied position and lag, per tenant (office included)."""
    out: list[dict[str, object]] = []
    with services.database.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
        create_tracking(cur)
        logs = event_logs(cur)
        for name in PROJECTIONS:
            applied = positions(cur, name, active_generation(cur, name))
            for schema in logs:
                tenant = log_name(schema)
                position = applied.get(tenant, 0)
                out.append({"name": name, "tenant": tenant, "position": position,
                            "lag": events_after(cur, schema, position)})
    return out


def services(request: Request) -> Services:
    """The services of the running app."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def principal(
    svc: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The verified caller of this request (401/403 otherwise)."""
    return svc.tokens.authenticate(authorization)


PrincipalDep = Annotated[Principal, Depends(principal)]


def admin(caller: PrincipalDep) -> Principal:
    """The caller, who must be the consortium office with consortium:admin."""
    caller.require_admin()
    return caller


AdminDep = Annotated[Principal, Depends(admin)]
