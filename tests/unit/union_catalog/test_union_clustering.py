"""Entries: the same records give the same entries in any order, live or rebuilt; bridges,
edits, removals and the office's overrides."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from labelled_set import Labelled, labelled_set
from marc_build import c, describe_fields, f, fixed
from union_scoring import clustered, every_pair, hard_pair, pair_figures

from projections.union_catalog.clustering import Clusterer, Entry, entry_id_of

VIDEO = "00000ngm a2200000 i 4500"
SET = labelled_set()
# A slice with every hard group and enough real records and copies to bridge and veto.
SAMPLE = [r for r in SET if r.category or r.key.startswith(("pymarc/test.dat", "goldrush"))]


def _entries(clusterer: Clusterer) -> set[tuple[str, tuple[str, ...]]]:
    return {(e.id, e.members) for e in clusterer.entries.values()}


def _feed(records: list[Labelled]) -> Clusterer:
    clusterer = Clusterer()
    for record in records:
        clusterer.upsert(record.key, record.description)
    return clusterer


BATCH = _entries(_feed(sorted(SAMPLE, key=lambda r: r.key)))


@settings(max_examples=25, deadline=None)
@given(st.permutations(SAMPLE))
def test_entries_do_not_depend_on_arrival_order(order: list[Labelled]) -> None:
    assert _entries(_feed(order)) == BATCH


@settings(max_examples=15, deadline=None)
@given(st.permutations(SAMPLE), st.data())
def test_live_changes_end_where_a_rebuild_starts(order: list[Labelled],
                                                 data: st.DataObject) -> None:
    """Records edited into something else and back, or removed and re-added, on the way."""
    clusterer = Clusterer()
    blank = describe_fields([f("245", "10", "a", "Placeholder")])
    for record in order:
        clusterer.upsert(record.key, blank if data.draw(st.booleans()) else record.description)
    for record in data.draw(st.permutations(order)):
        if data.draw(st.booleans()):
            clusterer.remove(record.key)
        clusterer.upsert(record.key, record.description)
    assert _entries(clusterer) == BATCH
    assert set(clusterer.entry_of.values()) == set(clusterer.entries)


def test_every_entry_says_why_each_record_joined() -> None:
    clusterer = _feed(SAMPLE)
    for entry in clusterer.entries.values():
        assert entry.id == entry_id_of(entry.members[0])
        assert len(entry.joins) == len(entry.members) - 1
        assert {j.record for j in entry.joins} | {j.matched for j in entry.joins} >= set(
            entry.members[1:]) or len(entry.members) == 1
        assert all(join.reasons for join in entry.joins)


def test_labelled_set_reaches_the_targets_and_beats_the_key_matcher() -> None:
    groups = clustered(SET)
    overall, hard = pair_figures(SET, groups, every_pair), pair_figures(SET, groups, hard_pair())
    assert overall.precision >= 0.95
    assert overall.recall >= 0.93
    assert hard.precision >= 0.90
    assert hard.recall >= 0.80


def _film(medium: str | None, key_note: str) -> dict[str, Any]:
    codes = {"dvd": "vd cvaizq", "bluray": "vd csaizq"}
    return describe_fields([
        fixed("2012", at=29), *([c("007", codes[medium])] if medium else []),
        f("245", "10", "a", "Casablanca"),
        f("264", " 1", "a", "Burbank :", "b", "Warner Home Video,", "c", "2012."),
        f("300", "  ", "a", "1 videodisc (102 min.)"), f("538", "  ", "a", key_note)], VIDEO)


def test_a_sparse_record_matching_two_carriers_joins_one_and_never_bridges_them() -> None:
    clusterer = Clusterer()
    clusterer.upsert("a:dvd", _film("dvd", "DVD"))
    clusterer.upsert("b:bluray", _film("bluray", "Blu-ray"))
    changes = clusterer.upsert("c:disc", _film(None, "Region 1"))  # a videodisc, no more
    assert clusterer.entry_of["a:dvd"] != clusterer.entry_of["b:bluray"]
    assert clusterer.entry_of["c:disc"] in (clusterer.entry_of["a:dvd"],
                                            clusterer.entry_of["b:bluray"])
    assert set(changes.updated) == {clusterer.entry_of["c:disc"]}


def _book(title: str, year: str, isbn: str | None = None, *, lccn: str | None = None,
          publisher: str | None = "Angus & Robertson,") -> dict[str, Any]:
    return describe_fields([
        fixed(year), *([f("010", "  ", "a", lccn)] if lccn else []),
        *([f("020", "  ", "a", isbn)] if isbn else []), f("100", "1 ", "a", "Wall, Dorothy."),
        f("245", "10", "a", title),
        f("260", "  ", "a", "Sydney :", *(("b", publisher) if publisher else ()), "c", year)])


def test_a_record_bridging_two_entries_merges_them_under_the_smallest_key() -> None:
    clusterer = Clusterer()
    clusterer.upsert("t1:b", _book("Blinky Bill", "1937", "9780207123456"))
    clusterer.upsert("t2:a", _book("Blinky Bill", "1937", lccn="37012345",
                                   publisher="Halstead Press,"))
    assert clusterer.entry_of["t1:b"] != clusterer.entry_of["t2:a"]  # publishers differ
    changes = clusterer.upsert("t3:c", _book("Blinky Bill", "1937", "9780207123456",
                                             lccn="37012345", publisher=None))
    merged = clusterer.entry_of["t1:b"]
    assert merged == clusterer.entry_of["t2:a"] == clusterer.entry_of["t3:c"]
    assert merged == entry_id_of("t1:b")  # "t1:b" < "t2:a" < "t3:c"
    assert changes.removed == {entry_id_of("t2:a")}
    assert changes.updated[merged].members == ("t1:b", "t2:a", "t3:c")
    reasons = {r for join in changes.updated[merged].joins for r in join.reasons}
    assert {"isbn:9780207123456", "lccn:37012345"} <= reasons


def test_an_edit_moves_a_record_to_its_new_entry_and_splits_its_old_one() -> None:
    clusterer = Clusterer()
    clusterer.upsert("t1:a", _book("Blinky Bill", "1937", "9780207123456"))
    clusterer.upsert("t2:b", _book("Blinky Bill", "1937"))
    clusterer.upsert("t3:c", _book("Nutsy", "1937"))
    assert clusterer.entry_of["t1:a"] == clusterer.entry_of["t2:b"]
    changes = clusterer.upsert("t2:b", _book("Nutsy", "1937"))
    assert clusterer.entry_of["t2:b"] == clusterer.entry_of["t3:c"] == entry_id_of("t2:b")
    assert clusterer.entry_of["t1:a"] == entry_id_of("t1:a")
    assert clusterer.entries[entry_id_of("t1:a")].members == ("t1:a",)
    assert changes.removed == {entry_id_of("t3:c")}
    clusterer.remove("t2:b")
    assert clusterer.entries[clusterer.entry_of["t3:c"]] == Entry(
        entry_id_of("t3:c"), ("t3:c",), ())
    assert "t2:b" not in clusterer.entry_of


def test_office_merge_and_split_apply_on_top_and_survive_a_rebuild() -> None:
    records = {"t1:a": _book("Blinky Bill", "1937"), "t2:b": _book("Blinky Bill", "1938"),
               "t3:c": _book("Blinky Bill", "1937"), "t4:d": _book("Blinky Bill", "1937")}

    def build(order: list[str]) -> Clusterer:
        clusterer = Clusterer()
        for key in order:
            clusterer.upsert(key, records[key])
        clusterer.merge(["t1:a", "t2:b"])  # the office: 1938 is a misprint of 1937
        clusterer.split(["t4:d"], ["t1:a", "t2:b", "t3:c"])  # and t4:d is another copy
        return clusterer

    live = build(["t1:a", "t2:b", "t3:c", "t4:d"])
    assert live.entry_of["t1:a"] == live.entry_of["t2:b"] == live.entry_of["t3:c"]
    assert live.entry_of["t4:d"] != live.entry_of["t1:a"]
    rebuilt = build(["t4:d", "t3:c", "t2:b", "t1:a"])
    assert _entries(rebuilt) == _entries(live)
    live.merge(["t4:d", "t1:a"])  # a later decision about the same pair replaces the earlier
    assert live.entry_of["t4:d"] == live.entry_of["t1:a"]


def test_a_record_without_year_or_author_finds_its_edition_in_either_order() -> None:
    full = describe_fields([fixed("1985", lang="fin"), f("245", "10", "a", "Kalevala"),
                            f("260", "  ", "a", "Helsinki :", "b", "SKS,", "c", "1985."),
                            f("300", "  ", "a", "400 s.")])
    sparse = describe_fields([f("245", "10", "a", "Kalevala"),
                              f("260", "  ", "a", "Helsinki :", "b", "SKS"),
                              f("300", "  ", "a", "400 sivua")])
    for order in (("a:full", "b:sparse"), ("b:sparse", "a:full")):
        clusterer = Clusterer()
        for key in order:
            clusterer.upsert(key, full if key == "a:full" else sparse)
        assert clusterer.entry_of["a:full"] == clusterer.entry_of["b:sparse"]


def test_records_restored_with_their_stored_matches_give_the_same_entries() -> None:
    """What the read model does: profiles and accepted matches as stored, no comparing."""
    live = _feed(SAMPLE)
    edges = [(a, b, match) for a, found in live._edges.items() for b, match in found.items()
             if a < b]
    restored = Clusterer()
    restored.restore(live.profiles.values(), edges)
    entries = {e for part in restored.components(live.profiles)
               for e in restored.partition(part)}
    assert {(e.id, e.members) for e in entries} == BATCH
