"""Failed sign-ins counted in PostgreSQL: every process sees one count; the window slides."""

from __future__ import annotations

import secrets
import time

import pytest

from api.dependencies import Services
from infra.sign_in_failures import SignInFailures

pytestmark = [pytest.mark.postgres]


def test_failures_lock_a_key_for_the_rest_of_the_window(services: Services) -> None:
    key = f"account:lib/{secrets.token_hex(4)}"
    one, other = (SignInFailures(services.database, 1.5),
                  SignInFailures(services.database, 1.5))  # two processes' views
    for _ in range(4):
        one.failed(key)
    assert other.wait_s(key, 5) is None
    other.failed(key)
    wait = one.wait_s(key, 5)
    assert wait is not None
    assert 0 < wait <= 1.5
    assert one.wait_s(f"{key}-else", 5) is None
    time.sleep(wait + 0.1)
    assert one.wait_s(key, 5) is None


def test_no_username_or_address_is_stored(services: Services) -> None:
    marker = f"visible-{secrets.token_hex(4)}"
    SignInFailures(services.database, 60).failed(f"account:lib/{marker}", f"address:{marker}")
    with services.database.connection() as conn:
        found = conn.execute("SELECT count(*) AS n FROM auth.sign_in_failures "
                             "WHERE key_hash LIKE %s", (f"%{marker}%",)).fetchone()
    assert found is not None
    assert found["n"] == 0
