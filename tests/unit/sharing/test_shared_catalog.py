"""Shared records' rules on an in-memory event store."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.shared.description import describe
from domain.shared.errors import DescriptionInvalidError
from domain.sharing.application import SharedCatalog
from domain.sharing.errors import (
    MergeInvalidError,
    NotContributorError,
    SharedRecordMergedError,
    SharedRecordNotFoundError,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
def shared() -> SharedCatalog:
    return SharedCatalog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def _contribute(shared: SharedCatalog, who: str, title: str):  # type: ignore[no-untyped-def]
    return shared.contribute(who, uuid4(), {**describe([]), "title": title}, None, None)


def test_contributing_the_same_record_twice_gives_one_shared_record(
    shared: SharedCatalog
) -> None:
    source = uuid4()
    first = shared.contribute("alpha", source, {**describe([]), "title": "A"}, None, None)
    again = shared.contribute("alpha", source, {**describe([]), "title": "A"}, None, None)
    assert first.id == again.id
    other = shared.contribute("beta", source, {**describe([]), "title": "A"}, None, None)
    assert other.id != first.id


def test_only_the_contributor_or_the_office_edits(shared: SharedCatalog) -> None:
    record = _contribute(shared, "alpha", "A")
    assert shared.edit(record.id, {"year": "1999"}, "alpha").description["year"] == "1999"
    assert shared.edit(record.id, {"year": "2000"}, "office").description["year"] == "2000"
    with pytest.raises(NotContributorError):
        shared.edit(record.id, {"year": "2001"}, "beta")
    with pytest.raises(DescriptionInvalidError, match="year"):
        shared.edit(record.id, {"year": "MMI"}, "alpha")
    with pytest.raises(SharedRecordNotFoundError):
        shared.edit(uuid4(), {"year": "2001"}, "office")


def test_merges_lead_links_to_the_survivor_and_freeze_the_merged(
    shared: SharedCatalog
) -> None:
    survivor, duplicate, third = (_contribute(shared, w, t) for w, t in
                                  (("alpha", "A"), ("beta", "A."), ("gamma", "A!")))
    with pytest.raises(NotContributorError):
        shared.merge(survivor.id, duplicate.id, "alpha")
    with pytest.raises(MergeInvalidError):
        shared.merge(survivor.id, survivor.id, "office")
    shared.merge(survivor.id, duplicate.id, "office")
    assert shared.resolve(duplicate.id).id == survivor.id
    with pytest.raises(SharedRecordMergedError):
        shared.edit(duplicate.id, {"year": "1999"}, "beta")
    with pytest.raises(SharedRecordMergedError):
        shared.merge(duplicate.id, third.id, "office")  # the merged one cannot survive
    shared.merge(third.id, survivor.id, "office")  # chains resolve to the last survivor
    assert shared.resolve(duplicate.id).id == third.id
