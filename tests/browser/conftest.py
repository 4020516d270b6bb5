"""The service as a user runs it (`commonshelf serve`, on this run's database) and a headless
Chromium from Debian's packages driven by Selenium with the packaged chromedriver (no browser
or driver is downloaded: Selenium Manager never runs). Screenshots of each step go to
test-artifacts/console/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.embedded import free_port
from infra.nats import connect

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CLI = [sys.executable, "-m", "api.cli"]
MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
NO_BROWSER = (f"needs Debian's chromium and chromium-driver ({', '.join(MISSING)} absent): "
              "apt-get install -y chromium chromium-driver")


class Served:
    """A running service: its URL and a way to run the CLI on the same database."""

    def __init__(self, url: str, env: dict[str, str], data_dir: Path) -> None:
        self.url = url
        self.env = env
        self.data_dir = data_dir

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        """Runs `commonshelf ARGS --json` against the served database; its JSON answer."""
        done = subprocess.run([*CLI, *args, "--data-dir", str(self.data_dir), "--json"],
                              env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def has_query(self, name: str) -> bool:
        """Whether the served schema has this root query field (features that other releases
        add: the console's pages for them say "not available yet" until they do)."""
        sdl = httpx.get(f"{self.url}/graphql/schema.graphql", timeout=30).text
        return f"\n  {name}(" in sdl or f"\n  {name}:" in sdl

    def client_token(self, slug: str, scope: str = "library:read library:write") -> str:
        """A token of a new API client of the library (to set up what a test needs)."""
        client = self.cli("clients", "create", "--tenant", slug, "--name", "setup",
                          "--scope", scope)
        answer = httpx.post(f"{self.url}/oauth/token",
                            data={"grant_type": "client_credentials"},
                            auth=(client["client_id"], client["client_secret"]), timeout=30)
        token: str = answer.json()["access_token"]
        return token

    def gql(self, token: str, query: str, **variables: Any) -> Any:
        """A GraphQL operation's data (asserted to have no errors)."""
        answer = httpx.post(f"{self.url}/graphql",
                            json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert "errors" not in answer, answer
        return answer["data"]

    def staff(self, tenant: str, username: str, password: str, *roles: str,
              display_name: str | None = None) -> None:
        """A staff user made with the CLI, as an operator makes the office's first one."""
        args = ["staff", "create", "--tenant", tenant, "--username", username,
                "--password-stdin", *[a for r in roles for a in ("--role", r)]]
        if display_name:
            args += ["--display-name", display_name]
        self.cli(*args, stdin=password + "\n")


@pytest.fixture(scope="session")
def browser_database(servers: tuple[str, str]) -> Iterator[str]:
    """A database of the browser tests' own (the served process's relay and workers must not
    share one with the in-process services of the integration tests)."""
    params = conninfo_to_dict(servers[0])
    name = f"cs_browser_{secrets.token_hex(4)}"
    with psycopg.connect(servers[0], autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield make_conninfo(**{**params, "dbname": name})
    finally:
        with psycopg.connect(servers[0], autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def served(servers: tuple[str, str], browser_database: str, kek_file: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`commonshelf serve` on a database of its own, every role in one process."""
    database_url, nats_url = browser_database, servers[1]
    prefix = f"csbrowser{secrets.token_hex(3)}"
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": prefix, "COMMONSHELF_KEK_FILE": str(kek_file)}
    data_dir = tmp_path_factory.mktemp("served")
    port = free_port()
    process = subprocess.Popen([*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port),
                                "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited while starting"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("serve did not become ready within 90 s")
    try:
        yield Served(url, env, data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        asyncio.run(_delete_streams(nats_url, prefix))


async def _delete_streams(url: str, prefix: str) -> None:
    nc = await connect(url)
    for stream in (f"{prefix.upper()}_EVENTS", f"{prefix.upper()}_SCANS"):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(stream)
    await nc.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the screenshots of each step are kept (emptied at the start of a run)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture
def browser() -> Iterator[Any]:
    """A fresh headless Chromium (its own profile: no cookies carried between tests), in
    English unless a test switches."""
    if MISSING:
        pytest.skip(NO_BROWSER)
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs the selenium package "
                                    "(pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-US"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
