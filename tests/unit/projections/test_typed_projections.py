"""Typed projections without I/O: events decode to their domain classes exactly as each
application stored them, handlers are found by class, and a record read model folds with
the Record aggregate's own rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from domain.catalog.application import Catalog
from domain.catalog.record import Record
from domain.circulation.application import Circulation as CirculationApp
from domain.circulation.item_lending import ItemLending
from domain.circulation.patron import Patron
from domain.circulation.policy import LoanPolicy
from domain.sharing.shared_record import SharedRecord
from projections.circulation.projection import Circulation
from projections.decoding import Decoder
from projections.framework import Delivery, Projection, Source, on
from projections.local_catalog.projection import restored, restored_shared
from tenants.applications import ConsortiumOffice
from tenants.directory.projection import TenantDirectory
from tenants.tenant import Tenant

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _round_trip(app: Application[UUID], aggregate: Aggregate) -> list[tuple[Any, Any]]:
    """Each event as the application stores it, decoded back by the projections' decoder."""
    decoder = Decoder()
    pairs = []
    for event in aggregate.collect_events():
        stored = app.mapper.to_stored_event(event)
        decoded = decoder.event(StoredEvent(str(stored.originator_id),
                                            stored.originator_version, stored.topic,
                                            stored.state))
        pairs.append((event, decoded))
    return pairs


def test_events_decode_to_their_classes_as_each_application_stored_them() -> None:
    record = Record(identity="x", description={"title": "Moby-Dick"}, original_format=None,
                    original=None, catalogued_at=AT)
    record.link(uuid4(), AT + timedelta(hours=1))
    patron = Patron(patron_id=uuid4(), sealed="s", patron_group="staff",
                    expires_on=date(2031, 1, 1), registered_at=AT)
    lending = ItemLending(item_id=uuid4(), item_barcode="B-1", record_id=uuid4())
    lending.check_out(uuid4(), "staff", "book", LoanPolicy(), AT)
    tenant = Tenant.register("riverside", "Riverside", None, AT)
    pairs = (_round_trip(Catalog(), record) + _round_trip(CirculationApp(), patron)
             + _round_trip(CirculationApp(), lending) + _round_trip(ConsortiumOffice(), tenant))
    assert len(pairs) == 6
    for original, decoded in pairs:
        assert type(decoded) is type(original)
        assert vars(decoded) == vars(original)
    assert isinstance(pairs[2][1], Patron.Registered)
    assert pairs[2][1].expires_on == date(2031, 1, 1)  # the domain's own transcoding


def test_handlers_are_found_by_event_class_and_get_the_typed_event() -> None:
    seen: list[tuple[str, Source]] = []

    class Checkouts(Projection):
        name = "checkouts"
        tables = ()

        def create_tables(self, cur: Any) -> None:
            """None: this one writes nowhere."""

        @on(ItemLending.CheckedOut)
        def _out(self, _: Any, event: ItemLending.CheckedOut, source: Source) -> None:
            seen.append((event.item_barcode, source))

    lending = ItemLending(item_id=uuid4(), item_barcode="B-7", record_id=uuid4())
    lending.check_out(uuid4(), "staff", "book", LoanPolicy(), AT)
    started, checked_out = lending.collect_events()
    projection = Checkouts()
    assert projection.events == (ItemLending.CheckedOut,)
    deliveries = [Delivery("riverside", 4, 0, started), Delivery("riverside", 9, 4, checked_out)]
    assert [projection.accepts(d) for d in deliveries] == [False, True]
    projection.apply_batch(None, deliveries)
    assert seen == [("B-7", Source("riverside", 9))]


def test_read_models_declare_the_domain_classes_they_handle() -> None:
    assert ItemLending.CheckedOut in Circulation.events
    assert ItemLending.Renewed in Circulation.events
    assert set(TenantDirectory.events) == {Tenant.Registered, Tenant.Suspended,
                                           Tenant.Reactivated, Tenant.Archived,
                                           Tenant.DetailsChanged}
    registered = Tenant.register("riverside", "Riverside", None, AT).collect_events()[0]
    assert TenantDirectory().accepts(Delivery("office", 1, 0, registered))
    assert not TenantDirectory().accepts(Delivery("riverside", 1, 0, registered))


def test_a_record_restored_from_its_row_folds_like_the_aggregate() -> None:
    record = Record(identity="x", description={"title": "Moby-Dick", "year": "1851"},
                    original_format=None, original=None, catalogued_at=AT)
    record.collect_events()
    record.revise({"year": "1852"}, None, None, AT + timedelta(days=1))
    shared = uuid4()
    record.link(shared, AT + timedelta(days=2))
    later = record.collect_events()
    row = {"description": {"title": "Moby-Dick", "year": "1851"}, "original_format": None,
           "catalogued_at": AT, "revised_at": AT, "shared_record_id": None, "version": 1}
    folded = restored(record.id, row)
    for event in later:
        folded = event.mutate(folded)
    assert folded.description == record.description == {"title": "Moby-Dick", "year": "1852"}
    assert folded.shared_record_id == shared
    assert (folded.revised_at, folded.version) == (record.revised_at, record.version)


def test_a_shared_record_restored_from_its_row_folds_like_the_aggregate() -> None:
    shared = SharedRecord(contributor="riverside", source_record_id=uuid4(),
                          description={"title": "Moby-Dick"}, original_format=None,
                          original=None, contributed_at=AT)
    survivor = SharedRecord(contributor="harbour", source_record_id=uuid4(),
                            description={"title": "Moby Dick"}, original_format=None,
                            original=None, contributed_at=AT)
    shared.collect_events()
    shared.edit({"year": "1851"}, "riverside", AT + timedelta(days=1))
    shared.merge_into(survivor, AT + timedelta(days=2))
    row = {"contributor": "riverside", "description": {"title": "Moby-Dick"},
           "original_format": None, "contributed_at": AT, "edited_at": AT,
           "merged_into": None}
    folded = restored_shared(shared.id, row, 1)
    for event in shared.collect_events():
        folded = event.mutate(folded)
    assert folded.description == shared.description == {"title": "Moby-Dick", "year": "1851"}
    assert (folded.merged_into, folded.edited_at, folded.version) == (
        survivor.id, shared.edited_at, shared.version)
