"""The service's app over real PostgreSQL and NATS, with an office admin token."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.dependencies import (
    Services,
    build_processes,
    build_relay,
    build_scan_worker,
    build_services,
    build_workers,
)
from infra.nats import connect
from infra.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture(scope="session")
def services(servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory,
             kek_file: Path) -> Iterator[Services]:
    """The services of one process, on this run's database."""
    database_url, nats_url = servers
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")),
                        database_url=database_url, nats_url=nats_url, db_pool_size=4,
                        max_body_bytes=64 * 1024, max_import_bytes=4 * 1024 * 1024,
                        max_scan_bytes=2 * 1024 * 1024,
                        nats_prefix=f"cstest{secrets.token_hex(4)}", kek_file=kek_file,
                        # every test client comes from one address: its failures add up
                        token_failures_per_address=10_000)
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture(scope="session")
def http(services: Services) -> Iterator[TestClient]:
    """An HTTP client of the app, with the relay, projection workers, scan worker and process
    managers running beside it."""
    settings = services.settings
    app = create_app(services, build_relay(settings), build_workers(settings),
                     [build_scan_worker(services)], [build_processes(services)])
    try:
        with TestClient(app) as client:
            yield client
    finally:
        for stream in (settings.events_stream, settings.scans_stream):
            asyncio.run(_delete_stream(str(settings.nats_url), stream))


async def _delete_stream(url: str, name: str) -> None:
    nc = await connect(url)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_stream(name)
    await nc.close()


def token_for(http: TestClient, client_id: str, secret: str, scope: str | None = None) -> str:
    """An access token obtained the way clients do."""
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    response = http.post("/oauth/token", data=form, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="session")
def admin_headers(http: TestClient, services: Services) -> dict[str, str]:
    """Authorization of a consortium office admin."""
    issued = services.consortium.create_client(None, "test admin", ["consortium:admin"])
    return {"Authorization": f"Bearer {token_for(http, issued.client.client_id, issued.secret)}"}


@pytest.fixture
def library(http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> dict[str, str]:
    """A fresh tenant with a client holding every library scope, and its token."""
    created = http.post("/admin/tenants", json={"slug": unique_slug, "name": "Test Library"},
                        headers=admin_headers)
    assert created.status_code == 201, created.text
    client = http.post(f"/admin/tenants/{unique_slug}/clients",
                       json={"name": "desk", "scopes": ["library:read", "library:write"]},
                       headers=admin_headers).json()
    token = token_for(http, client["client_id"], client["client_secret"])
    return {"slug": unique_slug, "client_id": client["client_id"],
            "client_secret": client["client_secret"], "token": token}
