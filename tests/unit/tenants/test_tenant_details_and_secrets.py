"""A tenant's details change by event; a client's secret rotates with a grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenants.client import ApiClient, hash_secret
from tenants.errors import ClientRevokedError, TenantFieldInvalidError, TenantStatusError
from tenants.tenant import Tenant

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _client() -> ApiClient:
    return ApiClient(client_id="lib.0001", name="desk", scopes=["library:read"],
                     secret_hash=hash_secret("old"), created_at=NOW)


def test_change_details_records_only_what_changed() -> None:
    tenant = Tenant.register("city-lib", "City Library", "XX-CITY", NOW)
    assert tenant.change_details(NOW, name="  City & County Library ", isil="XX-CITY")
    event = tenant.collect_events()[-1]
    assert isinstance(event, Tenant.DetailsChanged)
    assert (event.name, event.isil, event.isil_removed) == ("City & County Library", None,
                                                            False)
    assert (tenant.name, tenant.isil) == ("City & County Library", "XX-CITY")


def test_change_details_removes_the_isil() -> None:
    tenant = Tenant.register("city-lib", "City Library", "XX-CITY", NOW)
    assert tenant.change_details(NOW, remove_isil=True)
    assert tenant.isil is None


def test_change_details_same_values_records_nothing() -> None:
    tenant = Tenant.register("city-lib", "City Library", "XX-CITY", NOW)
    tenant.collect_events()
    assert not tenant.change_details(NOW, name="City Library", isil="XX-CITY")
    assert tenant.collect_events() == []


def test_change_details_replays_to_the_same_tenant() -> None:
    tenant = Tenant.register("city-lib", "City Library", None, NOW)
    tenant.change_details(NOW, name="Town Library", isil="XX-TOWN")
    replayed = None
    for event in tenant.collect_events():
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Tenant)
    assert (replayed.name, replayed.isil) == ("Town Library", "XX-TOWN")


@pytest.mark.parametrize(("changes", "message"), [
    ({}, "give name or isil"),
    ({"name": "   "}, "name must be"),
    ({"isil": "not an isil"}, "not an ISO 15511"),
    ({"isil": "XX-A", "remove_isil": True}, "not both"),
])
def test_change_details_refuses_bad_input(changes: dict[str, object], message: str) -> None:
    tenant = Tenant.register("city-lib", "City Library", None, NOW)
    with pytest.raises(TenantFieldInvalidError, match=message):
        tenant.change_details(NOW, **changes)  # type: ignore[arg-type]


def test_change_details_of_archived_tenant_is_refused() -> None:
    tenant = Tenant.register("city-lib", "City Library", None, NOW)
    tenant.archive(NOW)
    with pytest.raises(TenantStatusError, match="archived"):
        tenant.change_details(NOW, name="Other")


def test_rotated_secret_old_one_works_until_grace_ends() -> None:
    client = _client()
    client.rotate_secret(hash_secret("new"), timedelta(hours=1), NOW)
    assert client.check_secret("new", NOW)
    assert client.check_secret("old", NOW + timedelta(minutes=59))
    assert not client.check_secret("old", NOW + timedelta(hours=1))
    assert client.check_secret("new", NOW + timedelta(days=400))
    assert not client.check_secret("other", NOW)


def test_rotated_secret_zero_grace_stops_the_old_one_at_once() -> None:
    client = _client()
    client.rotate_secret(hash_secret("new"), timedelta(0), NOW)
    assert not client.check_secret("old", NOW)


def test_rotating_again_stops_the_secret_replaced_first() -> None:
    client = _client()
    client.rotate_secret(hash_secret("second"), timedelta(days=1), NOW)
    client.rotate_secret(hash_secret("third"), timedelta(days=1), NOW + timedelta(hours=1))
    at = NOW + timedelta(hours=2)
    assert not client.check_secret("old", at)
    assert client.check_secret("second", at)
    assert client.check_secret("third", at)
    rotations = [e for e in client.collect_events() if isinstance(e, ApiClient.SecretRotated)]
    assert len(rotations) == 2


def test_rotation_bad_grace_or_revoked_client_is_refused() -> None:
    client = _client()
    with pytest.raises(TenantFieldInvalidError, match="grace_seconds"):
        client.rotate_secret(hash_secret("new"), timedelta(days=31), NOW)
    with pytest.raises(TenantFieldInvalidError, match="grace_seconds"):
        client.rotate_secret(hash_secret("new"), timedelta(seconds=-1), NOW)
    client.revoke(NOW)
    with pytest.raises(ClientRevokedError):
        client.rotate_secret(hash_secret("new"), timedelta(0), NOW)
    assert not client.check_secret("old", NOW)
