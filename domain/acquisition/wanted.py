"""What a suggestion or an order asks for: a union catalog entry, or — when the consortium
holds no entry for it yet — a title and ISBN; and the price an order pays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.acquisition.errors import PriceInvalidError, WantedInvalidError
from domain.shared.description import fold, isbn_forms, isbn_is_valid, normalize_isbn

MAX_TITLE = 500
MAX_NOTE = 1000
MAX_ENTRY_ID = 200
# The most one copy may cost: beyond it a price is a typing slip (cents in the units), not
# a book a library buys; whole-set purchases are ordered as several copies of their parts.
MAX_PRICE = Decimal("100000")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _text(value: str | None, field: str, limit: int) -> str | None:
    cleaned = " ".join((value or "").split())
    if len(cleaned) > limit:
        raise WantedInvalidError(f"{field}: at most {limit} characters, not {len(cleaned)}")
    if any(not ch.isprintable() for ch in cleaned):
        raise WantedInvalidError(f"{field}: control characters are not allowed")
    return cleaned or None


def check_note(note: str | None, field: str = "note") -> str | None:
    """A free note (or a vendor, a reason): at most MAX_NOTE printable characters, or none;
    an error names `field`."""
    return _text(note, field, MAX_NOTE)


@dataclass(frozen=True)
class Wanted:
    """A title wanted: its union entry when the consortium has one; its title, ISBN (13
    digits) and authors as the library gave them or as the entry shows them."""

    entry_id: str | None
    title: str | None
    isbn: str | None
    authors: tuple[str, ...] = ()
    year: str | None = None

    @classmethod
    def of(cls, *, entry_id: str | None, title: str | None, isbn: str | None,
           authors: list[str] | tuple[str, ...] = (), year: str | None = None) -> Wanted:
        """Checked: an entry id, or a title or a valid ISBN (normalized to 13 digits)."""
        entry = _text(entry_id, "entry_id", MAX_ENTRY_ID)
        clean_title = _text(title, "title", MAX_TITLE)
        found = None
        if isbn is not None and isbn.strip():
            found = normalize_isbn(isbn)
            if found is None or not isbn_is_valid(found):
                raise WantedInvalidError(
                    f"isbn: {isbn!r} is not a valid ISBN-10 or ISBN-13 (check digit included)")
            found = next((form for form in isbn_forms(found) if len(form) == 13), found)
        if entry is None and clean_title is None and found is None:
            raise WantedInvalidError(
                "entry_id: give a union catalog entry, or a title or ISBN when the "
                "consortium holds no entry for it")
        names = tuple(n for n in (_text(a, "authors", MAX_TITLE) for a in authors) if n)
        return cls(entry, clean_title, found, names, _text(year, "year", 20))

    def as_fields(self) -> dict[str, Any]:
        """The fields an event records."""
        return {"entry_id": self.entry_id, "title": self.title, "isbn": self.isbn,
                "authors": list(self.authors), "year": self.year}

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Wanted:
        """Back from an event's fields (already checked when recorded)."""
        return cls(fields.get("entry_id"), fields.get("title"), fields.get("isbn"),
                   tuple(fields.get("authors") or ()), fields.get("year"))


@dataclass(frozen=True)
class Price:
    """What one copy costs: an amount with at most two decimals, in an ISO 4217 currency."""

    amount: str
    currency: str

    @classmethod
    def of(cls, amount: str, currency: str) -> Price:
        """Checked: more than nothing, at most MAX_PRICE, cents at most, a 3-letter code."""
        code = (currency or "").strip().upper()
        if not _CURRENCY.match(code):
            raise PriceInvalidError(f"price.currency: {currency!r} is not an ISO 4217 code "
                                    "such as 'EUR' or 'USD'")
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation:
            raise PriceInvalidError(f"price.amount: {amount!r} is not a number") from None
        if not value.is_finite() or value <= 0:
            raise PriceInvalidError(f"price.amount: {amount!r} must be more than zero")
        if value > MAX_PRICE:
            raise PriceInvalidError(
                f"price.amount: {amount!r} {code} a copy is beyond any book's price "
                f"(at most {MAX_PRICE}); check the amount")
        if value != value.quantize(Decimal("0.01")):
            raise PriceInvalidError(f"price.amount: {amount!r} has more than two decimals")
        return cls(str(value.quantize(Decimal("0.01"))), code)


def wanted_key(wanted: Wanted) -> str:
    """What demand for a title is counted under: its union entry, else its ISBN, else its
    folded title (so two members suggesting "Moby-Dick" and "moby dick" count together)."""
    if wanted.entry_id is not None:
        return f"entry:{wanted.entry_id}"
    if wanted.isbn is not None:
        return f"isbn:{wanted.isbn}"
    return "title:" + " ".join(re.sub(r"[^\w]+", " ", fold(wanted.title or "")).split())
