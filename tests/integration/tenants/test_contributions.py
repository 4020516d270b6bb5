"""Contribute, then link: a contribution whose link a crash cut off is linked by the process
manager; a member that unlinked meanwhile is not linked again."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from tests.integration.api.test_catalog import data, gql

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
CREATE = 'mutation { createRecord(input: {title: "Benito Cereno"}) { record { id } } }'


def _linked_to(services: Services, slug: str, record_id: uuid.UUID,
               seconds: float = 15) -> uuid.UUID | None:
    catalog = services.scope(slug).catalog
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        linked = catalog.get_record(record_id).shared_record_id
        if linked is not None:
            return linked
        time.sleep(0.05)
    return None


def test_a_contribution_cut_off_before_its_link_is_linked_by_the_process_manager(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    slug = library["slug"]
    record_id = uuid.UUID(data(gql(http, library["token"], CREATE))["createRecord"]["record"][
        "id"])
    record = services.scope(slug).catalog.get_record(record_id)
    # the share's first half only, as when its process died before linking
    shared = services.office.shared.contribute(slug, record.id, record.description, None, None)
    assert _linked_to(services, slug, record_id) == shared.id


def test_a_member_that_unlinked_is_not_linked_again_by_a_late_reaction(
        http: TestClient, services: Services, library: dict[str, str]) -> None:
    slug, token = library["slug"], library["token"]
    record_id = data(gql(http, token, CREATE))["createRecord"]["record"]["id"]
    data(gql(http, token, """mutation($id: ID!) { shareRecord(input: {recordId: $id}) {
        record { id } } }""", id=record_id))
    data(gql(http, token, """mutation($id: ID!) { unlinkSharedRecord(input: {recordId: $id})
        { record { id } } }""", id=record_id))
    assert _linked_to(services, slug, uuid.UUID(record_id), seconds=3) is None
