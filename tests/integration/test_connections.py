"""Many tenants, one bounded pool: connections do not grow with the number of tenants."""

from __future__ import annotations

import secrets

import pytest

from infra.database import Database
from tenants.consortium import Consortium

pytestmark = [pytest.mark.postgres]


def _connections(database: Database, name: str) -> int:
    with database.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = %s",
                           (name,)).fetchone()
    assert row is not None
    return int(row["n"])


def test_sixty_tenants_share_a_pool_of_three(servers: tuple[str, str]) -> None:
    name = f"cs-conn-{secrets.token_hex(3)}"
    database = Database(servers[0], pool_size=3, name=name)
    try:
        consortium = Consortium(database, max_scopes=16)
        slugs = [f"conn-{secrets.token_hex(3)}-{i}" for i in range(60)]
        for slug in slugs:
            consortium.register_tenant(slug, slug, None)
            issued = consortium.create_client(slug, "desk", ["library:read"])
            assert consortium.find_client(issued.client.client_id)[1].check_secret(issued.secret)
        assert 1 <= _connections(database, name) <= 3
        exported = list(consortium.export(slugs[0]))
        assert len(exported) == 2
    finally:
        database.close()


def test_an_exclusive_lock_is_held_by_one_process_at_a_time(servers: tuple[str, str]) -> None:
    first, second = Database(servers[0], pool_size=2), Database(servers[0], pool_size=2)
    key = 0x43530F00 + secrets.randbelow(255)
    try:
        with first.exclusive(key) as mine:
            assert mine
            with second.exclusive(key) as theirs:
                assert not theirs  # at once, without waiting
        with second.exclusive(key) as theirs:
            assert theirs  # released when the first left its block
    finally:
        first.close()
        second.close()
