"""Circulation's per-item aggregate was renamed (Lending → ItemLending, in a module of its
own) when interlibrary lending came: events stored under the old topic still load."""

from __future__ import annotations

from dataclasses import replace

from eventsourcing.utils import resolve_topic

from domain.circulation.application import Circulation
from domain.circulation.item_lending import OLD_TOPIC, ItemLending
from tests.unit.circulation.conftest import CardMaker, CopyMaker


def test_old_topics_resolve_to_the_renamed_aggregate_and_its_events() -> None:
    assert resolve_topic(OLD_TOPIC) is ItemLending
    assert resolve_topic(f"{OLD_TOPIC}.CheckedOut") is ItemLending.CheckedOut


def test_a_lending_stored_under_the_old_topics_loads_and_lends_on(
    desk: Circulation, copy_of: CopyMaker, new_card: CardMaker
) -> None:
    copy = copy_of()
    desk.check_out(copy, new_card())
    lending_id = ItemLending.create_id(copy.item_id)
    stored = desk.recorder.select_events(lending_id)
    new_topic = "domain.circulation.item_lending:ItemLending"
    assert all(s.topic.startswith(new_topic) for s in stored)

    # The same events as an older release stored them: old class path in the topics.
    old = Circulation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=desk.clock)
    old.recorder.insert_events([
        replace(s, topic=s.topic.replace(new_topic, OLD_TOPIC),
                state=s.state.replace(new_topic.encode(), OLD_TOPIC.encode()))
        for s in stored])
    assert all(s.topic.startswith(OLD_TOPIC) for s in old.recorder.select_events(lending_id))

    loaded = old.lending_of(copy.item_id)
    assert isinstance(loaded, ItemLending)
    assert loaded.status == "checked_out"
    assert old.check_in(copy.item_id).status == "available"
