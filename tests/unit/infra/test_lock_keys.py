"""Every fixed PostgreSQL advisory lock of the service has a key of its own: two sharing one
would make one process's sweep look like another's and skip it, or wait on it."""

from __future__ import annotations

import importlib
import pkgutil

import infra


def test_every_advisory_lock_key_is_distinct() -> None:
    names: dict[int, set[str]] = {}  # key -> the constants holding it (an import keeps its name)
    for module in pkgutil.iter_modules(infra.__path__):
        for name, value in vars(importlib.import_module(f"infra.{module.name}")).items():
            if name.endswith("LOCK_KEY") and isinstance(value, int):
                names.setdefault(value, set()).add(name)
    shared = {f"{key:#x}": sorted(held) for key, held in names.items() if len(held) > 1}
    assert shared == {}
    assert len(names) >= 6  # relay, DDL, holds sweep, rota, vault migration, outbox claims
