"""Who may act, remembered: every request's token names a client, whose tenant, revocation
and tenant status would otherwise cost three reads of the event stores per request.

An entry is dropped the moment a revocation or a tenant's change of status is announced
(on a PostgreSQL channel every process listens to), and in any case after `ttl_s`, so a
lost announcement (a process killed between its write and its announcement) cannot keep a
revoked client in for longer than that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tenants.client import ApiClient

ACCESS_CHANNEL = "commonshelf_access"
T = TypeVar("T")


@dataclass(frozen=True)
class Access:
    """A client, its tenant (None for the office) and that tenant's status (None: office),
    with the reason the office gave when it suspended the tenant."""

    tenant: str | None
    client: ApiClient
    tenant_status: str | None
    suspension_reason: str | None = None


def tenant_tags(access: Access) -> Iterable[str]:
    """A client's access is forgotten when its tenant's status changes."""
    return [f"tenant:{access.tenant}"]


class AccessCache(Generic[T]):
    """Accesses by client (or session) id, read through `load` and forgotten when announced
    changed: by id, or by a tag an entry carries (its tenant, its staff user)."""

    def __init__(self, load: Callable[[str], T], ttl_s: float, max_entries: int = 10_000,
                 tags: Callable[[T], Iterable[str]] = tenant_tags) -> None:  # type: ignore[assignment]
        self.load = load
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.tags = tags
        self._entries: dict[str, tuple[T, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every change, so a read racing one is not kept

    def get(self, client_id: str) -> T:
        """The client's access, from memory when it is fresh; raises what `load` raises."""
        known = self.peek(client_id)
        if known is not None:
            return known
        now = time.monotonic()
        with self._lock:
            generation = self._generation
        access = self.load(client_id)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[client_id] = (access, now)
        return access

    def peek(self, client_id: str) -> T | None:
        """The client's access if it is in memory and fresh; never reads the stores."""
        with self._lock:
            entry = self._entries.get(client_id)
            if entry is not None and time.monotonic() - entry[1] < self.ttl_s:
                return entry[0]
        return None

    def changed(self, what: str | None) -> None:
        """Forgets `client:<id>` (or `session:<id>`), or every entry tagged `what` (such as
        `tenant:<slug>`), or (None) everything."""
        with self._lock:
            self._generation += 1
            kind, _, name = (what or "").partition(":")
            if kind in ("client", "session"):
                self._entries.pop(name, None)
            elif what and name:
                for key in [k for k, (a, _) in self._entries.items() if what in self.tags(a)]:
                    del self._entries[key]
            else:
                self._entries.clear()
