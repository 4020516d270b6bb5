"""What a record's carrier is: the kind of resource (leader/06) and the medium it comes on,
read from every place a cataloguer may have said it (008 form of item, 007, 33X, 245 $h,
300, 340-347, 538), because no single field is filled in reliably.

A carrier is a family (text, score, map, video, audio, ...) and a medium within it (print,
electronic, microform, braille, large print; dvd, bluray, vhs; cd, lp, cassette, daisy, ...).
A medium may be known only roughly ("videodisc", "audio disc"): it then agrees with the
precise media it covers, so a sparse record can still join a full one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.search_text import fold

_FAMILIES = {"a": "text", "t": "text", "c": "score", "d": "score", "e": "map", "f": "map",
             "g": "video", "i": "audio", "j": "audio", "k": "image", "m": "computer",
             "o": "kit", "p": "mixed", "r": "object"}
_CONTENT_FAMILIES = {"txt": "text", "text": "text", "tdi": "video",
                     "two-dimensional moving image": "video", "spw": "audio",
                     "spoken word": "audio", "prm": "audio", "performed music": "audio",
                     "ntm": "score", "notated music": "score", "cri": "map",
                     "cartographic image": "map"}
# Rough media and the precise ones they cover.
_COVERS = {"videodisc": frozenset({"dvd", "bluray"}),
           "audio disc": frozenset({"cd", "lp", "daisy", "mp3"}),
           "videocassette": frozenset({"vhs"}),
           "electronic": frozenset({"online", "direct electronic"})}
_TEXT_FORMS = {"a": "microform", "b": "microform", "c": "microform", "d": "large print",
               "f": "braille", "o": "online", "q": "direct electronic", "s": "electronic"}
_ELECTRONIC_FORMS = {"o": "online", "q": "direct electronic", "s": "electronic"}
# RDA type codes (336 $b three letters, 337 $b one, 338 $b two): compared as codes only,
# since the terms ($a) come in the cataloguing language.
_CODE_LENGTHS = {"content_types": 3, "media_types": 1, "carrier_types": 2}


@dataclass(frozen=True)
class Carrier:
    """A record's family of resource and medium; None where the record does not say."""

    family: str | None
    medium: str | None
    record_type: str | None = None  # leader/06
    rda: tuple[frozenset[str], ...] = ()  # 336, 337, 338 codes

    @property
    def label(self) -> str:
        """The format as a facet shows it ("text/print", "video/bluray", "audio/cd")."""
        return "/".join(part for part in (self.family, self.medium) if part) or "unknown"


def conflict(a: Carrier, b: Carrier) -> bool:
    """True when two carriers are surely different: another family or type of record
    (leader/06), media that differ (a rough medium agrees with the precise ones it covers;
    an unknown one with anything), or RDA content, media or carrier types with no code in
    common."""
    if a.family and b.family and a.family != b.family:
        return True
    if a.record_type and b.record_type and a.record_type != b.record_type and not (
            {a.record_type, b.record_type} == {"a", "m"} and a.family == "text"):
        return True  # e-books catalogued as computer files are still text
    if any(x and y and not x & y for x, y in zip(a.rda, b.rda, strict=False)):
        return True
    if not a.medium or not b.medium or a.medium == b.medium:
        return False
    return not (b.medium in _COVERS.get(a.medium, ()) or a.medium in _COVERS.get(b.medium, ()))


def carrier_of(d: dict[str, Any]) -> Carrier:
    """The carrier a description states."""
    family = _family(d)
    words = _words(d)
    if family == "text":  # a recording coded as a book: its extent tells
        family = _family_by_extent(fold(d.get("extent") or "").replace("-", " ")) or family
    medium: str | None
    if family in ("text", "score", "map"):
        medium = _printed_medium(d, words)
    elif family == "video":
        medium = _video_medium(d, words)
    elif family == "audio":
        medium = _audio_medium(d, words)
    else:
        medium = _electronic(d, words)
    rda = tuple(frozenset(v for v in d.get(key) or [] if len(v) == size and v.isalpha())
                for key, size in _CODE_LENGTHS.items())
    return Carrier(family, medium, d.get("record_type"), rda)


def _family(d: dict[str, Any]) -> str | None:
    record_type = d.get("record_type")
    content = d.get("content_types") or []
    gmd = fold(d.get("gmd") or "")
    if record_type == "m" and ("txt" in content or "text" in content or "electronic" in gmd):
        return "text"  # e-books catalogued as computer files
    if record_type in _FAMILIES:
        return _FAMILIES[record_type]
    for term in content:
        if term in _CONTENT_FAMILIES:
            return _CONTENT_FAMILIES[term]
    for hint, family in (("sound", "audio"), ("video", "video"), ("motion picture", "video"),
                         ("music", "score"), ("map", "map")):
        if hint in gmd:
            return family
    return None


_EXTENT_FAMILIES = (
    ("sound disc", "audio"), ("audio disc", "audio"), ("audiocassette", "audio"),
    ("sound cassette", "audio"), ("compact disc", "audio"), ("cd aanilevy", "audio"),
    ("aanilevy", "audio"), ("ljudskiv", "audio"), ("aanikasetti", "audio"),
    ("ljudkassett", "audio"), ("videodisc", "video"), ("videocassette", "video"),
    ("dvd videolevy", "video"), ("videolevy", "video"), ("videoskiv", "video"),
    ("videokasetti", "video"), ("videokassett", "video"))


def _family_by_extent(extent: str) -> str | None:
    """The family the extent's main unit names (300 $a, not accompanying material)."""
    unit = extent.lstrip("0123456789 ")
    return next((family for name, family in _EXTENT_FAMILIES if unit.startswith(name)), None)


def _words(d: dict[str, Any]) -> str:
    """The carrier in the cataloguer's words: 245 $h, 300 $a $e, 340-347, 538."""
    parts = [d.get("gmd") or "", *(d.get("carrier_notes") or [])]
    return " " + fold(" ".join(parts)).replace("-", " ") + " "


def _first_007(d: dict[str, Any]) -> str:
    found = d.get("physical_descriptions") or []
    return str(found[0]) if found else ""


_ONLINE_WORDS = (" online resource", " verkkoaineisto", " onlineresurs", " e resurs")


def _electronic(d: dict[str, Any], words: str) -> str | None:
    """Online, direct (a disc, a card) or electronic without saying which; None if not."""
    form = d.get("form_of_item") or ""
    carrier = (d.get("carrier_types") or [""])[0]
    media = d.get("media_types") or []
    signs = (
        (_ELECTRONIC_FORMS.get(form), True),
        ("online", carrier in ("cr", "online resource")),
        ("direct electronic", carrier in ("cd", "ck", "cb", "computer disc")),
        ("online", any(w in words for w in _ONLINE_WORDS)),
        ("electronic", not carrier and bool(media) and media[0] in ("c", "computer")),
        ("electronic", "electronic resource" in words or "computer file" in words),
    )
    return next((medium for medium, holds in signs if holds and medium), None)


def _printed_medium(d: dict[str, Any], words: str) -> str:
    """Print unless something says otherwise: a cataloguer describes the exceptions."""
    form = d.get("form_of_item")
    if form in _TEXT_FORMS:
        return str(_TEXT_FORMS[form])
    carrier = (d.get("carrier_types") or [""])[0]
    first = _first_007(d)
    signs = (  # the first that holds
        (_electronic(d, words), True),
        ("microform", carrier.startswith("h") or first[:1] == "h" or "mikrof" in words
         or "microf" in words),
        ("braille", first[:1] == "f" or first[:2] == "tc" or any(
            w in words for w in (" braille", " pistekirjoitus", " punktskrift"))),
        ("large print", first[:2] == "td" or any(
            w in words for w in ("large print", "isotekstinen", " storstil"))),
        ("online", _online_only(d)),
    )
    return next((medium for medium, holds in signs if holds and medium), "print")


def _online_only(d: dict[str, Any]) -> bool:
    """A link to the resource itself (856 second indicator 0) and no physical extent."""
    extent = fold(d.get("extent") or "")
    links = [x for x in d.get("links") or [] if x.get("relationship") == "0"]
    return bool(links) and " cm" not in " " + extent and "cm." not in extent


def _video_medium(d: dict[str, Any], words: str) -> str | None:
    codes = [p for p in (d.get("physical_descriptions") or []) if p[:1] == "v"]
    formats = {p[4:5] for p in codes}
    carrier = (d.get("carrier_types") or [""])[0]
    film = any(p[:1] == "m" for p in d.get("physical_descriptions") or [])
    signs = (  # the first that holds; a Blu-ray + DVD combo pack is a Blu-ray product
        ("online", d.get("form_of_item") == "o"),  # 008 says online: the disc was its source
        ("bluray", "s" in formats or any(w in words for w in (" blu ray", " bluray",
                                                              " bd rom", " bd "))),
        ("dvd", "v" in formats or " dvd" in words),
        ("vhs", "b" in formats or " vhs" in words),
        (_electronic(d, words), True),
        ("film", film or carrier.startswith("m") or " film reel" in words),
        ("videodisc", carrier == "vd" or any(w in words for w in (
            "videodisc", "videolevy", "videoskiv")) or any(p[1:2] == "d" for p in codes)),
        ("videocassette", carrier == "vf" or any(w in words for w in (
            "videocassette", "videokasetti", "videokassett")) or any(
            p[1:2] == "f" for p in codes)),
    )
    return next((medium for medium, holds in signs if holds and medium), None)


def _audio_medium(d: dict[str, Any], words: str) -> str | None:
    codes = [p for p in (d.get("physical_descriptions") or []) if p[:1] == "s"]
    kinds = {p[1:2] for p in codes}
    carrier = (d.get("carrier_types") or [""])[0]
    daisy = " daisy" in words or "daisy" in fold(d.get("subtitle") or "") or "celia" in fold(
        d.get("publisher") or "")  # Celia: Finland's library for readers with print disabilities
    signs = (  # the first that holds
        ("online", d.get("form_of_item") == "o" and not daisy),
        ("daisy", daisy),
        ("mp3", " mp3" in words),
        ("playaway", " playaway" in words),
        (_disc(codes), True),
        ("cassette", "s" in kinds or carrier == "ss" or any(
            w in words for w in ("cassette", "kasetti", "kassett"))),
        ("reel", "t" in kinds or carrier == "st" or " tape reel" in words),
        (_disc_in_words(words), True),
        (_electronic(d, words), True),
        ("audio disc", "d" in kinds or carrier == "sd" or any(
            w in words for w in (" disc", "aanilevy", "ljudskiv"))),
    )
    return next((medium for medium, holds in signs if holds and medium), None)


def _disc(codes: list[str]) -> str | None:
    """CD or LP from 007: speed (1.4 m/s, or rpm), dimensions (4 3/4 in., or 7-12 in.)."""
    for code in codes:
        if code[1:2] != "d":
            continue
        speed, size = code[3:4], code[6:7]
        if speed == "f" or size == "g":
            return "cd"
        if speed in ("a", "b", "c", "d") or size in ("c", "d", "e"):
            return "lp"
    return None


def _disc_in_words(words: str) -> str | None:
    """CD or LP in the extent's or notes' words."""
    disc = any(w in words for w in (" disc", "aanilevy", "ljudskiv"))
    if any(w in words for w in (" cd ", " cds ", "compact disc", " cd rom")) or (
            disc and any(w in words for w in ("4 3/4 in", "12 cm", " digital"))):
        return "cd"
    if any(w in words for w in (" lp ", " lps ", " vinyl")) or (
            disc and any(w in words for w in (" rpm", "12 in", "10 in", "7 in", " analog"))):
        return "lp"
    return None
