"""Pairwise precision and recall of a clustering against a labelled set, and the simple
key matcher it is measured beside (ISBN, ISSN, or title + year: what match keys alone do).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labelled_set import Labelled

from domain.shared.description import isbn_forms
from projections.search_text import fold
from projections.union_catalog.clustering import Clusterer
from projections.union_catalog.matching import match_keys, profile, sparse_keys

HARD = ("carrier", "parts", "editions")


@dataclass(frozen=True)
class Figures:
    """Pair counts and the precision and recall they give."""

    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


def clustered(records: Iterable[Labelled]) -> dict[str, str]:
    """Each record's entry under the union catalog's clusterer."""
    clusterer = Clusterer()
    for record in records:
        clusterer.upsert(record.key, record.description)
    return dict(clusterer.entry_of)


def key_matched(records: Iterable[Labelled]) -> dict[str, str]:
    """Each record's group under a plain key matcher: any shared ISBN (either form) or
    ISSN, or the same folded title and year, joins two records."""
    records = list(records)
    parent = {r.key: r.key for r in records}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[str, str] = {}
    for r in records:
        d = r.description
        keys = {f"isbn:{form}" for isbn in d.get("isbns") or [] for form in isbn_forms(isbn)}
        keys |= {f"issn:{i}" for i in d.get("issns") or []}
        title = " ".join(fold(d.get("title") or "").replace(":", " ").split())
        keys.add(f"title:{title.strip(' /.:')}|{d.get('year')}")
        for key in keys:
            if key in owner:
                parent[root(r.key)] = root(owner[key])
            else:
                owner[key] = r.key
    return {r.key: root(r.key) for r in records}


def pair_figures(records: list[Labelled], groups: dict[str, str],
                 keep: Callable[[Labelled, Labelled], bool]) -> Figures:
    """Counts over every pair of records that `keep` selects."""
    tp = fp = fn = 0
    for a, b in itertools.combinations(records, 2):
        if not keep(a, b):
            continue
        same, together = a.truth == b.truth, groups[a.key] == groups[b.key]
        tp += same and together
        fp += together and not same
        fn += same and not together
    return Figures(tp, fp, fn)


def every_pair(a: Labelled, b: Labelled) -> bool:
    """All pairs of the set."""
    return True


def hard_pair(category: str | None = None) -> Callable[[Labelled, Labelled], bool]:
    """The hard questions (of one category, or of any): pairs with a record of a hard
    group on either side that are one edition, or that share a match key (those a key
    matcher would be asked about; a DVD against an unrelated book is no question)."""
    wanted = (category,) if category else HARD
    keys: dict[str, frozenset[str]] = {}

    def keys_of(r: Labelled) -> frozenset[str]:
        if r.key not in keys:
            p = profile(r.key, r.description)
            keys[r.key] = match_keys(p) | sparse_keys(p)[0]
        return keys[r.key]

    def keep(a: Labelled, b: Labelled) -> bool:
        if a.category not in wanted and b.category not in wanted:
            return False
        return a.truth == b.truth or bool(keys_of(a) & keys_of(b))

    return keep
