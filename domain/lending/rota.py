"""Which member the request goes to first: the others holding an available, lendable copy,
those that supplied fewest loans in the last 30 days first (spreading the load); ties go to
the one the requester borrowed fewest from, then by slug (a stable order)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A member that could supply: its slug, its record of the title, and its load."""

    member: str
    record_id: str
    supplied_last_30_days: int
    lent_to_requester: int

    @property
    def entry(self) -> str:
        """The rota entry: `<member>:<record id>`."""
        return f"{self.member}:{self.record_id}"


def rota(requester: str, candidates: Iterable[Candidate]) -> list[str]:
    """The rota, best first (the requester itself never in it; one entry per member)."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.member != requester and candidate.member not in best:
            best[candidate.member] = candidate
    ranked = sorted(best.values(), key=lambda c: (c.supplied_last_30_days,
                                                  c.lent_to_requester, c.member))
    return [c.entry for c in ranked]
