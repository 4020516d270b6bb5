"""Building MARC records in memory for matching tests: fields, ISO 2709 bytes (UTF-8 or
MARC-8), and descriptions read back through the real reader and `describe`."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pymarc

from domain.shared.description import describe
from infra.marc import MarcField, Subfield, decode_iso2709, read_marc

SHARED = Path(__file__).parents[2] / "data" / "marc" / "shared"
BOOK = "00000nam a2200000 a 4500"


def c(tag: str, data: str) -> MarcField:
    """A control field."""
    return MarcField(tag, data=data)


def f(tag: str, ind: str, *pairs: str) -> MarcField:
    """A data field: indicators, then code, value, code, value..."""
    subfields = [Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return MarcField(tag, text=ind.ljust(2)[:2], subfields=subfields)


def fixed(date1: str, *, date_type: str = "s", form: str = " ", lang: str = "eng",
          at: int = 23, date2: str = "    ") -> MarcField:
    """A 008 with its dates, language and form of item (at 23, or 29 for visual/maps)."""
    data = list("000101" + date_type + date1.ljust(4)[:4] + date2.ljust(4)[:4]
                + "xxu" + " " * 17 + lang + " d")
    data[at] = form
    return c("008", "".join(data))


def describe_fields(fields: Sequence[Any], leader: str = BOOK) -> dict[str, Any]:
    """The description the import would make of these fields."""
    return describe(fields, leader)


_MARC8_MARKS = {"\u0309": b"\xe0", "\u0300": b"\xe1", "\u0301": b"\xe2",
                "\u0302": b"\xe3", "\u0303": b"\xe4", "\u0304": b"\xe5", "\u0306": b"\xe6",
                "\u0307": b"\xe7", "\u0308": b"\xe8", "\u030c": b"\xe9", "\u030a": b"\xea",
                "\u0327": b"\xf0", "\u0323": b"\xf2"}
_MARC8_LETTERS = {"ø": b"\xb2", "ł": b"\xb1", "đ": b"\xb3", "æ": b"\xb5", "ß": b"\xc7",
                  "Ø": b"\xa2", "Đ": b"\xa3", "Æ": b"\xa5", "ơ": b"\xac", "ư": b"\xad",
                  "Ơ": b"\xbc", "Ư": b"\xbd"}
_HORNED = {"o": "ơ", "u": "ư", "O": "Ơ", "U": "Ư"}


def marc8(text: str) -> bytes:
    """Latin text as MARC-8 (ANSEL): combining marks before the letter they sit on; the
    Vietnamese horned letters are letters of their own."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        if char in _MARC8_LETTERS or char.isascii():
            out += _MARC8_LETTERS.get(char) or char.encode("ascii")
            continue
        base, *marks = unicodedata.normalize("NFD", char)
        if "\u031b" in marks and base in _HORNED:
            base = _HORNED[base]
            marks.remove("\u031b")
        out += b"".join(_MARC8_MARKS[m] for m in marks)
        out += _MARC8_LETTERS.get(base) or base.encode("ascii")
    return out


def iso2709(fields: Sequence[MarcField], leader: str = BOOK, *, as_marc8: bool = False) -> bytes:
    """The record as ISO 2709 bytes, in UTF-8 (leader/09 a) or MARC-8 (leader/09 blank)."""
    encode = marc8 if as_marc8 else (lambda s: s.encode("utf-8"))
    directory, data = b"", b""
    for field in fields:
        if field.data is not None:
            body = encode(field.data)
        else:
            head = "".join(field.indicators or ("", "")).encode("ascii")
            body = head + b"".join(b"\x1f" + s.code.encode("ascii") + encode(s.value)
                                   for s in field.subfields)
        body += b"\x1e"
        directory += field.tag.encode("ascii") + f"{len(body):04d}{len(data):05d}".encode()
        data += body
    base = 24 + len(directory) + 1
    total = base + len(data) + 1
    head = f"{total:05d}{leader[5:9]}{' ' if as_marc8 else 'a'}22{base:05d}{leader[17:24]}"
    return head.encode("ascii") + directory + b"\x1e" + data + b"\x1d"


def read_back(raw: bytes) -> tuple[str, list[MarcField]]:
    """Leader and fields of ISO 2709 bytes, as the importer reads them."""
    return decode_iso2709(raw)


def real_records() -> list[tuple[str, str, list[Any]]]:
    """Public real records (pymarc's samples, FOLIO mod-reservoir's and its Gold Rush
    fixtures): (name, leader, fields)."""
    found: list[tuple[str, str, list[Any]]] = []
    for name in ("pymarc/marc.dat", "pymarc/test.dat", "pymarc/diacritic.dat",
                 "pymarc/marc8.dat", "pymarc/batch.xml", "pymarc/utf8.xml",
                 "mod-reservoir/record10.xml", "mod-reservoir/marc3.xml"):
        with (SHARED / name).open("rb") as stream:
            for read in read_marc(stream):
                if read.fields is not None and read.leader is not None:
                    found.append((f"{name}#{read.number}", read.leader, list(read.fields)))
    for path in sorted((SHARED / "mod-reservoir" / "goldrush-fixtures").glob("*.json")):
        if path.name.startswith("assertions"):
            continue
        record = next(iter(pymarc.JSONReader(json.dumps(json.loads(path.read_text())))))
        found.append((f"goldrush/{path.name}", str(record.leader), list(record.fields)))
    return found


def as_marc_fields(fields: Iterable[Any]) -> list[MarcField]:
    """pymarc fields as the importer's MarcField (same shape, rebuildable)."""
    out = []
    for field in fields:
        if field.data is not None:
            out.append(MarcField(field.tag, data=field.data))
        else:
            out.append(MarcField(field.tag, text="".join(field.indicators or ("", "")).ljust(2),
                                 subfields=[Subfield(s.code, s.value) for s in field.subfields]))
    return out
