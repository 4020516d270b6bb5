"""A labelled set for the union catalog's matcher: which records are one edition.

Two parts. (1) Public real records (pymarc's samples, FOLIO mod-reservoir's records and
its Gold Rush fixtures, among them the same Blinky Bill title as a Project Gutenberg
e-book and as the National Library of Australia's 1937 print record), each with the
copies other libraries would plausibly hold of it: re-keyed, ISBN-10 as ISBN-13, 264 for
260, title case and punctuation changed, subtitle dropped, identifiers missing, read from
MARC-8. (2) Hard groups built by hand the way real records look: one work on several
carriers (print, e-book, large print, audiobook on CD; DVD, Blu-ray, VHS; CD, LP,
cassette), volumes of a set sharing the set's ISBN and a component beside its host,
editions and reprints (another edition statement, another year, the old ISBN in $z), a
serial beside a monograph, and non-Roman titles with and without 880.

Each record has a truth label (records with the same label are one edition) and, for
hard groups, a category: carrier, parts or editions.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any

from marc_build import BOOK, as_marc_fields, c, describe_fields, f, fixed, iso2709, read_back
from marc_build import real_records as load_real_records

from domain.shared.description import isbn_forms
from infra.marc import MarcField, Subfield
from projections.union_catalog.carrier import Carrier, carrier_of

_SPEC2 = "goldrush/spec-example-2.json"  # the same On tyranny print edition as these
VIDEO = "00000cgm a2200000 i 4500"
MUSIC = "00000cjm a2200000 i 4500"
SPOKEN = "00000cim a2200000 i 4500"
SERIAL = "00000cas a2200000 a 4500"


@dataclass(frozen=True)
class Labelled:
    """One record of the set: its key, description, truth label and hard-case category."""

    key: str
    description: dict[str, Any]
    truth: str
    category: str | None = None


def isbn13(stem: str) -> str:
    """A valid ISBN-13 from its first twelve digits."""
    total = sum((3 if i % 2 else 1) * int(ch) for i, ch in enumerate(stem))
    return stem + str((10 - total % 10) % 10)


def isbn10(isbn: str) -> str:
    """The ISBN-10 form of a 978 ISBN-13."""
    return next(form for form in isbn_forms(isbn) if len(form) == 10)


# --- (1) real records and their copies --------------------------------------------------

def _get(fields: list[MarcField], tag: str) -> list[MarcField]:
    return [x for x in fields if x.tag == tag]


def _replace(fields: list[MarcField], tag: str, new: list[MarcField]) -> list[MarcField]:
    out, done = [], False
    for x in fields:
        if x.tag == tag:
            if not done:
                out += new
                done = True
            continue
        out.append(x)
    return out if done else out + new


def _with_subfields(field: MarcField, change: Any) -> MarcField:
    subfields = [Subfield(s.code, change(s.code, s.value)) for s in field.subfields]
    return MarcField(field.tag, text="".join(field.indicators or ("", "")),
                     subfields=subfields)


def _isbn_other_form(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        if code != "a":
            return value
        digits = "".join(ch for ch in value.split(" ", maxsplit=1)[0] if ch.isalnum())
        forms = [x for x in isbn_forms(digits) if x != digits]
        if not forms:
            return value
        other = forms[0]
        qualifier = value[value.index("("):] if "(" in value else ""
        hyphenated = f"{other[:3]}-{other[3:4]}-{other[4:9]}-{other[9:]}" if len(
            other) == 13 else other
        return f"{hyphenated} {qualifier}".strip()

    return [_with_subfields(x, change) if x.tag == "020" else x for x in fields]


def _to_264(fields: list[MarcField]) -> list[MarcField]:
    out = []
    for x in fields:
        if x.tag == "260":
            out.append(MarcField("264", text=" 1", subfields=[
                Subfield(s.code, s.value.replace("c", "", 1) if s.code == "c" else s.value)
                for s in x.subfields if s.code in "abc"]))
        else:
            out.append(x)
    return out


def _title_restyled(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        if code not in "ab":
            return value
        return value.upper().replace(" :", ":").replace(" /", "").rstrip(" /:")

    return [_with_subfields(x, change) if x.tag == "245" else x for x in fields]


def _subtitle_dropped(fields: list[MarcField]) -> list[MarcField]:
    out = []
    for x in fields:
        if x.tag == "245":
            out.append(MarcField("245", text="".join(x.indicators or ("", "")), subfields=[
                s for s in x.subfields if s.code != "b"]))
        else:
            out.append(x)
    return out


def _identifiers_dropped(fields: list[MarcField]) -> list[MarcField]:
    return [x for x in fields if x.tag not in ("010", "020", "022", "024", "028", "035")]


def _rekeyed(fields: list[MarcField], library: str) -> list[MarcField]:
    out = [x for x in fields if x.tag not in ("001", "003", "005")]
    number = int(hashlib.sha256(library.encode()).hexdigest()[:6], 16)
    return [c("001", f"{library}{number}"), c("003", library.upper()), *out]


def _extent_restyled(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        return value.replace(" p.", " pages").replace(" ;", "") if code == "a" else value

    return [_with_subfields(x, change) if x.tag == "300" else x for x in fields]


def _through_marc8(leader: str, fields: list[MarcField]) -> tuple[str, list[MarcField]]:
    try:
        return read_back(iso2709(fields, leader, as_marc8=True))
    except (UnicodeEncodeError, ValueError):
        return leader, fields  # not Latin: MARC-8 would need escapes this builder lacks


def _fixed_dropped(fields: list[MarcField]) -> list[MarcField]:
    return [x for x in fields if x.tag != "008"]  # brief records often have none


def _author_restyled(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        return value.rstrip(" ,.") if code == "a" else value

    return [MarcField(x.tag, text="".join(x.indicators or ("", "")), subfields=[
        Subfield(s.code, change(s.code, s.value)) for s in x.subfields if s.code != "d"])
        if x.tag in ("100", "700") else x for x in fields]


def _publisher_restyled(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        return value.rstrip(" ,:;") + " Inc.," if code == "b" else value

    return [_with_subfields(x, change) if x.tag in ("260", "264") else x for x in fields]


def _pages_miscounted(fields: list[MarcField]) -> list[MarcField]:
    def change(code: str, value: str) -> str:
        return re.sub(r"(\d+)( ?p)", lambda m: f"{int(m.group(1)) + 1}{m.group(2)}", value,
                      count=1) if code == "a" else value

    return [_with_subfields(x, change) if x.tag == "300" else x for x in fields]


def _subtitle_into_a(fields: list[MarcField]) -> list[MarcField]:
    out = []
    for x in fields:
        if x.tag == "245" and any(s.code == "b" for s in x.subfields):
            a = next((s.value for s in x.subfields if s.code == "a"), "")
            b = next(s.value for s in x.subfields if s.code == "b")
            rest = [s for s in x.subfields if s.code not in "ab"]
            out.append(MarcField("245", text="".join(x.indicators or ("", "")),
                                 subfields=[Subfield("a", f"{a.rstrip(' :')} : {b}"), *rest]))
        else:
            out.append(x)
    return out


_CHANGES = (_isbn_other_form, _to_264, _title_restyled, _subtitle_dropped,
            _extent_restyled, _identifiers_dropped, _fixed_dropped, _author_restyled,
            _publisher_restyled, _pages_miscounted, _subtitle_into_a)


def _copies(name: str, leader: str, fields: list[MarcField]) -> list[tuple[str, list[
        MarcField]]]:
    """Two other libraries' records of the same edition, changed the ways copies differ."""
    rng = random.Random(name)  # noqa: S311 (seeded: the same copies on every run)
    out = []
    for library in ("lib2", "lib3"):
        changed = _rekeyed(fields, library)
        for change in rng.sample(_CHANGES, 5):
            changed = change(changed)
        lead = leader
        if rng.random() < 0.5:
            lead, changed = _through_marc8(leader, changed)
        out.append((lead, changed))
    return out


def _isbns_moved_to_z(fields: list[MarcField], new_isbn: str) -> list[MarcField]:
    """A new ISBN in $a, the old ones kept in $z (as the other version's)."""
    out = [f("020", "  ", "a", new_isbn)]
    for x in fields:
        if x.tag == "020":
            out.append(MarcField("020", text="  ", subfields=[
                Subfield("z", s.value) for s in x.subfields if s.code == "a"]))
        else:
            out.append(x)
    return out


def _ebook_twin(fields: list[MarcField], number: int) -> list[MarcField]:
    """The e-book of a printed book: 008/23 o, 007 cr, 337 c, 338 cr, an online extent."""
    out = []
    for x in _isbns_moved_to_z(fields, isbn13(f"97899{number:07d}")):
        if x.tag == "008" and x.data:
            out.append(c("008", x.data[:23].ljust(23) + "o" + x.data[24:]))
        elif x.tag == "300":
            pages = re.search(r"(\d+) ?p", " ".join(s.value for s in x.subfields))
            out.append(f("300", "  ", "a", "1 online resource" + (
                f" ({pages.group(1)} pages)" if pages else "")))
        elif x.tag != "007":
            out.append(x)
    return [*out, c("007", "cr |n|||||||||"), f("337", "  ", "b", "c"),
            f("338", "  ", "b", "cr")]


def _edition_twin(fields: list[MarcField], number: int) -> list[MarcField] | None:
    """The next edition, five years on: a 250, a new ISBN (the old in $z), more pages."""
    years = [y for x in fields if x.tag in ("260", "264") for s in x.subfields
             if s.code == "c" for y in re.findall(r"1[0-9]{3}|20[0-9]{2}", s.value)]
    if not years:
        return None
    year, later = years[0], str(int(years[0]) + 5)

    def change(code: str, value: str) -> str:
        if code == "c":
            return value.replace(year, later)
        if code == "a":
            return re.sub(r"(\d+)( ?p)", lambda m: f"{int(m.group(1)) * 23 // 20}{m.group(2)}",
                          value, count=1)
        return value

    out = [_with_subfields(x, change) if x.tag in ("260", "264", "300") else x
           for x in _isbns_moved_to_z(fields, isbn13(f"97898{number:07d}"))
           if x.tag not in ("250", "001", "035", "010")]
    out = [c("008", x.data.replace(year, later, 1)) if x.tag == "008" and x.data else x
           for x in out]
    return [*out, f("250", "  ", "a", "2nd ed.")]


def _twins() -> list[Labelled]:
    """Every real printed book's e-book and next edition: what keys alone join wrongly."""
    out = []
    for number, (name, leader, fields) in enumerate(load_real_records()):
        base = as_marc_fields(fields)
        printed = carrier_of(describe_fields(base, leader)) == Carrier("text", "print", "a", (
            frozenset(), frozenset(), frozenset()))
        if not printed or name == _SPEC2:  # On tyranny's e-book is built by hand below
            continue
        ebook = _ebook_twin(base, number)
        out.append(Labelled(f"{name}#ebook", describe_fields(ebook, leader), f"{name}#ebook",
                            "carrier"))
        edition = _edition_twin(base, number)
        if edition is not None:
            out.append(Labelled(f"{name}#ed2", describe_fields(edition, leader),
                                f"{name}#ed2", "editions"))
    return out


def _real_part() -> list[Labelled]:
    out = []
    for name, leader, fields in load_real_records():
        base = as_marc_fields(fields)
        # mod-reservoir keeps the same Stanford record twice (record10.xml #1, one.json).
        truth = "a1" if name in ("mod-reservoir/record10.xml#1", "goldrush/one.json") else name
        out.append(Labelled(name, describe_fields(base, leader), truth))
        for i, (lead, copy) in enumerate(_copies(name, leader, base)):
            out.append(Labelled(f"{name}~{i}", describe_fields(copy, lead), truth))
    return out


# --- (2) hard groups ---------------------------------------------------------------------

def _book(title: str, *, sub: str | None = None, author: str | None = None, year: str,
          publisher: str, place: str = "New York", isbns: tuple[str, ...] = (),
          z: tuple[str, ...] = (), pages: str | None = None, edition: str | None = None,
          form: str = " ", extra: tuple[MarcField, ...] = (), leader: str = BOOK,
          rda: bool = True, lang: str = "eng", nonfiling: str = "0",
          parts: tuple[str, ...] = ()) -> dict[str, Any]:
    fields = [fixed(year, form=form, lang=lang)]
    fields += [f("020", "  ", "a", i) for i in isbns] + [f("020", "  ", "z", i) for i in z]
    if author:
        fields.append(f("100", "1 ", "a", author))
    title_pairs = ["a", title + (" :" if sub else "")]
    if sub:
        title_pairs += ["b", sub]
    for part in parts:
        title_pairs += ["n" if part[:1].isdigit() or part.lower().startswith(("v", "p"))
                        else "p", part]
    fields.append(f("245", "1" + nonfiling, *title_pairs))
    if edition:
        fields.append(f("250", "  ", "a", edition))
    tag, ind = ("264", " 1") if rda else ("260", "  ")
    fields.append(f(tag, ind, "a", place + " :", "b", publisher + ",", "c", year + "."))
    if pages:
        fields.append(f("300", "  ", "a", pages))
    fields += list(extra)
    return describe_fields(fields, leader)


def _rda(content: str, media: str, carrier: str) -> tuple[MarcField, ...]:
    return (f("336", "  ", "b", content, "2", "rdacontent"),
            f("337", "  ", "b", media, "2", "rdamedia"),
            f("338", "  ", "b", carrier, "2", "rdacarrier"))


def _carrier_groups() -> list[Labelled]:
    print_isbn, ebook_isbn = "9780804190114", isbn13("978080419012")
    audio_isbn, large_isbn = isbn13("978152478113"), isbn13("978143284521")
    tyranny = {"title": "On tyranny", "sub": "twenty lessons from the twentieth century",
               "author": "Snyder, Timothy,", "year": "2017", "publisher": "Tim Duggan Books"}
    out = [
        Labelled("tyranny-print-lib4", _book(**tyranny, isbns=(print_isbn,), pages="126 pages ;",
                                             extra=_rda("txt", "n", "nc")), _SPEC2, "carrier"),
        Labelled("tyranny-print-lib5", _book(**{**tyranny, "sub": None}, rda=False,
                                             isbns=(isbn10(print_isbn),), pages="126 p. ;"),
                 _SPEC2, "carrier"),
        Labelled("tyranny-ebook-lib4", _book(
            **tyranny, isbns=(ebook_isbn,), z=(print_isbn,), form="o",
            pages="1 online resource (126 pages)",
            extra=(c("007", "cr |n|||||||||"), *_rda("txt", "c", "cr"))), "tyranny-ebook",
            "carrier"),
        Labelled("tyranny-ebook-lib6", _book(
            **tyranny, isbns=(ebook_isbn,), pages="1 online resource",
            extra=_rda("txt", "c", "cr")), "tyranny-ebook", "carrier"),
        Labelled("tyranny-large-print", _book(
            **tyranny, isbns=(large_isbn,), form="d", edition="Large print edition.",
            pages="167 pages (large print) ;", extra=_rda("txt", "n", "nc")),
            "tyranny-large", "carrier"),
        Labelled("tyranny-audio-cd", _book(
            **tyranny, isbns=(audio_isbn,), leader=SPOKEN,
            pages="2 audio discs (approximately 2 hr.) : digital ; 4 3/4 in.",
            extra=(c("007", "sd fsngnnmmned"), *_rda("spw", "s", "sd"))), "tyranny-audio",
            "carrier"),
        Labelled("tyranny-audio-cd-lib5", _book(
            **{**tyranny, "sub": None}, rda=False, isbns=(isbn10(audio_isbn),), leader=SPOKEN,
            pages="2 sound discs : digital ; 4 3/4 in."), "tyranny-audio", "carrier"),
        Labelled("tyranny-audio-daisy", _book(
            **tyranny, leader=SPOKEN, pages="1 audio disc (2 hr., 10 min.) : MP3 ; 4 3/4 in.",
            extra=(f("538", "  ", "a", "DAISY talking book; requires DAISY player."),
                   *_rda("spw", "s", "sd"))), "tyranny-daisy", "carrier"),
    ]
    out += _video_group() + _music_group()
    return out


def _video(medium: str, *, year: str, upc: str | None, sparse: bool = False) -> dict[str, Any]:
    codes = {"dvd": "vd cvaizq", "bluray": "vd csaizq", "vhs": "vf cbahou"}
    notes = {"dvd": "DVD; region 1, widescreen.", "bluray": "Blu-ray Disc; region A.",
             "vhs": "VHS."}
    extent = ("1 videocassette (102 min.) : sound, black and white ; 1/2 in." if medium == "vhs"
              else "1 videodisc (102 min.) : sound, black and white ; 4 3/4 in.")
    fields = [fixed(year, form=" ", at=29, date_type="p", date2="1942")]
    if upc and not sparse:
        fields.append(f("024", "1 ", "a", upc))
    if not sparse:
        fields.append(c("007", codes[medium]))
    fields += [f("245", "10", "a", "Casablanca" + (" /" if not sparse else ""),
                 *(() if sparse else ("c", "Warner Bros. Pictures ; directed by Michael "
                                           "Curtiz."))),
               f("264", " 1", "a", "Burbank, CA :", "b", "Warner Home Video,",
                 "c", f"[{year}]"),
               f("300", "  ", "a", extent)]
    if not sparse:
        fields += [*_rda("tdi", "v", "vf" if medium == "vhs" else "vd")]
    fields.append(f("538", "  ", "a", notes[medium]))
    fields.append(f("700", "1 ", "a", "Curtiz, Michael,", "e", "film director."))
    return describe_fields(fields, VIDEO)


def _video_group() -> list[Labelled]:
    return [
        Labelled("casablanca-dvd", _video("dvd", year="2012", upc="883929244158"),
                 "casablanca-dvd", "carrier"),
        Labelled("casablanca-dvd-lib5", _video("dvd", year="2012", upc=None, sparse=True),
                 "casablanca-dvd", "carrier"),
        Labelled("casablanca-bluray", _video("bluray", year="2012", upc="883929244141"),
                 "casablanca-bluray", "carrier"),
        Labelled("casablanca-bluray-lib6", _video("bluray", year="2012", upc=None, sparse=True),
                 "casablanca-bluray", "carrier"),
        Labelled("casablanca-vhs", _video("vhs", year="1998", upc="085391163923"),
                 "casablanca-vhs", "carrier"),
    ]


def _album(medium: str, *, number: str, sparse: bool = False, year: str = "1997") -> dict[
        str, Any]:
    codes = {"cd": "sd fsngnnmmned", "lp": "sd bsmennmplue", "cassette": "ss lsnjlcmpnue"}
    extents = {"cd": "1 audio disc (46 min.) : digital ; 4 3/4 in.",
               "lp": "1 audio disc (46 min.) : analog, 33 1/3 rpm ; 12 in.",
               "cassette": "1 audiocassette (46 min.) : analog, Dolby processed."}
    sparse_extents = {"cd": "1 CD (46 min.)", "lp": "1 LP (46 min.)",
                      "cassette": "1 cassette (46 min.)"}
    fields = [fixed(year)]
    if not sparse:
        fields += [c("007", codes[medium]), f("028", "02", "a", number, "b", "Columbia")]
    fields += [f("100", "1 ", "a", "Davis, Miles."),
               f("245", "10", "a", "Kind of blue" + (" /" if not sparse else ""),
                 *(() if sparse else ("c", "Miles Davis."))),
               f("260", "  ", "a", "New York, NY :", "b", "Columbia/Legacy,", "c", f"p{year}."),
               f("300", "  ", "a", sparse_extents[medium] if sparse else extents[medium])]
    if not sparse:
        fields += [*_rda("prm", "s", {"cd": "sd", "lp": "sd", "cassette": "ss"}[medium])]
    return describe_fields(fields, MUSIC)


def _music_group() -> list[Labelled]:
    return [
        Labelled("kob-cd", _album("cd", number="CK 64935"), "kob-cd", "carrier"),
        Labelled("kob-cd-lib5", _album("cd", number="", sparse=True), "kob-cd", "carrier"),
        Labelled("kob-lp", _album("lp", number="CJ 64935"), "kob-lp", "carrier"),
        Labelled("kob-lp-lib6", _album("lp", number="", sparse=True), "kob-lp", "carrier"),
        Labelled("kob-cassette", _album("cassette", number="CT 64935"), "kob-cassette",
                 "carrier"),
        Labelled("kob-cassette-lib4", _album("cassette", number="", sparse=True),
                 "kob-cassette", "carrier"),
    ]


def _parts_groups() -> list[Labelled]:
    set_isbn = isbn13("978082472075")
    els = {"title": "Encyclopedia of library and information science", "year": "2003",
           "publisher": "Marcel Dekker", "author": None}
    out = [
        Labelled("els-set", _book(**els, isbns=(set_isbn,), pages="4 v. (xxii, 3200 p.) ;",
                                  edition="2nd ed."), "els-set", "parts"),
        Labelled("els-v1", _book(**els, isbns=(set_isbn,), parts=("Vol. 1,",),
                                 pages="xxii, 800 p. ;", edition="2nd ed."), "els-v1",
                 "parts"),
        Labelled("els-v1-lib5", _book(**els, isbns=(isbn10(set_isbn),), parts=("v. 1",),
                                      pages="800 p.", edition="Second edition."), "els-v1",
                 "parts"),
        Labelled("els-v2", _book(**els, isbns=(set_isbn,), parts=("Vol. 2,",),
                                 pages="xxii, 800 p. ;", edition="2nd ed."), "els-v2",
                 "parts"),
        Labelled("els-v2-lib6", _book(**els, isbns=(set_isbn,), parts=("Volume II",),
                                      pages="801 p.", edition="2nd ed."), "els-v2", "parts"),
    ]
    handbook = {"title": "Handbook of North American Indians", "year": "1978",
                "publisher": "Smithsonian Institution", "place": "Washington"}

    def volume(number: str, pages: str, series_form: str = "v. ") -> dict[str, Any]:
        return _book(**handbook, pages=pages, rda=False, extra=(
            f("490", "1 ", "a", "Handbook of North American Indians ;", "v", series_form +
              number),))

    out += [
        Labelled("hnai-8", volume("8", "xvi, 800 p. :"), "hnai-8", "parts"),
        Labelled("hnai-8-lib4", volume("8", "xvi, 800 p. :", "vol. "), "hnai-8", "parts"),
        Labelled("hnai-15", volume("15", "xvi, 777 p. :"), "hnai-15", "parts"),
    ]
    album = {"author": "Beethoven, Ludwig van,", "year": "1990", "publisher": "Deutsche Grammophon",
             "place": "Hamburg", "leader": MUSIC, "rda": False}
    out += [
        Labelled("b5-album", _book("Symphony no. 5", sub="Egmont overture", **album,
                                   pages="1 sound disc : digital ; 4 3/4 in.",
                                   extra=(c("007", "sd fsngnnmmned"),)), "b5-album", "parts"),
        Labelled("b5-track", _book("Symphony no. 5", **album, pages="1 sound disc",
                                   extra=(c("007", "sd fsngnnmmned"), f(
                                       "773", "0 ", "t", "Symphony no. 5 ; Egmont overture",
                                       "g", "track 1-4"))), "b5-track", "parts"),
    ]
    return out


def _edition_groups() -> list[Labelled]:
    second, third = "9780262032933", isbn13("978026203384")
    clrs = {"title": "Introduction to algorithms", "author": "Cormen, Thomas H.",
            "publisher": "MIT Press", "place": "Cambridge, Mass."}
    cook1, cook2 = "9780596001674", isbn13("978059600797")
    cook = {"title": "Python cookbook", "author": "Martelli, Alex.", "publisher": "O'Reilly",
            "place": "Sebastopol, CA"}
    blinky = {"title": "Blinky Bill and Nutsy", "sub": "two little Australians",
              "author": "Wall, Dorothy,", "publisher": "Angus & Robertson", "place": "Sydney"}
    return [
        Labelled("clrs-2", _book(**clrs, year="2001", isbns=(second,), edition="2nd ed.",
                                 pages="xxi, 1180 p. :", rda=False), "pymarc/marc.dat#19",
                 "editions"),
        Labelled("clrs-2-lib5", _book(**clrs, year="2001", isbns=(isbn10(second),),
                                      edition="Second edition.", pages="1180 p."),
                 "pymarc/marc.dat#19", "editions"),
        Labelled("clrs-3", _book(**clrs, year="2009", isbns=(third,), z=(second,),
                                 edition="3rd ed.", pages="xix, 1292 p. :"), "clrs-3",
                 "editions"),
        Labelled("clrs-3-lib6", _book(**clrs, year="2009", edition="Third edition.",
                                      pages="1292 pages"), "clrs-3", "editions"),
        Labelled("cook-1", _book(**cook, year="2002", isbns=(cook1,), edition="1st ed.",
                                 pages="xxvii, 574 p. :", rda=False), "pymarc/marc.dat#4",
                 "editions"),
        Labelled("cook-2", _book(**cook, year="2005", isbns=(cook2,), z=(cook1,),
                                 edition="2nd ed.", pages="xxiii, 807 p. :", rda=False),
                 "cook-2", "editions"),
        Labelled("cook-2-lib4", _book(**cook, year="2005", isbns=(cook2,),
                                      pages="807 p."), "cook-2", "editions"),
        # A reprint under the same ISBN, years later, and a new edition that kept the old
        # ISBN: one ISBN, two editions.
        Labelled("orwell-2008", _book("Nineteen eighty-four", author="Orwell, George,",
                                      year="2008", publisher="Penguin", place="London",
                                      isbns=("9780141036144",), pages="355 p. ;", rda=False),
                 "orwell-2008", "editions"),
        Labelled("orwell-2008-lib5", _book("Nineteen eighty-four", author="Orwell, George.",
                                           year="2008", publisher="Penguin Books",
                                           place="London", isbns=("0141036141",),
                                           pages="355 pages"), "orwell-2008", "editions"),
        Labelled("orwell-2013", _book("Nineteen eighty-four", author="Orwell, George,",
                                      year="2013", publisher="Penguin", place="London",
                                      isbns=("9780141036144",), pages="355 p. ;", rda=False),
                 "orwell-2013", "editions"),
        Labelled("cook-2-old-isbn", _book(**cook, year="2005", isbns=(cook1,),
                                          edition="Second edition.", pages="807 p."),
                 "cook-2", "editions"),
        Labelled("blinky-1937-lib4", _book(**blinky, year="1937", pages="115 p. :", rda=False),
                 "goldrush/blinky-nutsy-nla.json", "editions"),
        Labelled("blinky-1962", _book(**blinky, year="1962", pages="115 p. :", rda=False),
                 "blinky-1962", "editions"),
        Labelled("blinky-1962-lib5", _book(**{**blinky, "sub": None}, year="1962",
                                           pages="115 pages"), "blinky-1962", "editions"),
    ]


def _nordic_groups() -> list[Labelled]:
    """Finnish and Swedish records say their carrier in their own words ("CD-äänilevy",
    "DVD-videolevy", "verkkoaineisto") and qualify ISBNs ("sid.", "nid.", "EPUB")."""
    def album(extent: str) -> dict[str, Any]:
        return describe_fields([
            fixed("1987", lang="fin"), f("100", "1 ", "a", "Kihlman, Ville."),
            f("245", "10", "a", "Kesäyön unelma"),
            f("260", "  ", "a", "Helsinki :", "b", "Finnlevy,", "c", "1987."),
            f("300", "  ", "a", extent)], MUSIC)

    def film(extent: str, year: str = "2010") -> dict[str, Any]:
        return describe_fields([
            fixed(year, at=29, lang="fin"), f("245", "10", "a", "Tuntematon sotilas"),
            f("264", " 1", "a", "Helsinki :", "b", "Future Film,", "c", f"[{year}]"),
            f("300", "  ", "a", extent)], VIDEO)

    def novel(*extra: MarcField, isbn: str, qualifier: str, leader: str = BOOK,
              extent: str = "342 sivua ;") -> dict[str, Any]:
        return describe_fields([
            fixed("2019", lang="fin"), f("020", "  ", "a", isbn, "q", qualifier),
            f("100", "1 ", "a", "Liksom, Rosa,"), f("245", "10", "a", "Everstinna"),
            f("264", " 1", "a", "Helsinki :", "b", "Like,", "c", "[2019]"),
            f("300", "  ", "a", extent), *extra], leader)

    hard, soft, epub = isbn13("978952011234"), isbn13("978952011235"), isbn13("978952011236")
    return [
        Labelled("kesayo-cd", album("1 CD-äänilevy (45 min)"), "kesayo-cd", "carrier"),
        Labelled("kesayo-cd-lib2", album("1 CD-ljudskiva"), "kesayo-cd", "carrier"),
        Labelled("kesayo-lp", album("1 LP-äänilevy"), "kesayo-lp", "carrier"),
        Labelled("kesayo-lp-lib3", album("1 äänilevy : analoginen, 33 1/3 kierr./min"),
                 "kesayo-lp", "carrier"),
        Labelled("tuntematon-dvd", film("1 DVD-videolevy (180 min)"), "tuntematon-dvd",
                 "carrier"),
        Labelled("tuntematon-dvd-lib2", film("1 DVD-videoskiva"), "tuntematon-dvd", "carrier"),
        Labelled("tuntematon-bd", film("1 Blu-ray-videolevy (180 min)"), "tuntematon-bd",
                 "carrier"),
        Labelled("everstinna-sid", novel(isbn=hard, qualifier="sidottu"), "everstinna-sid",
                 "carrier"),
        Labelled("everstinna-sid-lib2", novel(isbn=isbn10(hard), qualifier="sid."),
                 "everstinna-sid", "carrier"),
        Labelled("everstinna-nid", novel(isbn=soft, qualifier="nidottu"), "everstinna-nid",
                 "carrier"),
        Labelled("everstinna-epub", novel(f("338", "  ", "a", "verkkoaineisto", "b", "cr"),
                                          isbn=epub, qualifier="EPUB",
                                          extent="1 verkkoaineisto"), "everstinna-epub",
                 "carrier"),
        Labelled("everstinna-daisy", describe_fields([
            fixed("2019", lang="fin"), f("100", "1 ", "a", "Liksom, Rosa,"),
            f("245", "10", "a", "Everstinna", "b", "Daisy-äänikirja vain lukemisesteisille"),
            f("264", " 1", "a", "Helsinki :", "b", "Celia,", "c", "[2019]"),
            f("300", "  ", "a", "1 CD-äänilevy (Daisy) (7 h 50 min)")], SPOKEN),
            "everstinna-daisy", "carrier"),
        Labelled("everstinna-audio", describe_fields([
            fixed("2019", lang="fin"), f("020", "  ", "a", isbn13("978952011237")),
            f("100", "1 ", "a", "Liksom, Rosa,"), f("245", "10", "a", "Everstinna"),
            f("264", " 1", "a", "Helsinki :", "b", "Like,", "c", "[2019]"),
            f("300", "  ", "a", "7 CD-äänilevyä (7 h 50 min)")], SPOKEN), "everstinna-audio",
            "carrier"),
        Labelled("vauva-series", describe_fields([
            fixed("2015", lang="fin"), f("245", "00", "a", "Piiloleikki"),
            f("264", " 1", "a", "Helsinki :", "b", "Tammi,", "c", "2015."),
            f("490", "0 ", "a", "Vauva tunnustelee")]), "vauva"),
        Labelled("vauva-title", describe_fields([
            fixed("2015", lang="fin"), f("245", "00", "a", "Vauva tunnustelee :", "b",
                                         "Piiloleikki"),
            f("264", " 1", "a", "Helsinki :", "b", "Tammi,", "c", "2015.")]), "vauva"),
    ]


def _other_groups() -> list[Labelled]:
    hlm = "9787020002207"
    return [
        Labelled("hlm-880", _book("Hong lou meng", author="Cao, Xueqin,", year="1982",
                                  publisher="Ren min wen xue chu ban she", place="Beijing",
                                  isbns=(hlm,), lang="chi", extra=(
                                      f("880", "10", "6", "245-01/$1", "a", "紅樓夢 /"),
                                      f("880", "1 ", "6", "100-02/$1", "a", "曹雪芹,"))),
                 "hlm"),
        Labelled("hlm-vernacular", _book("红楼梦", author="曹雪芹,", year="1982",
                                         publisher="人民文学出版社", place="北京",
                                         isbns=(isbn10(hlm),), lang="chi"), "hlm"),
        Labelled("hlm-romanized", _book("Hong lou meng", author="Cao, Xueqin,", year="1982",
                                        publisher="Ren min wen xue chu ban she",
                                        place="Beijing", lang="chi"), "hlm"),
        Labelled("chasho-880", _book("Nihon no chasho", author="Hayashiya, Tatsusaburō,",
                                     year="1971", publisher="Heibonsha", place="Tōkyō",
                                     lang="jpn", extra=(
                                         f("880", "10", "6", "245-01/$1", "a", "日本の 茶書 /"),)),
                 "chasho"),
        Labelled("chasho-plain", _book("Nihon no chasho", author="Hayashiya, Tatsusaburo,",
                                       year="1971", publisher="Heibonsha", place="Tokyo",
                                       lang="jpn"), "chasho"),
        Labelled("vn-diacritics", _book("Lịch sử thư viện Việt Nam", author="Nguyễn, Văn An.",
                                        year="2019", publisher="Nhà xuất bản Đại học Quốc gia",
                                        place="Hà Nội", lang="vie"), "vn"),
        Labelled("vn-plain", _book("Lich su thu vien Viet Nam", author="Nguyen, Van An.",
                                   year="2019", publisher="Nha xuat ban Dai hoc Quoc gia",
                                   place="Ha Noi", lang="vie"), "vn"),
        Labelled("perl-conf-serial", _book(
            "Proceedings of the Perl Conference", year="1997", publisher="O'Reilly",
            place="Sebastopol, CA", leader=SERIAL,
            extra=(f("022", "  ", "a", "1525-3112"),)), "perl-conf-serial"),
    ]


def labelled_set() -> list[Labelled]:
    """Every labelled record: the real records with their copies, then the hard groups."""
    return (_real_part() + _twins() + _carrier_groups() + _parts_groups()
            + _edition_groups() + _nordic_groups() + _other_groups())
