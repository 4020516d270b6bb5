"""The Tenant and ApiClient aggregates: rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenants.client import ApiClient, hash_secret
from tenants.errors import TenantFieldInvalidError, TenantSlugInvalidError, TenantStatusError
from tenants.tenant import Tenant

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_register_is_active_with_deterministic_id() -> None:
    tenant = Tenant.register("city-lib", "  City Library ", "US-DLC", NOW)
    assert tenant.status == "active"
    assert tenant.name == "City Library"
    assert tenant.id == Tenant.create_id("city-lib")
    assert tenant.id != Tenant.create_id("city-lib2")


@pytest.mark.parametrize("slug", ["a", "A-lib", "-lib", "lib-", "lib_x", "li b", "x" * 41,
                                  "bibliothèque", "office", ""])
def test_register_refuses_bad_slug(slug: str) -> None:
    with pytest.raises(TenantSlugInvalidError):
        Tenant.register(slug, "Name", None, NOW)


@pytest.mark.parametrize("slug", ["ab", "a1", "city-lib-2", "x" * 40])
def test_register_accepts_good_slug(slug: str) -> None:
    assert Tenant.register(slug, "Name", None, NOW).slug == slug


@pytest.mark.parametrize(("name", "isil"), [("", None), ("  ", None), ("x" * 201, None),
                                            ("Ok", "no hyphen"), ("Ok", "US-" + "X" * 20)])
def test_register_refuses_bad_name_or_isil(name: str, isil: str | None) -> None:
    with pytest.raises(TenantFieldInvalidError):
        Tenant.register("city-lib", name, isil, NOW)


def test_suspend_reactivate_archive_lifecycle() -> None:
    tenant = Tenant.register("city-lib", "City", None, NOW)
    tenant.suspend("unpaid fees", NOW)
    assert (tenant.status, tenant.suspension_reason) == ("suspended", "unpaid fees")
    tenant.reactivate(NOW)
    assert (tenant.status, tenant.suspension_reason) == ("active", None)
    tenant.archive(NOW)
    assert tenant.status == "archived"
    assert [type(e).__name__ for e in tenant.collect_events()] == [
        "Registered", "Suspended", "Reactivated", "Archived"]


def test_transitions_refused_from_wrong_status() -> None:
    tenant = Tenant.register("city-lib", "City", None, NOW)
    with pytest.raises(TenantStatusError):
        tenant.reactivate(NOW)
    with pytest.raises(TenantFieldInvalidError):
        tenant.suspend("   ", NOW)
    tenant.archive(NOW)
    with pytest.raises(TenantStatusError):
        tenant.suspend("late", NOW)
    with pytest.raises(TenantStatusError):
        tenant.archive(NOW)


def test_client_secret_checked_and_revocation_final() -> None:
    client = ApiClient(client_id="city-lib.ab", name="desk", scopes=["library:read"],
                       secret_hash=hash_secret("s3cret"), created_at=NOW)
    assert client.check_secret("s3cret")
    assert not client.check_secret("wrong")
    client.revoke(NOW)
    client.revoke(NOW)
    assert not client.check_secret("s3cret")
    assert len(client.collect_events()) == 2
