"""A tenant's texts are checked before anything is recorded: a NUL in a suspension reason
would stop the office's read models for every library."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenants.errors import TenantFieldInvalidError
from tenants.tenant import Tenant, check_name

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_a_suspension_reason_with_a_nul_is_refused_and_nothing_recorded() -> None:
    tenant = Tenant.register("lib-a", "Library A", None, NOW)
    pending = len(tenant.collect_events())
    with pytest.raises(TenantFieldInvalidError, match="reason: control characters"):
        tenant.suspend("unpaid\u0000fees", NOW)
    assert tenant.status != "suspended"
    assert pending == 1
    assert tenant.collect_events() == []


def test_a_name_with_control_characters_is_refused() -> None:
    with pytest.raises(TenantFieldInvalidError, match="name"):
        check_name("Library\u0007A")
