"""A union catalog search as the view hands it to its SQL: what to find, and the filters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Filters:
    """What a search is narrowed to (None: not narrowed)."""

    language: str | None = None
    format: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    holding_library: str | None = None
    available_now: bool | None = None


@dataclass(frozen=True)
class Query:
    """A search, as SQL sees it: terms of the search text (CJK pairs and short words
    looked up in `grams`), ISBN forms (an exact ISBN ranks first), filters."""

    long_terms: tuple[str, ...] = ()
    gram_terms: tuple[str, ...] = ()
    isbns: tuple[str, ...] = ()
    filters: Filters = Filters()
