"""Interlibrary lending's background work with its collaborators faked (no I/O): a message
to an archived member (its store maybe deleted) is dropped with a warning, not run (the
reaction would fail on every retry and hold back the sender's lending messages behind it);
a rota waiting on a member whose settings cannot be read moves on after the default time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.lending.outgoing import OutgoingRequest
from domain.lending.settings import LendingSettings
from projections.framework import Source
from tenants.errors import TenantNotFoundError
from tenants.lending import sweep_unanswered
from tenants.processes.lending import LendingMessages
from tenants.tenant import ACTIVE, ARCHIVED

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Office:
    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses

    def get_tenant(self, slug: str) -> Any:
        if slug not in self.statuses:
            raise TenantNotFoundError(f"no tenant {slug!r}")
        return SimpleNamespace(status=self.statuses[slug], isil=None)


class _Commands:
    def __init__(self, request: OutgoingRequest, statuses: dict[str, str]) -> None:
        lending = SimpleNamespace(outgoing=lambda _id: request)
        self.consortium = SimpleNamespace(office=_Office(statuses),
                                          scope=lambda _slug: SimpleNamespace(lending=lending))
        self.ran: list[tuple[str, str, str]] = []

    def run(self, tenant: str, key: str, command: Any) -> bool:
        self.ran.append((tenant, key, command.operation))
        return True


def _requested(supplier: str) -> tuple[OutgoingRequest, Any]:
    request = OutgoingRequest.request("entry-1", "Dune", uuid4(), pickup_location="Main desk",
                                      candidates=[f"{supplier}:r1"], at=T0)
    (event,) = request.collect_events()
    return request, event


@pytest.mark.parametrize(("status", "delivered"), [(ACTIVE, True), (ARCHIVED, False),
                                                   (None, False)])
def test_a_request_reaches_an_active_supplier_and_none_archived_or_unknown(
        status: str | None, delivered: bool) -> None:
    request, event = _requested("east")
    statuses = {"west": ACTIVE} | ({"east": status} if status else {})
    commands = _Commands(request, statuses)
    manager = LendingMessages(commands, lambda _slug: None, outbox=None)  # type: ignore[arg-type,return-value]
    manager.react(event, Source("west", 7))
    assert commands.ran == ([("east", "pm:lending_messages:west:7", "deliverRequest")]
                            if delivered else [])


def test_a_rota_waiting_on_a_deleted_member_moves_on_after_the_default_time() -> None:
    # The supplier's settings cannot be read (its store deleted): the sweep raised, and no
    # rota of any library moved on again while that request waited.
    sent = T0 - LendingSettings.defaults().answer_timeout - timedelta(minutes=1)
    first, second = uuid4(), uuid4()
    reads = SimpleNamespace(waiting_requests=lambda _state: [("west", first, "gone", sent),
                                                             ("west", second, "east", sent)])
    moved: list[UUID] = []

    def time_out(request_id: UUID, _timeout: timedelta, _at: datetime) -> bool:
        moved.append(request_id)
        return True

    def scope_of(slug: str) -> Any:
        if slug == "gone":
            raise RuntimeError('relation "t_gone.events" does not exist')
        return SimpleNamespace(lending=SimpleNamespace(settings=LendingSettings.defaults,
                                                       time_out=time_out))

    assert sweep_unanswered(scope_of, reads, T0) == 2
    assert moved == [first, second]
