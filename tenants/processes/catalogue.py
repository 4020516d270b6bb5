"""The process managers the service runs (`serve --role processes`, and in `all`)."""

from __future__ import annotations

from tenants.processes.runner import Commands, ProcessManager


def process_managers(commands: Commands) -> list[ProcessManager]:
    """Every process manager, issuing its commands through `commands`. (The reactions that
    still run elsewhere move here: hold-pickup expiry, contribute-then-link, item → copy.)"""
    del commands  # none yet
    return []
