"""The process managers the service runs (`serve --role processes`, and in `all`)."""

from __future__ import annotations

from tenants.processes.copies import ItemsToCopies
from tenants.processes.runner import Commands, ProcessManager
from tenants.processes.sharing import ContributionsToLinks


def process_managers(commands: Commands) -> list[ProcessManager]:
    """Every process manager, issuing its commands through `commands`."""
    return [ContributionsToLinks(commands), ItemsToCopies(commands)]
