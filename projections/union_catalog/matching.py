"""Whether two records describe one edition: match keys propose candidates, a scoring
step decides, and says why.

Keys (`match_keys`) are deliberately generous: every identifier (ISBN as ISBN-13, from
020 $a and, as weak evidence, $z; ISSN; LCCN; OCLC numbers; other 035 numbers with their
prefix; 024 and 028 numbers) and, for every record, normalized title keys with the year or
the first author — so that a record without identifiers meets one with them.

The decision (`compare`) first looks for what proves two records different, whatever
else they share: another family or medium of carrier (print, e-book, audiobook; DVD,
Blu-ray; CD, LP, cassette), another part or volume (245 $n $p, 490/830 $v), a component
against its host or another host (773), another edition (250), another year, a serial
against a monograph. Those are vetoes. Otherwise it weighs the evidence: shared strong
identifiers, the title (exact, same main title, similar; across scripts through 880), the
first author, the year, the publisher and the extent, against disagreeing identifiers,
authors, publishers, extents and languages. Both are pure functions of the two records,
symmetric, so a clustering built on them does not depend on arrival order.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from projections.union_catalog import normalize as nz
from projections.union_catalog.carrier import Carrier, carrier_of
from projections.union_catalog.carrier import conflict as carrier_conflict

THRESHOLD = 6.0
STRONG = 6.0  # one shared strong identifier: enough with a title that agrees
_UNKNOWN_LANGUAGES = frozenset({"und", "mul", "zxx", "sgn", "mis", "|||", "   "})
_SERIAL_LEVELS = frozenset({"s", "i"})


@dataclass(frozen=True)
class TitleForm:
    """One form of a record's title (245, or an 880 in another script)."""

    full: tuple[str, ...]  # 245 $a $b $n $p
    main: tuple[str, ...]  # 245 $a
    script: str


@dataclass(frozen=True)
class Profile:
    """What matching compares of one record, normalized once."""

    key: str
    isbns: frozenset[str]
    weak_isbns: frozenset[str]
    issns: frozenset[str]
    lccns: frozenset[str]
    oclcs: frozenset[str]
    system_numbers: frozenset[str]
    standard_numbers: frozenset[str]
    links: frozenset[str]
    titles: tuple[TitleForm, ...]
    main_authors: frozenset[str]
    all_authors: frozenset[str]
    year: str | None
    years: frozenset[str]
    publisher: frozenset[str]
    publisher_script: str
    pages: int | None
    volumes: int | None
    edition: str | None
    carrier: Carrier
    deleted: bool
    serial: bool | None
    bib_level: str | None
    bindings: frozenset[tuple[str, str]]  # (ISBN-13, binding or file format)
    parts: tuple[str, ...]
    part_words: frozenset[str]  # the words of 245 $n $p as written
    series_numbers: frozenset[tuple[str, str]]
    host: Host | None
    language: str | None


@dataclass(frozen=True)
class Match:
    """The decision on a pair: accepted or not, its score, its reasons, and the veto that
    rules it out when there is one."""

    accepted: bool
    score: float
    reasons: tuple[str, ...]
    veto: str | None = None


def profile(key: str, d: dict[str, Any]) -> Profile:
    """A record's profile from its description (older descriptions may lack keys)."""
    language = next(iter(d.get("languages") or []), None)
    isbns = frozenset(i for i in (nz.isbn13(v) for v in d.get("isbns") or []) if i)
    numbers = [str(n) for n in d.get("system_numbers") or []]
    years = _years(d)
    pages, volumes = nz.extent_numbers(d.get("extent"))
    bib_level = d.get("bib_level")
    publisher = nz.publisher_tokens(d.get("publisher"))
    return Profile(
        key=key,
        isbns=isbns,
        weak_isbns=frozenset(i for i in (nz.isbn13(v) for v in d.get("cancelled_isbns") or [])
                             if i) - isbns,
        issns=frozenset(i for i in (nz.issn(v) for v in d.get("issns") or []) if i),
        lccns=frozenset(n for n in [nz.lccn(d["lccn"])] if n) if d.get("lccn") else frozenset(),
        oclcs=frozenset(n for n in (nz.oclc(v) for v in numbers) if n),
        system_numbers=frozenset(n for v in numbers if not nz.oclc(v)
                                 for n in [nz.system_number(v)] if n),
        standard_numbers=_standard_numbers(d),
        links=frozenset(u for u in (nz.url(str(x.get("url") or "")) for x in d.get("links") or []
                                    if x.get("relationship") == "0") if u),
        titles=_titles(d, language),
        main_authors=_main_authors(d),
        all_authors=_all_authors(d),
        year=_primary_year(d),
        years=years,
        publisher=publisher,
        publisher_script=nz.script_of(tuple(sorted(publisher))),
        pages=pages,
        volumes=volumes,
        edition=nz.edition_key(d.get("edition")),
        carrier=carrier_of(d),
        deleted=d.get("record_status") == "d",
        serial=(bib_level in _SERIAL_LEVELS) if bib_level else None,
        bib_level=bib_level,
        bindings=frozenset((i, b) for q in d.get("isbn_qualifiers") or []
                           for i in [nz.isbn13(str(q.get("isbn") or ""))]
                           for b in [nz.binding(q.get("qualifier"))] if i and b),
        parts=_parts(d),
        part_words=frozenset(nz.tokens(" ".join(str(p) for p in d.get("title_parts") or []))),
        series_numbers=_series_numbers(d),
        host=_host(d.get("host")),
        language=language if language not in _UNKNOWN_LANGUAGES else None,
    )


def _parts(d: dict[str, Any]) -> tuple[str, ...]:
    given = d.get("title_parts") or [d.get("part_number"), d.get("part_name")]
    return tuple(p for p in (nz.part_key(v) for v in given) if p)


def _standard_numbers(d: dict[str, Any]) -> frozenset[str]:
    found = set()
    for entry in d.get("standard_numbers") or []:
        number = "".join(c for c in str(entry.get("number") or "") if c.isalnum()).lower()
        if len(number) >= 6:
            found.add(f"{entry.get('scheme')}:{number}")
    for value in d.get("publisher_numbers") or []:
        found.add("pub:" + " ".join(nz.tokens(str(value))))
    return frozenset(found)


_ISBD_SUBTITLE = re.compile(r"\s+[:=]\s+")


def _titles(d: dict[str, Any], language: str | None) -> tuple[TitleForm, ...]:
    nonfiling = d.get("title_nonfiling")
    title = str(d.get("title") or "")
    main = nz.title_tokens(title, language, nonfiling)
    if not d.get("subtitle") and _ISBD_SUBTITLE.search(title):
        # "On tyranny : twenty lessons..." all in $a: the main title ends at the colon
        main = nz.title_tokens(_ISBD_SUBTITLE.split(title)[0], language, nonfiling)
        full = nz.title_tokens(title, language, nonfiling)
    else:
        full = main + nz.tokens(d.get("subtitle"))
    parts = " ".join(str(p) for p in d.get("title_parts") or [])
    full += nz.tokens(parts)
    forms = [TitleForm(full, main, nz.script_of(full))] if full else []
    # A title given with its series (245 "Series : Title" against 245 "Title" and 490
    # "Series"): the combinations are forms of the title too.
    for name in _series_names(d, language) if full else []:
        forms += [TitleForm(name + full, name + main, forms[0].script),
                  TitleForm(full + name, main + name, forms[0].script)]
    for alt in d.get("alt_titles") or []:
        # An 880 title is rendered whole ($a $b $n $p); its main title ends at a colon.
        tokens = nz.title_tokens(str(alt), language, None)
        alt_main = nz.title_tokens(_ISBD_SUBTITLE.split(str(alt))[0], language, None)
        if tokens:
            forms.append(TitleForm(tokens, alt_main or tokens, nz.script_of(tokens)))
    return tuple(forms)


def _series_names(d: dict[str, Any], language: str | None) -> list[tuple[str, ...]]:
    names: list[tuple[str, ...]] = []
    for statement in d.get("series") or []:
        name = nz.title_tokens(str(statement).split(";")[0], language, None)
        if name and name not in names:
            names.append(name)
    return names


def _main_authors(d: dict[str, Any]) -> frozenset[str]:
    authors = d.get("authors") or []
    main = [a for a in authors if a.get("role") == "main"] or authors[:1]
    keys = {nz.name_key(a.get("name"), str(a.get("tag", "100")).endswith("00")) for a in main}
    alt = d.get("alt_authors") or []
    if alt:
        keys.add(nz.name_key(str(alt[0]), True))
    return frozenset(k for k in keys if k)


def _all_authors(d: dict[str, Any]) -> frozenset[str]:
    keys = {nz.name_key(a.get("name"), str(a.get("tag", "100")).endswith("00"))
            for a in d.get("authors") or []}
    keys |= {nz.name_key(str(a), True) for a in d.get("alt_authors") or []}
    return frozenset(k for k in keys if k)


def _fixed_year(d: dict[str, Any], which: str) -> str | None:
    dates = d.get("fixed_dates") or {}
    value = str(dates.get(which) or "")
    return value if value.isdigit() and len(value) == 4 and value != "9999" else None


def _primary_year(d: dict[str, Any]) -> str | None:
    year = d.get("year")
    return str(year) if year else _fixed_year(d, "date1")


def _years(d: dict[str, Any]) -> frozenset[str]:
    """Every year the record gives its publication: 260/264 dates (with the copyright
    date), 008 date 1, and 008 date 2 when it is a copyright or production date."""
    years = {str(y) for y in d.get("publication_years") or []}
    for value in (d.get("year"), _fixed_year(d, "date1")):
        if value:
            years.add(str(value))
    date_type = (d.get("fixed_dates") or {}).get("type")
    second = _fixed_year(d, "date2")
    if second and date_type in ("t", "p"):
        years.add(second)
    return frozenset(years)


def _series_numbers(d: dict[str, Any]) -> frozenset[tuple[str, str]]:
    found = set()
    for entry in d.get("series_numbering") or []:
        series = " ".join(nz.title_tokens(entry.get("series"), None, None)[:3])
        number = nz.part_key(entry.get("number"))
        if series and number:
            found.add((series, number))
    return frozenset(found)


@dataclass(frozen=True)
class Host:
    """Where a component sits (773): the host's title and the numbers locating it."""

    title: tuple[str, ...]
    numbers: frozenset[str]  # volume, issue, year, pages in $g, however punctuated


def _host(host: dict[str, Any] | None) -> Host | None:
    if not host:
        return None
    numbers = frozenset(str(int(n)) for n in re.findall(r"\d+", host.get("related_parts") or ""))
    return Host(nz.tokens(host.get("title")), numbers)


def match_keys(p: Profile) -> frozenset[str]:
    """The keys that propose a record as a candidate for another sharing one (each record
    is filed under them and looks under them)."""
    keys = {f"isbn:{i}" for i in p.isbns | p.weak_isbns}
    keys |= {f"issn:{i}" for i in p.issns} | {f"lccn:{n}" for n in p.lccns}
    keys |= {f"oclc:{n}" for n in p.oclcs} | {f"sys:{n}" for n in p.system_numbers}
    keys |= {f"std:{n}" for n in p.standard_numbers} | {f"url:{u}" for u in p.links}
    for form in p.titles:
        main = " ".join(form.main)
        if p.year:
            keys.add(f"title:{main}|{p.year}")
            keys.add(f"title2:{' '.join(form.full[:2])}|{p.year}")
        keys |= {f"title:{main}|a:{author}" for author in p.main_authors}
    return frozenset(keys)


def sparse_keys(p: Profile) -> tuple[frozenset[str], frozenset[str]]:
    """Keys for a record with neither year nor author, which the title keys above cannot
    pair with anything: (where a record is filed, where it looks). Every record is filed
    under its bare main title, but only such sparse records look there; every record looks
    under the sparse records' own key. A pair with a sparse record is thus found whichever
    came second, and a common title costs a look only to the few sparse records."""
    mains = {" ".join(form.main) for form in p.titles}
    sparse = not p.year and not p.main_authors
    filed = {f"main:{m}" for m in mains} | ({f"sparse:{m}" for m in mains} if sparse else set())
    looks = {f"sparse:{m}" for m in mains} | ({f"main:{m}" for m in mains} if sparse else set())
    return frozenset(filed), frozenset(looks)


def conflict(a: Profile, b: Profile) -> str | None:
    """What proves two records different, whatever else they share; None if nothing."""
    if a.key > b.key:  # the same words whichever record is asked about first
        a, b = b, a
    for check in _CHECKS:
        found = check(a, b)
        if found:
            return found
    return None


def _level_conflict(a: Profile, b: Profile) -> str | None:
    """A deleted record (leader/05 d) joins nothing; a serial against a monograph; any
    other bibliographic level (leader/07) apart."""
    if a.deleted or b.deleted:
        return "deleted record"
    if a.serial is not None and b.serial is not None and a.serial != b.serial:
        return "serial vs monograph"
    if a.bib_level and b.bib_level and a.bib_level != b.bib_level:
        return f"bibliographic level {a.bib_level} vs {b.bib_level}"
    return None


def _carrier_conflict(a: Profile, b: Profile) -> str | None:
    if carrier_conflict(a.carrier, b.carrier):
        return f"carrier {a.carrier.label} vs {b.carrier.label}"
    return None


def _part_conflict(a: Profile, b: Profile) -> str | None:
    """Another part or volume (245 $n $p), or a part against the whole (unless the other
    record wrote the part into its title: "Title. Osa 1" in $a)."""
    if a.parts == b.parts:
        return None
    if (not b.parts and _in_title(a.part_words, b)) or (not a.parts and _in_title(
            b.part_words, a)):
        return None
    return f"part {' '.join(a.parts) or '(whole)'} vs {' '.join(b.parts) or '(whole)'}"


def _in_title(words: frozenset[str], p: Profile) -> bool:
    return bool(words) and bool(p.titles) and words <= set(p.titles[0].full)


def _host_conflict(a: Profile, b: Profile) -> str | None:
    """A component against a record that is not one; components of other hosts, or of
    other places in one host ($g: volume, issue, pages, however each library writes it)."""
    if (a.host is None) != (b.host is None):
        return "component vs host"
    if a.host is None or b.host is None:
        return None
    if a.host.title and b.host.title and not (
            a.host.title == b.host.title or _similar(a.host.title, b.host.title)):
        return "another host"
    if a.host.numbers and b.host.numbers and a.host.numbers != b.host.numbers:
        return "another place in the host"
    return None


def _binding_conflict(a: Profile, b: Profile) -> str | None:
    """One ISBN qualified differently (paperback against hardcover, EPUB against PDF)."""
    for isbn in sorted(a.isbns & b.isbns):
        mine = {kind for i, kind in a.bindings if i == isbn}
        theirs = {kind for i, kind in b.bindings if i == isbn}
        if mine and theirs and not mine & theirs:
            return f"isbn {isbn} {'/'.join(sorted(mine))} vs {'/'.join(sorted(theirs))}"
    return None


def _edition_or_year_conflict(a: Profile, b: Profile) -> str | None:
    """Another edition statement (both numbered, or both in words); years apart."""
    if a.edition and b.edition and not _same_edition(a.edition, b.edition) and (
            a.edition.isdigit() == b.edition.isdigit()):
        return f"edition {a.edition} vs {b.edition}"
    if a.years and b.years and not a.years & b.years and not (a.serial and b.serial) and (
            not _close_years(a, b) or not _shared_strong(a, b)):
        return f"year {a.year} vs {b.year}"
    return None


def _same_edition(x: str, y: str) -> bool:
    """The same number, or the same words once abbreviations are read as the words they
    start ("nouv" for "nouvelle", "erw" for "erweiterte")."""
    if x == y or x.isdigit() or y.isdigit():
        return x == y
    short, long_ = sorted((x.split(), y.split()), key=len)
    return all(any(w.startswith(s) or s.startswith(w) for w in long_) for s in short)


def _series_conflict(a: Profile, b: Profile) -> str | None:
    """Numbers in one series that differ (volume 2 against volume 3 of one set)."""
    for series, number in sorted(a.series_numbers):
        other = {n for s, n in b.series_numbers if s == series}
        if other and number not in other:
            return f"series number {number} vs {min(other)}"
    return None


_CHECKS = (_level_conflict, _carrier_conflict, _part_conflict, _binding_conflict,
           _host_conflict, _series_conflict, _edition_or_year_conflict)


def _close_years(a: Profile, b: Profile) -> bool:
    """Years a year apart: one record's bracketed guess, the other's imprint."""
    return any(abs(int(x) - int(y)) <= 1 for x in a.years for y in b.years)


def _shared_strong(a: Profile, b: Profile) -> list[str]:
    shared = [f"isbn:{i}" for i in sorted(a.isbns & b.isbns)]
    shared += [f"lccn:{n}" for n in sorted(a.lccns & b.lccns)]
    shared += [f"oclc:{n}" for n in sorted(a.oclcs & b.oclcs)]
    shared += [f"issn:{n}" for n in sorted(a.issns & b.issns)]
    shared += [f"{n}" for n in sorted(a.standard_numbers & b.standard_numbers)]
    return shared


def compare(a: Profile, b: Profile) -> Match:
    """Whether two records describe one edition, with the score and the reasons."""
    if a.key > b.key:
        a, b = b, a
    veto = conflict(a, b)
    if veto is not None:
        return Match(accepted=False, score=0.0, reasons=(), veto=veto)
    reasons: list[str] = []
    score = _identifiers(a, b, reasons)
    strong = score >= STRONG
    level, title_score = _title(a, b)
    if level == "different" or (level == "incomparable" and not strong):
        return Match(accepted=False, score=score, reasons=(*reasons, "title differs"))
    if level != "incomparable":
        reasons.append(f"title {level}")
    score += title_score
    score += _agreement(a, b, reasons)
    if level == "exact" and "author" in reasons and _nothing_else_to_compare(a, b):
        score += 1.0  # a brief record: the title and author are all it says
        reasons.append("nothing else to compare")
    # The weaker the title agreement, the more of the rest must agree: a similar title
    # needs one more point, two different subtitles of one main title need author, year,
    # publisher and extent all agreeing.
    needed = {"exact": THRESHOLD, "main": THRESHOLD, "similar": THRESHOLD + 1,
              "main only": THRESHOLD + 2}.get(level, THRESHOLD)
    accepted = score >= THRESHOLD and (strong or score >= needed)
    return Match(accepted=accepted, score=round(score, 2), reasons=tuple(reasons))


def _identifiers(a: Profile, b: Profile, reasons: list[str]) -> float:
    """Shared identifiers for, disagreeing ones against (one strong identifier counts
    in full; each further kind adds a little)."""
    shared = _shared_strong(a, b)
    # Another system's number, or a link to the resource itself: good, not conclusive.
    fair = [f"sys:{n}" for n in sorted(a.system_numbers & b.system_numbers)]
    fair += [f"link:{u}" for u in sorted(a.links & b.links)]
    score = STRONG + (len(shared) - 1) if shared else 4.0 if fair else 0.0
    reasons += shared + fair
    weak = (a.isbns & b.weak_isbns) | (a.weak_isbns & b.isbns) | (a.weak_isbns & b.weak_isbns)
    if weak and not a.isbns & b.isbns:
        score += 1.5
        reasons.append(f"isbn $z:{min(weak)}")
    if a.isbns and b.isbns and not a.isbns & b.isbns and not weak:
        score -= 3.0
        reasons.append("isbns differ")
        kinds_a, kinds_b = {k for _, k in a.bindings}, {k for _, k in b.bindings}
        if kinds_a and kinds_b and not kinds_a & kinds_b:
            score -= 2.0  # a paperback and a hardcover, each with its own ISBN
            reasons.append("bindings differ")
    for kind, mine, theirs, weight in (("lccn", a.lccns, b.lccns, 4.0),
                                       ("oclc", a.oclcs, b.oclcs, 2.0),
                                       ("issn", a.issns, b.issns, 3.0)):
        if mine and theirs and not mine & theirs:
            score -= weight
            reasons.append(f"{kind}s differ")
    return score


def _title(a: Profile, b: Profile) -> tuple[str, float]:
    """How well the titles agree: exact, main (the same 245 $a, or one the other's start:
    a subtitle missing or moved), similar (a few words or letters apart), different, or
    incomparable (no form of either in a script the other has)."""
    best, comparable = ("different", 0.0), False
    for x in a.titles:
        for y in b.titles:
            if x.script != y.script:
                continue
            comparable = True
            if x.full == y.full:
                return "exact", 3.0
            if _same_main(x, y) or (x.main == y.main and _similar(x.full, y.full, 0.5, 0.8)):
                best = max(best, ("main", 2.5), key=lambda t: t[1])
            elif x.main == y.main:  # two subtitles that say different things
                best = max(best, ("main only", 1.0), key=lambda t: t[1])
            elif _similar(x.full, y.full) or _similar(x.main, y.main):
                best = max(best, ("similar", 1.5), key=lambda t: t[1])
    return best if comparable or not (a.titles and b.titles) else ("incomparable", 0.0)


def _same_main(x: TitleForm, y: TitleForm) -> bool:
    """One title is the other's main title: a subtitle missing on one side (a longer title
    that merely starts with the other, "Python programming patterns" against "Python
    programming", is another title)."""
    if x.main == y.main and (x.full == x.main or y.full == y.main):
        return True
    return x.full == y.main or y.full == x.main


def _similar(x: tuple[str, ...], y: tuple[str, ...], words: float = 0.8,
             letters: float = 0.92) -> bool:
    """Titles a few words (Jaccard) or letters (sequence ratio) apart."""
    if not x or not y:
        return False
    sx, sy = set(x), set(y)
    if len(sx & sy) / len(sx | sy) >= words:
        return True
    a, b = " ".join(x), " ".join(y)
    # difflib's real_quick_ratio and quick_ratio, the upper bounds of its ratio, computed
    # without building its matcher (most pairs stop here)
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < letters:
        return False
    if 2 * sum((Counter(a) & Counter(b)).values()) / (len(a) + len(b)) < letters:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= letters


def _agreement(a: Profile, b: Profile, reasons: list[str]) -> float:
    """Author, year, publisher, extent, edition and language: for or against."""
    score = 0.0
    if a.main_authors & b.all_authors or b.main_authors & a.all_authors:
        score += 2.0
        reasons.append("author")
    elif a.main_authors and b.main_authors and not a.all_authors & b.all_authors:
        score -= 3.0
        reasons.append("authors differ")
    if a.years & b.years:
        score += 2.0
        reasons.append(f"year {min(a.years & b.years)}")
    if a.publisher and b.publisher and (  # romanized against vernacular says nothing
            a.publisher_script == b.publisher_script):
        if _publishers_agree(a.publisher, b.publisher):
            score += 1.5
            reasons.append("publisher")
        else:
            score -= 1.5
            reasons.append("publishers differ")
    score += _extent(a, b, reasons)
    if a.edition and b.edition and _same_edition(a.edition, b.edition):
        score += 0.5
        reasons.append(f"edition {a.edition}")
    elif a.edition and b.edition:
        score -= 1.0  # one numbered, one in words: perhaps the same, perhaps not
    elif (a.edition or b.edition) not in (None, "1"):
        # "2nd ed." against no edition statement: a cataloguer seldom leaves out a 250
        # the item shows, so most likely the first edition and a later one
        score -= 3.0 if str(a.edition or b.edition).isdigit() else 1.0
        reasons.append("edition on one side")
    if a.language and b.language and a.language != b.language:
        score -= 3.0
        reasons.append("languages differ")
    return score


def _nothing_else_to_compare(a: Profile, b: Profile) -> bool:
    """Neither years, publishers, extents nor identifiers on both sides."""
    return not ((a.years and b.years) or (a.publisher and b.publisher)
                or (a.pages and b.pages) or (a.isbns and b.isbns) or (a.lccns and b.lccns))


def _publishers_agree(x: frozenset[str], y: frozenset[str]) -> bool:
    if len(x & y) / min(len(x), len(y)) >= 0.5:
        return True
    return any(p.startswith(q) or q.startswith(p) for p in x for q in y
               if min(len(p), len(q)) >= 4)


def _extent(a: Profile, b: Profile, reasons: list[str]) -> float:
    if a.pages and b.pages:
        gap = abs(a.pages - b.pages)
        if gap <= max(3, 0.03 * max(a.pages, b.pages)):
            reasons.append("extent")
            return 1.5
        if gap > 0.5 * max(a.pages, b.pages):
            reasons.append("extents differ widely")
            return -4.0
        if gap > max(10, 0.1 * max(a.pages, b.pages)):
            reasons.append("extents differ")
            return -2.0
    if a.volumes and b.volumes and a.volumes != b.volumes:
        reasons.append("volumes differ")
        return -2.0
    return 0.0
