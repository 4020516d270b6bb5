"""The process managers the service runs (`serve --role processes`, and in `all`)."""

from __future__ import annotations

from collections.abc import Callable

from infra.ill_outbox import IllOutbox
from tenants.lending import InterlibraryDesk
from tenants.processes.copies import ItemsToCopies
from tenants.processes.lending import LendingMessages, PeerMessages, ReceivedRequests
from tenants.processes.runner import Commands, ProcessManager
from tenants.processes.sharing import ContributionsToLinks


def process_managers(commands: Commands, lending_desk: Callable[[str], InterlibraryDesk],
                     outbox: IllOutbox) -> list[ProcessManager]:
    """Every process manager, issuing its commands through `commands`."""
    received = ReceivedRequests(commands)  # both lending managers read the same requests
    return [ContributionsToLinks(commands), ItemsToCopies(commands),
            LendingMessages(commands, lending_desk, outbox, received),
            PeerMessages(commands, outbox, received)]
