"""A record's description: the MARC 21 fields a librarian needs, as plain JSON-able values.

`describe` reads any object shaped like pymarc's fields (tag, indicators, subfields, data),
so the domain needs no MARC library. Alternate-script fields (880) are linked through $6 to
the field they render: a Chinese title in 880 counts as the record's title as much as 245.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from domain.shared.errors import DescriptionInvalidError
from domain.shared.text import text_problem

Description = dict[str, Any]

# The keys of a description, in display order; a revision carries only those that changed.
KEYS = (
    "control_number", "control_source", "lccn", "isbns", "cancelled_isbns", "issns",
    "system_numbers", "authors", "title", "subtitle", "part_number", "part_name",
    "responsibility", "alt_titles", "alt_authors", "edition", "place", "publisher", "year",
    "extent", "series", "subjects", "languages", "classification",
    # What a union catalog needs to tell editions, carriers and parts apart (leader/06-07,
    # 007, 008 form of item and dates, 33X, 245 $h $n $p, 490/830 $v, 773, 024, 028, 538).
    "record_type", "bib_level", "form_of_item", "fixed_dates", "physical_descriptions",
    "content_types", "media_types", "carrier_types", "gmd", "title_parts",
    "title_nonfiling", "series_numbering", "host", "standard_numbers", "publisher_numbers",
    "carrier_notes", "publication_years", "links", "isbn_qualifiers", "record_status",
)
_TRAILING = " /:;,.=+"
_YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})")
_ISBN_TOKEN = re.compile(r"[0-9Xx][0-9Xx -]{7,20}[0-9Xx]")
CLC_SOURCES = frozenset({"clc", "cclc"})  # 084 $2 of the Chinese Library Classification


class SubfieldLike(Protocol):
    """A subfield: a code and its value (pymarc's Subfield has this shape)."""

    @property
    def code(self) -> str: ...

    @property
    def value(self) -> str: ...


class FieldLike(Protocol):
    """A MARC field: control fields have `data`, data fields indicators and subfields."""

    tag: str

    @property
    def data(self) -> str | None: ...

    @property
    def indicators(self) -> Sequence[str] | None: ...

    @property
    def subfields(self) -> Sequence[SubfieldLike]: ...


def clean(value: str | None) -> str | None:
    """A value without ISBD punctuation at its end, or None when nothing is left."""
    if value is None:
        return None
    stripped = value.strip().rstrip(_TRAILING).strip()
    return stripped or None


def _values(field: FieldLike, codes: str) -> list[str]:
    return [s.value for s in field.subfields if s.code in codes and s.value.strip()]


def _joined(field: FieldLike, codes: str) -> str | None:
    return clean(" ".join(v.strip() for v in _values(field, codes)))


def _first(field: FieldLike, code: str) -> str | None:
    found = _values(field, code)
    return clean(found[0]) if found else None


def normalize_isbn(text: str) -> str | None:
    """The ISBN at the start of a 020 value ("0-596-00..." "(pbk.)" dropped), as printed:
    10 or 13 characters, or 9 for an SBN (the British numbers before ISBN), check digit
    right or not; None when there is none."""
    match = _ISBN_TOKEN.search(text)
    if match is None:
        return None
    digits = re.sub(r"[ -]", "", match.group(0)).upper()
    return digits if len(digits) in (9, 10, 13) and "X" not in digits[:-1] else None


def isbn_is_valid(isbn: str) -> bool:
    """True if the ISBN-10 or ISBN-13 (or the SBN, as the ISBN-10 it became) check digit
    is right."""
    if len(isbn) == 9:
        return isbn_is_valid("0" + isbn)
    if len(isbn) == 10:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(isbn))
        return total % 11 == 0
    if len(isbn) == 13 and isbn.isdigit():
        return sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(isbn)) % 10 == 0
    return False


def isbn_forms(isbn: str) -> list[str]:
    """The ISBN as printed, and, when its check digit is right, its other forms (10 ⇄ 13;
    an SBN's ISBN-10 and -13), to match any. A wrong check digit is matched only as
    printed: a form computed from it would be another book's ISBN."""
    forms = [isbn]
    if not isbn_is_valid(isbn):
        return forms
    if len(isbn) == 9:
        isbn = "0" + isbn
        forms.append(isbn)
    if len(isbn) == 10:
        core = "978" + isbn[:9]
        check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(core)) % 10) % 10
        forms.append(core + str(check))
    elif len(isbn) == 13 and isbn.startswith("978"):
        core = isbn[3:12]
        check = (11 - sum((10 - i) * int(c) for i, c in enumerate(core)) % 11) % 11
        forms.append(core + ("X" if check == 10 else str(check)))
    return forms


def _linked_tag(field: FieldLike) -> str | None:
    """The tag an 880 renders, from its $6 ("245-01/$1" → "245")."""
    link = _values(field, "6")
    return link[0][:3] if link else None


def _title_of(field: FieldLike) -> str | None:
    return _joined(field, "abnp")


def _add_unique(target: list[str], value: str | None) -> None:
    if value and value not in target:
        target.append(value)


def describe(fields: Iterable[FieldLike], leader: str | None = None) -> Description:
    """The description of a MARC 21 bibliographic record's fields (and leader, when given:
    its type of record and bibliographic level, and where 008 keeps the form of item)."""
    d: Description = dict.fromkeys(KEYS)
    for key in _LISTS:
        d[key] = []
    d["classification"] = {"lc": None, "dewey": None, "clc": None, "other": []}
    if leader is not None and len(leader) >= 8:
        d["record_status"] = leader[5].strip() or None  # d: deleted
        d["record_type"] = leader[6].strip() or None
        d["bib_level"] = leader[7].strip() or None
    for field in fields:
        handler = _HANDLERS.get(field.tag) or (_subject if field.tag.startswith("6") else None)
        if handler is not None:
            handler(d, field)
    return d


_LISTS = ("isbns", "cancelled_isbns", "issns", "system_numbers", "authors", "alt_titles",
          "alt_authors", "series", "subjects", "languages", "physical_descriptions",
          "content_types", "media_types", "carrier_types", "title_parts", "series_numbering",
          "standard_numbers", "publisher_numbers", "carrier_notes", "publication_years",
          "links", "isbn_qualifiers")
_NAME_TAGS = ("100", "110", "111", "700", "710", "711")


def _control(key: str) -> Callable[[Description, FieldLike], None]:
    def handle(d: Description, field: FieldLike) -> None:
        d[key] = (field.data or "").strip() or None

    return handle


# 008/29 holds the form of item for maps and visual materials; 008/23 for the others.
_FORM_AT_29 = frozenset("efgkor")


def _fixed_length(d: Description, field: FieldLike) -> None:
    data = field.data or ""
    code = data[35:38].strip()  # 008/35-37: language
    if len(code) == 3 and code.isalpha():
        _add_unique(d["languages"], code.lower())
    if len(data) >= 15:  # 008/06 type of date, 07-10 date 1, 11-14 date 2
        d["fixed_dates"] = {"type": data[6].strip() or None, "date1": data[7:11].strip() or None,
                            "date2": data[11:15].strip() or None}
    at = 29 if (d["record_type"] or "") in _FORM_AT_29 else 23
    if len(data) > at and data[at] not in " |":
        d["form_of_item"] = data[at]


def _physical(d: Description, field: FieldLike) -> None:  # 007
    if field.data and field.data.strip():
        d["physical_descriptions"].append(field.data)


def _rda_type(key: str) -> Callable[[Description, FieldLike], None]:
    """336/337/338: the code ($b) when given, otherwise the term ($a), lowercased."""

    def handle(d: Description, field: FieldLike) -> None:
        codes, terms = _values(field, "b"), _values(field, "a")
        for value in codes or terms:
            _add_unique(d[key], value.strip().lower())

    return handle


def _series_numbering(d: Description, field: FieldLike) -> None:
    name = _joined(field, "anp")
    for number in _values(field, "v"):
        entry = {"series": name, "number": clean(number)}
        if entry["number"] and entry not in d["series_numbering"]:
            d["series_numbering"].append(entry)


def _host(d: Description, field: FieldLike) -> None:  # 773
    d["host"] = d["host"] or {
        "title": _first(field, "t") or _first(field, "a"),
        "related_parts": _joined(field, "g"),
        "identifiers": [v.strip() for v in _values(field, "wxz")],
    }


def _standard_number(d: Description, field: FieldLike) -> None:  # 024
    schemes = {"0": "isrc", "1": "upc", "2": "ismn", "3": "ean", "4": "sici"}
    indicators = field.indicators
    scheme = (schemes.get(indicators[0]) if indicators else None) or _first(field, "2") or "other"
    for value in _values(field, "a"):
        entry = {"scheme": scheme.lower(), "number": value.strip()}
        if entry not in d["standard_numbers"]:
            d["standard_numbers"].append(entry)


def _publisher_number(d: Description, field: FieldLike) -> None:  # 028
    number = _first(field, "a")
    if number:
        _add_unique(d["publisher_numbers"], " ".join(filter(None, [number, _first(field, "b")])))


def _carrier_note(codes: str) -> Callable[[Description, FieldLike], None]:
    """300 $a $e, 340, 344, 346, 347 and 538: what the carrier is, in words."""

    def handle(d: Description, field: FieldLike) -> None:
        for value in _values(field, codes):
            _add_unique(d["carrier_notes"], value.strip())

    return handle


_extent_notes = _carrier_note("ae")


def _link(d: Description, field: FieldLike) -> None:  # 856
    indicators = field.indicators
    relationship = indicators[1] if indicators and len(indicators) > 1 else " "
    for url in _values(field, "u"):
        entry = {"url": url.strip(), "relationship": relationship.strip() or None}
        if entry not in d["links"]:
            d["links"].append(entry)


_QUALIFIER = re.compile(r"\(([^)]+)\)")


def _isbn(d: Description, field: FieldLike) -> None:
    qualifiers = [clean(q) for q in _values(field, "q")]
    for value in _values(field, "a"):
        isbn = normalize_isbn(value)
        _add_unique(d["isbns"], isbn)
        # "(pbk.)", "(EPUB)" in $a (AACR2) or $q (RDA): the binding or file format
        for qualifier in [*qualifiers, *(clean(q) for q in _QUALIFIER.findall(value))]:
            entry = {"isbn": isbn, "qualifier": qualifier}
            if isbn and qualifier and entry not in d["isbn_qualifiers"]:
                d["isbn_qualifiers"].append(entry)
    for value in _values(field, "z"):
        _add_unique(d["cancelled_isbns"], normalize_isbn(value))


def _languages(d: Description, field: FieldLike) -> None:
    for value in _values(field, "a"):
        codes = value.strip()
        for i in range(0, len(codes) - 2, 3):  # old records run the codes together
            _add_unique(d["languages"], codes[i:i + 3].lower())


def _name(d: Description, field: FieldLike) -> None:
    name = _joined(field, "abcdq" if field.tag[1:] == "00" else "abcdn")
    if name:
        d["authors"].append({"name": name, "role": "main" if field.tag[0] == "1" else "added",
                             "tag": field.tag})


def _title(d: Description, field: FieldLike) -> None:
    for key, code in (("title", "a"), ("subtitle", "b"), ("part_number", "n"),
                      ("part_name", "p"), ("responsibility", "c"), ("gmd", "h")):
        d[key] = _first(field, code)
    d["title_parts"] = [part for part in (clean(v) for v in _values(field, "np")) if part]
    indicators = field.indicators
    nonfiling = indicators[1] if indicators and len(indicators) > 1 else ""
    d["title_nonfiling"] = int(nonfiling) if nonfiling.isdigit() else None


def _single(key: str, codes: str) -> Callable[[Description, FieldLike], None]:
    def handle(d: Description, field: FieldLike) -> None:
        d[key] = _joined(field, codes) if len(codes) > 1 else _first(field, codes)

    return handle


def _listed(key: str, codes: str) -> Callable[[Description, FieldLike], None]:
    def handle(d: Description, field: FieldLike) -> None:
        for value in _values(field, codes):
            _add_unique(d[key], value.strip())

    return handle


def _series(d: Description, field: FieldLike) -> None:
    _add_unique(d["series"], _joined(field, "anpv" if field.tag == "490" else "anp"))
    _series_numbering(d, field)


def _extent(d: Description, field: FieldLike) -> None:  # 300
    d["extent"] = _joined(field, "abc")
    _extent_notes(d, field)


def _subject(d: Description, field: FieldLike) -> None:
    _add_unique(d["subjects"], clean(" -- ".join(v.strip() for v in _values(field, "abcdqtvxyz"))))


def _lc(d: Description, field: FieldLike) -> None:
    d["classification"]["lc"] = d["classification"]["lc"] or _joined(field, "ab")


def _dewey(d: Description, field: FieldLike) -> None:
    d["classification"]["dewey"] = d["classification"]["dewey"] or _first(field, "a")


def _other_classification(d: Description, field: FieldLike) -> None:
    number, source = _first(field, "a"), (_first(field, "2") or "").lower()
    if number and source in CLC_SOURCES:
        d["classification"]["clc"] = d["classification"]["clc"] or number
    elif number:
        d["classification"]["other"].append({"number": number, "source": source or None})


def _describe_publication(d: Description, field: FieldLike) -> None:  # 260, 264
    # 264 second indicator 1 is publication; 0 production, 2 distribution, 3 manufacture,
    # 4 copyright (whose year a reprint's record may share with the original's).
    if field.tag == "264" and field.indicators and field.indicators[1] == "4":
        for year in _YEAR.findall(" ".join(_values(field, "c"))):
            _add_unique(d["publication_years"], year)
    if field.tag == "264" and field.indicators and field.indicators[1] not in ("1", " "):
        return
    for year in _YEAR.findall(" ".join(_values(field, "c"))):
        _add_unique(d["publication_years"], year)
    d["place"] = d["place"] or _first(field, "a")
    d["publisher"] = d["publisher"] or _first(field, "b")
    if d["year"] is None:
        date = " ".join(_values(field, "c"))
        match = _YEAR.search(date)
        d["year"] = match.group(1) if match else None


def _alternate(d: Description, field: FieldLike) -> None:
    linked = _linked_tag(field)
    if linked == "245":
        _add_unique(d["alt_titles"], _title_of(field))
    elif linked in _NAME_TAGS:
        _add_unique(d["alt_authors"], _joined(field, "abcdq"))
    elif linked in ("490", "830"):
        _add_unique(d["series"], _joined(field, "anpv"))
    elif linked is not None and linked.startswith("6"):
        _add_unique(d["subjects"], clean(" -- ".join(v.strip() for v in _values(field, "avxyz"))))


_HANDLERS: dict[str, Callable[[Description, FieldLike], None]] = {
    "001": _control("control_number"), "003": _control("control_source"), "008": _fixed_length,
    "010": _single("lccn", "a"), "020": _isbn, "022": _listed("issns", "a"),
    "035": _listed("system_numbers", "a"), "041": _languages,
    **dict.fromkeys(_NAME_TAGS, _name),
    "245": _title, "250": _single("edition", "a"), "260": _describe_publication,
    "264": _describe_publication, "300": _extent, "490": _series,
    "830": _series, "050": _lc, "082": _dewey, "084": _other_classification,
    "880": _alternate, "007": _physical, "336": _rda_type("content_types"),
    "337": _rda_type("media_types"), "338": _rda_type("carrier_types"), "773": _host,
    "024": _standard_number, "028": _publisher_number, "340": _carrier_note("a"),
    "344": _carrier_note("a"), "346": _carrier_note("a"), "347": _carrier_note("ab"),
    "538": _carrier_note("a"), "856": _link,
}


def display_title(d: Description) -> str:
    """The title as a catalogue shows it: 245 $a : $b. $n, $p."""
    title = d.get("title") or ""
    if d.get("subtitle"):
        title += " : " + d["subtitle"]
    for part in ("part_number", "part_name"):
        if d.get(part):
            title += ". " + d[part]
    return title


def _first_isbn(d: Description) -> str | None:
    """The first ISBN-10 or -13 (SBNs, read only since, stay out: keys made before are kept)."""
    return next((i for i in d.get("isbns") or [] if len(i) in (10, 13)), None)


def identity_of(d: Description) -> str:
    """What a record is known by across re-imports: 001+003 when present, otherwise a
    key of what describes the work (title, first author, year, publisher, first ISBN)."""
    if d.get("control_number"):
        return f"001:{d.get('control_source') or ''}:{d['control_number']}"
    authors = d.get("authors") or []
    parts = [d.get("title"), d.get("subtitle"), authors[0]["name"] if authors else None,
             d.get("year"), d.get("publisher"), _first_isbn(d)]
    key = "\x1f".join(fold(p or "") for p in parts)
    return "content:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def fold(text: str) -> str:
    """Lowercase, without diacritics ("thư viện" → "thu vien"; đ → d), width-normalized."""
    if text.isascii():
        return text.lower()  # most of a catalog: nothing to decompose
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("đ", "d"))
    return _combining_marks().sub("", decomposed)


@functools.cache
def _combining_marks() -> re.Pattern[str]:
    """Every combining mark (Unicode's, not only the Latin ones), as one character class."""
    marks = "".join(chr(c) for c in range(0x300, 0x20000) if unicodedata.combining(chr(c)))
    return re.compile("[" + re.escape(marks) + "]")


def check_description(d: Description) -> Description:
    """A description entered by hand: a title is required; every key known; lists of text."""
    unknown = sorted(set(d) - set(KEYS))
    if unknown:
        raise DescriptionInvalidError(f"unknown fields {unknown}; known: {list(KEYS)}")
    title = d.get("title")
    if not isinstance(title, str) or not title.strip():
        raise DescriptionInvalidError("title: a record needs a title (245 $a), not blank")
    if len(title) > 2000:
        raise DescriptionInvalidError("title: at most 2000 characters")
    for key, value in d.items():
        _check_texts(key, value)
    if "isbns" in d:
        d = {**d, "isbns": [_checked_isbn(isbn) for isbn in d["isbns"] or []]}
    year = d.get("year")
    if year is not None and not (isinstance(year, str) and re.fullmatch(r"[0-9]{4}", year)):
        raise DescriptionInvalidError(f"year: {year!r} is not a four-digit year")
    return d


def _check_texts(where: str, value: object) -> None:
    """Every text of a field is one the service can keep (no NUL, no broken Unicode)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise DescriptionInvalidError(f"{where}: {problem}")
    elif isinstance(value, dict):
        for key, inner in value.items():
            _check_texts(f"{where}.{key}", inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_texts(f"{where}[{index}]", inner)


def _checked_isbn(isbn: str) -> str:
    normalized = normalize_isbn(isbn)
    if normalized is None or not isbn_is_valid(normalized):
        raise DescriptionInvalidError(f"isbns: {isbn!r} is not a valid ISBN-10 or ISBN-13")
    return normalized
