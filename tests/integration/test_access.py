"""Access is remembered per process, and forgotten in every process the moment one of them
revokes a client or changes a tenant's status."""

from __future__ import annotations

import secrets
import time

import pytest

from infra.database import Database
from tenants.consortium import Consortium

pytestmark = [pytest.mark.postgres]


def _until(condition: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.01)
    return False


def test_a_revocation_or_suspension_in_another_process_is_heard_at_once(
        servers: tuple[str, str]) -> None:
    serving, admin = Database(servers[0], 2), Database(servers[0], 2)
    try:
        # An hour's TTL: only the announcement can make the serving process forget.
        api = Consortium(serving, access_ttl_s=3600)
        office = Consortium(admin, access_ttl_s=3600)
        slug = f"access-{secrets.token_hex(3)}"
        office.register_tenant(slug, "Access", None)
        desk = office.create_client(slug, "desk", ["library:read"]).client.client_id
        other = office.create_client(slug, "other", ["library:read"]).client.client_id
        assert api.access(desk).tenant_status == "active"
        assert not api.access(desk).client.revoked
        assert api._listener is not None
        assert api._listener.wait_listening(5)

        office.revoke_client(slug, desk)
        assert _until(lambda: api.access(desk).client.revoked)
        assert not api.access(other).client.revoked

        office.suspend_tenant(slug, "audit")
        assert _until(lambda: api.access(other).tenant_status == "suspended")
        office.reactivate_tenant(slug)
        assert _until(lambda: api.access(other).tenant_status == "active")
        api.close()
        office.close()
    finally:
        serving.close()
        admin.close()
