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
           "videocassette": frozenset({"vhs"})}
_ELECTRONIC_FORMS = frozenset("oqs")
_TEXT_FORMS = {"a": "microform", "b": "microform", "c": "microform", "d": "large print",
               "f": "braille", "o": "electronic", "q": "electronic", "s": "electronic"}


@dataclass(frozen=True)
class Carrier:
    """A record's family of resource and medium; None where the record does not say."""

    family: str | None
    medium: str | None

    @property
    def label(self) -> str:
        """The format as a facet shows it ("text/print", "video/bluray", "audio/cd")."""
        return "/".join(part for part in (self.family, self.medium) if part) or "unknown"


def conflict(a: Carrier, b: Carrier) -> bool:
    """True when two carriers are surely different (a rough medium agrees with the
    precise ones it covers; an unknown family or medium agrees with anything)."""
    if a.family and b.family and a.family != b.family:
        return True
    if not a.medium or not b.medium or a.medium == b.medium:
        return False
    return not (b.medium in _COVERS.get(a.medium, ()) or a.medium in _COVERS.get(b.medium, ()))


def carrier_of(d: dict[str, Any]) -> Carrier:
    """The carrier a description states."""
    family = _family(d)
    words = _words(d)
    if family == "text":  # a recording coded as a book: its extent tells
        family = _family_by_extent(fold(d.get("extent") or "")) or family
    if family in ("text", "score", "map"):
        return Carrier(family, _printed_medium(d, words))
    if family == "video":
        return Carrier(family, _video_medium(d, words))
    if family == "audio":
        return Carrier(family, _audio_medium(d, words))
    return Carrier(family, "electronic" if _electronic(d, words) else None)


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


def _family_by_extent(extent: str) -> str | None:
    """The family the extent's main unit names (300 $a, not accompanying material)."""
    for unit, family in (("sound disc", "audio"), ("audio disc", "audio"),
                         ("audiocassette", "audio"), ("sound cassette", "audio"),
                         ("compact disc", "audio"), ("videodisc", "video"),
                         ("videocassette", "video")):
        if extent.lstrip("0123456789 ").startswith(unit):
            return family
    return None


def _words(d: dict[str, Any]) -> str:
    """The carrier in the cataloguer's words: 245 $h, 300 $a $e, 340-347, 538."""
    parts = [d.get("gmd") or "", *(d.get("carrier_notes") or [])]
    return " " + fold(" ".join(parts)).replace("-", " ") + " "


def _first_007(d: dict[str, Any]) -> str:
    found = d.get("physical_descriptions") or []
    return str(found[0]) if found else ""


def _electronic(d: dict[str, Any], words: str) -> bool:
    form = d.get("form_of_item")
    carriers = d.get("carrier_types") or []
    media = d.get("media_types") or []
    return bool(form in _ELECTRONIC_FORMS or (carriers and carriers[0] in ("cr", "online resource"))
                or (not carriers and media and media[0] in ("c", "computer"))
                or "electronic resource" in words or " online resource" in words)


def _printed_medium(d: dict[str, Any], words: str) -> str:
    """Print unless something says otherwise: a cataloguer describes the exceptions."""
    form = d.get("form_of_item")
    if form in _TEXT_FORMS:
        return str(_TEXT_FORMS[form])
    carrier = (d.get("carrier_types") or [""])[0]
    first = _first_007(d)
    signs = (  # the first that holds
        ("electronic", _electronic(d, words)),
        ("microform", carrier.startswith("h") or first[:1] == "h" or "microf" in words),
        ("braille", first[:1] == "f" or first[:2] == "tc" or " braille " in words),
        ("large print", first[:2] == "td" or "large print" in words),
        ("electronic", _online_only(d)),
    )
    return next((medium for medium, holds in signs if holds), "print")


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
        ("bluray", "s" in formats or any(w in words for w in (" blu ray", " bluray",
                                                              " bd rom", " bd "))),
        ("dvd", "v" in formats or " dvd" in words),
        ("vhs", "b" in formats or " vhs" in words),
        ("electronic", _electronic(d, words)),
        ("film", film or carrier.startswith("m") or " film reel" in words),
        ("videodisc", carrier == "vd" or "videodisc" in words or any(
            p[1:2] == "d" for p in codes)),
        ("videocassette", carrier == "vf" or "videocassette" in words or any(
            p[1:2] == "f" for p in codes)),
    )
    return next((medium for medium, holds in signs if holds), None)


def _audio_medium(d: dict[str, Any], words: str) -> str | None:
    codes = [p for p in (d.get("physical_descriptions") or []) if p[:1] == "s"]
    kinds = {p[1:2] for p in codes}
    carrier = (d.get("carrier_types") or [""])[0]
    signs = (  # the first that holds
        ("daisy", " daisy" in words),
        ("mp3", " mp3" in words),
        ("playaway", " playaway" in words),
        (_disc(codes), True),
        ("cassette", "s" in kinds or carrier == "ss" or "cassette" in words),
        ("reel", "t" in kinds or carrier == "st" or " tape reel" in words),
        (_disc_in_words(words), True),
        ("electronic", _electronic(d, words)),
        ("audio disc", "d" in kinds or carrier == "sd" or " disc" in words),
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
    if any(w in words for w in (" cd ", " cds ", "compact disc", " cd rom")) or (
            " disc" in words and any(w in words for w in ("4 3/4 in", "12 cm", " digital"))):
        return "cd"
    if any(w in words for w in (" lp ", " lps ", " vinyl")) or (
            " disc" in words and any(w in words for w in (" rpm", "12 in", "10 in", "7 in",
                                                          " analog"))):
        return "lp"
    return None
