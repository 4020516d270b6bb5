"""Sessions remembered per process are forgotten by session, by staff user and by tenant."""

from __future__ import annotations

import uuid

from tenants.access import AccessCache
from tenants.staff import StaffAccess, staff_tags


def _session(session_id: str, tenant: str | None, user: uuid.UUID) -> StaffAccess:
    return StaffAccess(session_id, tenant, user, "u", frozenset({"library:read"}), None)


def test_sessions_are_forgotten_by_session_user_and_tenant() -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    sessions = {"s1": _session("s1", "lib", ann), "s2": _session("s2", "lib", ann),
                "s3": _session("s3", "lib", bob), "s4": _session("s4", None, bob)}
    loads: list[str] = []

    def load(session_id: str) -> StaffAccess:
        loads.append(session_id)
        return sessions[session_id]

    cache: AccessCache[StaffAccess] = AccessCache(load, 60, tags=staff_tags)
    for sid in sessions:
        cache.get(sid)
    cache.changed(f"staff:lib:{ann}")  # ann disabled: both her sessions go
    assert [s for s in sessions if cache.peek(s) is None] == ["s1", "s2"]
    cache.changed("session:s3")
    assert cache.peek("s3") is None
    assert cache.peek("s4") is not None  # bob's office session is another user's entry
    cache.changed(f"staff:office:{bob}")
    assert cache.peek("s4") is None
    cache.get("s1")
    cache.changed("tenant:lib")
    assert cache.peek("s1") is None
    assert loads == ["s1", "s2", "s3", "s4", "s1"]
