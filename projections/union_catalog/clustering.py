"""Records into entries, incrementally, with the result a batch clustering would give.

The definition, for any set of records:
1. Accepted matches form a graph: an edge joins two records that share a match key and
   that `compare` accepts (a pure, symmetric function of the two records). Office merges
   add edges too.
2. Within each connected part of that graph, edges are taken in a fixed order (office
   merges first, then by falling score, ties by the records' keys) and join two groups
   unless a veto (`conflict`) or an office split stands between a record of one and a
   record of the other. The groups left are the entries.
3. An entry's id is derived from its smallest record key alone.

Everything above depends on the set of records and overrides only, not on the order
they came in; the incremental clusterer recomputes, on each change, only the connected
parts the change touches, so its entries always equal a batch clustering of the same
records: a rebuild equals the live view.

What moves: a new record that matches records of two entries bridges them into one
entry (the id of the one whose smallest key is smaller survives; the other id is
removed), unless a veto between their members stands, in which case the record joins
the side its best match is on. An edit that changes a record's identity drops its old
edges (its old entry is recomputed and may split, or lose the record) and finds new
ones (it joins, or bridges, the entries it now matches). Removing a record is the same
as an edit that leaves it nothing to match.

Overrides, from the consortium office, apply on top and survive rebuilds because they
are facts about records, not entries: `merge` records must-links between the records
merged, `split` cannot-links between the records moved out and those left. A later
decision about the same pair replaces an earlier one. A record the office has merged is
judged by the office's decisions alone: matching's vetoes no longer keep others from its
entry (merging a record whose year is a misprint does not push out the records that
match the rest of the entry); only the office's splits do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from projections.union_catalog.matching import (
    Match,
    Profile,
    compare,
    conflict,
    match_keys,
    profile,
    sparse_keys,
)

_ENTRY_NAMESPACE = uuid.UUID("8f6f5b8e-3c55-4a5f-9d36-2f4b8b1c9e21")
OFFICE_MERGE = "office merge"


def looks_of(p: Profile) -> frozenset[str]:
    """The keys under which a record looks for its candidates."""
    return match_keys(p) | sparse_keys(p)[1]


def filed_of(p: Profile) -> frozenset[str]:
    """The keys under which a record is filed (where others look for it)."""
    return match_keys(p) | sparse_keys(p)[0]


def matches(new: Profile, candidates: Iterable[Profile]) -> list[tuple[str, Match]]:
    """The decision on the new record against each candidate (each other record)."""
    return [(other.key, compare(new, other)) for other in candidates if other.key != new.key]


def entry_id_of(smallest_key: str) -> str:
    """An entry's id: derived from its smallest record key alone."""
    return str(uuid.uuid5(_ENTRY_NAMESPACE, smallest_key))


@dataclass(frozen=True)
class Join:
    """How a record came to be in its entry: the match that joined it, and why."""

    record: str
    matched: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One edition across the consortium: its records and why each is there."""

    id: str
    members: tuple[str, ...]  # record keys, sorted
    joins: tuple[Join, ...]


@dataclass
class Changes:
    """What one change did to the entries: entries now as given, ids that disappeared."""

    updated: dict[str, Entry] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


class Clusterer:
    """Entries over a changing set of records: add, revise, remove; office overrides."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self._keys: dict[str, frozenset[str]] = {}
        self._buckets: dict[str, set[str]] = {}
        self._edges: dict[str, dict[str, Match]] = {}
        self._must: dict[str, set[str]] = {}
        self._cannot: set[frozenset[str]] = set()
        self._conflicts: dict[str, dict[str, str | None]] = {}  # vetoes found so far
        self.entry_of: dict[str, str] = {}
        self.entries: dict[str, Entry] = {}

    def upsert(self, key: str, description: dict[str, Any]) -> Changes:
        """A record added or revised: its matches found again, the entries touched redone."""
        new = profile(key, description)
        if self.profiles.get(key) == new:
            return Changes()
        seeds = self._detach(key)
        self._add(new)
        return self._recluster(seeds | {key})

    def restore(self, profiles: Iterable[Profile],
                edges: Iterable[tuple[str, str, Match]]) -> None:
        """Records and their accepted matches as a read model stored them (found by
        `matches`), without comparing or reclustering: the entries of their parts then
        come from `components` and `partition`."""
        for found in profiles:
            self.profiles[found.key] = found
            self._edges.setdefault(found.key, {})
            self._conflicts.setdefault(found.key, {})
        for a, b, match in edges:
            self._edges.setdefault(a, {})[b] = match
            self._edges.setdefault(b, {})[a] = match

    def decide(self, a: str, b: str, must: bool) -> None:
        """The office's standing decision on a pair, without reclustering (see `restore`)."""
        pair = frozenset((a, b))
        if must:
            self._cannot.discard(pair)
            self._must.setdefault(a, set()).add(b)
            self._must.setdefault(b, set()).add(a)
        else:
            self._must.get(a, set()).discard(b)
            self._must.get(b, set()).discard(a)
            self._cannot.add(pair)

    def components(self, seeds: Iterable[str]) -> list[list[str]]:
        """The connected parts (accepted matches and office merges) holding these records."""
        seen: set[str] = set()
        return [self._component(seed, seen) for seed in sorted(seeds)
                if seed not in seen and seed in self.profiles]

    def _add(self, new: Profile) -> None:
        key = new.key
        self.profiles[key] = new
        keys = match_keys(new)
        filed, looks = sparse_keys(new)
        self._keys[key] = keys | filed
        for k in self._keys[key]:
            self._buckets.setdefault(k, set()).add(key)
        self._edges[key] = {}
        self._conflicts[key] = {}
        candidates = {o for k in keys | looks for o in self._buckets.get(k, ())} - {key}
        for other, found in matches(new, [self.profiles[o] for o in sorted(candidates)]):
            self._conflicts[key][other] = self._conflicts[other][key] = found.veto
            if found.accepted:
                self._edges[key][other] = found
                self._edges[other][key] = found

    def remove(self, key: str) -> Changes:
        """A record gone (deleted, or its tenant's holdings left the union view)."""
        if key not in self.profiles:
            return Changes()
        seeds = self._detach(key)
        seeds.discard(key)
        changes = self._recluster(seeds)
        old = self.entry_of.pop(key, None)
        if old is not None and old not in changes.updated and old in self.entries:
            del self.entries[old]
            changes.removed.add(old)
        return changes

    def merge(self, keys: Iterable[str]) -> Changes:
        """The office's merge: these records belong in one entry, whatever matching says."""
        chosen = sorted(set(keys))
        for i, a in enumerate(chosen):
            for b in chosen[i + 1:]:
                self.decide(a, b, must=True)
        return self._recluster(set(chosen) & set(self.profiles))

    def split(self, moved: Iterable[str], rest: Iterable[str]) -> Changes:
        """The office's split: the records moved never share an entry with the rest."""
        moved_set, rest_set = set(moved), set(rest) - set(moved)
        for a in moved_set:
            for b in rest_set:
                self.decide(a, b, must=False)
        return self._recluster((moved_set | rest_set) & set(self.profiles))

    def _detach(self, key: str) -> set[str]:
        """Drops a record's edges and keys; the records whose entries it may have held."""
        touched = {key}
        old_entry = self.entry_of.get(key)
        if old_entry in self.entries:
            touched |= set(self.entries[old_entry].members)
        for other in self._edges.pop(key, {}):
            touched.add(other)
            self._edges[other].pop(key, None)
        for other in self._conflicts.pop(key, {}):
            self._conflicts[other].pop(key, None)
        for k in self._keys.pop(key, frozenset()):
            bucket = self._buckets[k]
            bucket.discard(key)
            if not bucket:
                del self._buckets[k]
        self.profiles.pop(key, None)
        return touched

    def _component(self, start: str, seen: set[str]) -> list[str]:
        stack, found = [start], []
        seen.add(start)
        while stack:
            key = stack.pop()
            found.append(key)
            for other in (*self._edges.get(key, {}), *self._must.get(key, ())):
                if other not in seen and other in self.profiles:
                    seen.add(other)
                    stack.append(other)
        return found

    def _recluster(self, seeds: set[str]) -> Changes:
        changes = Changes()
        seen: set[str] = set()
        old_ids: set[str] = set()
        new_ids: set[str] = set()
        for seed in sorted(seeds):
            if seed in seen or seed not in self.profiles:
                continue
            for entry in self.partition(self._component(seed, seen)):
                for member in entry.members:
                    old = self.entry_of.get(member)
                    if old is not None:
                        old_ids.add(old)
                    self.entry_of[member] = entry.id
                new_ids.add(entry.id)
                if self.entries.get(entry.id) != entry:
                    changes.updated[entry.id] = entry
                self.entries[entry.id] = entry
        for old in old_ids - new_ids:
            self.entries.pop(old, None)
            changes.removed.add(old)
        return changes

    def partition(self, component: list[str]) -> list[Entry]:
        """The entries of one connected part: joins in a fixed order, vetoes respected."""
        group = {k: k for k in component}
        members = {k: [k] for k in component}
        joins: dict[str, list[Join]] = {k: [] for k in component}

        def root(k: str) -> str:
            while group[k] != k:
                group[k] = group[group[k]]
                k = group[k]
            return k

        for _, a, b, match in self._ordered_edges(component):
            ra, rb = root(a), root(b)
            if ra == rb:
                continue
            if match is not None and self._blocked(members[ra], members[rb]):
                continue
            keep, gone = sorted((ra, rb))
            group[gone] = keep
            members[keep] += members.pop(gone)
            joined = Join(b, a, match.score if match else float("inf"),
                          match.reasons if match else (OFFICE_MERGE,))
            joins[keep] += [*joins.pop(gone), joined]
        out = []
        for keep, found in members.items():
            ordered = tuple(sorted(found))
            out.append(Entry(entry_id_of(ordered[0]), ordered, tuple(joins[keep])))
        return out

    def _ordered_edges(self, component: list[str]) -> list[
            tuple[tuple[Any, ...], str, str, Match | None]]:
        inside = set(component)
        edges: list[tuple[tuple[Any, ...], str, str, Match | None]] = []
        for a in component:
            for b in self._must.get(a, ()):
                if a < b and b in inside:
                    edges.append(((0, 0.0, a, b), a, b, None))
            for b, match in self._edges.get(a, {}).items():
                if a < b and b in inside:
                    edges.append(((1, -match.score, a, b), a, b, match))
        edges.sort(key=lambda e: e[0])
        return edges

    def _blocked(self, xs: list[str], ys: list[str]) -> bool:
        """An office split between the groups, or a veto between two records the office has
        not merged (a record it merged is judged by its decisions alone)."""
        for x in xs:
            for y in ys:
                if frozenset((x, y)) in self._cannot:
                    return True
                if (not self._must.get(x) and not self._must.get(y)
                        and self._conflict(x, y) is not None):
                    return True
        return False

    def _conflict(self, x: str, y: str) -> str | None:
        """The veto between two records, remembered until either changes."""
        known = self._conflicts[x]
        if y not in known:
            known[y] = self._conflicts[y][x] = conflict(self.profiles[x], self.profiles[y])
        return known[y]
