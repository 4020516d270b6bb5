"""The event store's append: one call of the schema's function, still committing
notification ids in order, so a reader tailing the log (as the relay does) misses nothing
while many desks write at once (FIELD-NOTES: without the table lock, it missed ~1 %)."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg import sql

from infra.database import Database
from infra.eventstore import SchemaDatastore, TenantEventsRecorder, create_events_table
from infra.idempotency import IdempotencyStore, Receipt

pytestmark = [pytest.mark.postgres]

WRITERS, APPENDS = 8, 150


def _event(originator: uuid.UUID, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version,
                       topic="tests:Appended", state=b"{}")


@pytest.fixture
def store(servers: tuple[str, str]) -> Iterator[tuple[Database, str, TenantEventsRecorder]]:
    database = Database(servers[0], pool_size=WRITERS + 2)
    schema = f"t_store_{secrets.token_hex(3)}"
    database.create_schema(schema)
    create_events_table(database, schema)
    yield database, schema, TenantEventsRecorder(SchemaDatastore(database, schema, 5))
    database.drop_schema(schema)
    database.close()


def test_a_tailing_reader_sees_every_append_of_concurrent_writers_once(
        store: tuple[Database, str, TenantEventsRecorder]) -> None:
    _, _, recorder = store
    done = threading.Event()
    seen: list[int] = []

    def write() -> None:
        for _ in range(APPENDS):
            recorder.insert_events([_event(uuid.uuid4()), _event(uuid.uuid4())])

    def tail() -> None:
        position = 0
        while True:
            finished = done.is_set()
            page = recorder.select_notifications(start=position, limit=500,
                                                 inclusive_of_start=False)
            seen.extend(n.id for n in page)
            position = page[-1].id if page else position
            if finished and not page:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    recorded = [n.id for n in recorder.select_notifications(start=1, limit=10_000)]
    assert len(recorded) == WRITERS * APPENDS * 2
    assert seen == recorded  # every one, once, in order


def test_an_append_with_a_receipt_is_all_or_nothing(
        store: tuple[Database, str, TenantEventsRecorder]) -> None:
    database, schema, recorder = store
    receipts = IdempotencyStore(database)
    first = receipts.receipt(schema, "key-1", "checkOut", {"loan": {"id": "L-1"}})
    ids = recorder.insert_events([_event(uuid.uuid4())], receipt=first)
    assert ids is not None
    assert len(ids) == 1
    assert receipts.answer(schema, "key-1", "checkOut") == {"loan": {"id": "L-1"}}

    again = Receipt("key-1", "checkOut", {"loan": {"id": "L-2"}})
    with pytest.raises(IntegrityError):
        recorder.insert_events([_event(uuid.uuid4())], receipt=again)
    taken = uuid.uuid4()
    recorder.insert_events([_event(taken)])
    with pytest.raises(IntegrityError):  # a version conflict drops the receipt too
        recorder.insert_events([_event(taken)], receipt=Receipt("key-2", "renew", {}))
    assert receipts.answer(schema, "key-2", "renew") is None
    assert receipts.answer(schema, "key-1", "checkOut") == {"loan": {"id": "L-1"}}
    assert recorder.max_notification_id() == 2 + ids[0] - 1  # nothing else recorded


def test_the_position_to_wait_for_is_the_commands_own_append(
        store: tuple[Database, str, TenantEventsRecorder]) -> None:
    _, _, recorder = store
    ids, position = recorder.position_after(
        lambda: recorder.insert_events([_event(uuid.uuid4()), _event(uuid.uuid4())]))
    assert ids is not None
    assert position == max(ids)
    recorder.insert_events([_event(uuid.uuid4())])  # another desk, later
    nothing, last = recorder.position_after(lambda: None)
    assert nothing is None
    assert last == recorder.max_notification_id() == position + 1


def test_a_store_made_before_the_append_function_gets_it_on_first_append(
        store: tuple[Database, str, TenantEventsRecorder]) -> None:
    database, schema, _ = store
    with database.connection() as conn:  # as an earlier version left the schema
        conn.execute(sql.SQL("DROP FUNCTION {}").format(sql.Identifier(schema, "cs_append")))
    recorder = TenantEventsRecorder(SchemaDatastore(database, schema, 5))
    ids = recorder.insert_events([_event(uuid.uuid4())])
    assert ids is not None
    assert len(ids) == 1
