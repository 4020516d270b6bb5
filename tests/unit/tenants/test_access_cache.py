"""The access cache: fresh entries from memory, changes forget, a read racing a change is
not kept."""

from __future__ import annotations

from datetime import UTC, datetime

from tenants.access import Access, AccessCache
from tenants.client import ApiClient


def _client(client_id: str) -> ApiClient:
    return ApiClient(client_id=client_id, name="desk", scopes=["library:read"],
                     secret_hash="x" * 64, created_at=datetime.now(UTC))


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.status = "active"
        self.during: AccessCache | None = None  # announce a change in the middle of a read

    def __call__(self, client_id: str) -> Access:
        self.calls += 1
        tenant = client_id.partition(".")[0]
        if self.during is not None:
            self.during.changed(f"tenant:{tenant}")
        return Access(tenant, _client(client_id), self.status)


def test_reads_once_until_a_change_of_its_client_or_tenant() -> None:
    load = Loader()
    cache = AccessCache(load, ttl_s=60)
    cache.get("lib-a.1")
    cache.get("lib-a.1")
    cache.get("lib-b.1")
    assert load.calls == 2
    cache.changed("client:lib-a.1")
    cache.get("lib-a.1")
    cache.get("lib-b.1")
    assert load.calls == 3
    cache.changed("tenant:lib-b")
    load.status = "suspended"
    assert cache.get("lib-b.1").tenant_status == "suspended"
    assert cache.get("lib-a.1").tenant_status == "active"
    cache.changed(None)
    cache.get("lib-a.1")
    assert load.calls == 5


def test_entries_expire_after_the_ttl() -> None:
    load = Loader()
    cache = AccessCache(load, ttl_s=0)
    cache.get("lib-a.1")
    cache.get("lib-a.1")
    assert load.calls == 2


def test_a_read_racing_a_change_is_used_once_but_not_kept() -> None:
    load = Loader()
    cache = AccessCache(load, ttl_s=60)
    load.during = cache
    cache.get("lib-a.1")
    load.during = None
    cache.get("lib-a.1")
    assert load.calls == 2
    cache.get("lib-a.1")
    assert load.calls == 2
