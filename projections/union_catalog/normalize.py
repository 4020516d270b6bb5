"""How the values a matcher compares are normalized: identifiers to one form, titles,
names, publishers, extents, editions and part numbers to comparable tokens."""

from __future__ import annotations

import re
import unicodedata

from domain.shared.description import isbn_forms, normalize_isbn
from projections.search_text import fold, has_cjk, is_cjk

_OCLC_PREFIXES = ("(ocolc)", "(ocolc-m)")
_OCLC_BARE = re.compile(r"^(?:ocm|ocn|on)\s*0*([0-9]+)$")
_PREFIXED = re.compile(r"^\(([^)]+)\)\s*(.+)$")
_NON_WORD = re.compile(r"[^\w]+")
_YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})")


def isbn13(value: str) -> str | None:
    """An ISBN as ISBN-13 (ISBN-10s converted; the check digit recomputed), or None."""
    isbn = normalize_isbn(value)
    if isbn is None:
        return None
    forms = isbn_forms(isbn)
    thirteen = [form for form in forms if len(form) == 13]
    return thirteen[0] if thirteen else None


def issn(value: str) -> str | None:
    """An ISSN as eight characters without the hyphen, or None."""
    compact = re.sub(r"[^0-9Xx]", "", value).upper()
    return compact[:8] if len(compact) >= 8 and compact[:7].isdigit() else None


def lccn(value: str) -> str | None:
    """An LCCN normalized as the Library of Congress does: blanks and any revision
    suffix dropped, the serial part after a hyphen padded to six digits."""
    text = value.split("/", maxsplit=1)[0].replace(" ", "").lower()
    if "-" in text:
        head, _, serial = text.partition("-")
        if serial.isdigit():
            text = head + serial.zfill(6)
    return text or None


def oclc(value: str) -> str | None:
    """The OCLC number a 035 carries ("(OCoLC)ocm00012345", "ocn123"), or None."""
    text = value.strip().lower()
    for prefix in _OCLC_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
            break
    else:
        if text.startswith("("):
            return None
    bare = _OCLC_BARE.match(text)
    if bare:
        return bare.group(1)
    return text.lstrip("0") if text.isdigit() and value.strip().startswith("(") else None


def system_number(value: str) -> str | None:
    """Another system's number with its prefix ("(DE-101)12345" → "de-101:12345"); a
    number without a prefix says nothing outside its own catalog, so None."""
    match = _PREFIXED.match(value.strip())
    if match is None:
        return None
    number = re.sub(r"\s+", "", match.group(2)).lower()
    return f"{match.group(1).strip().lower()}:{number}" if number else None


def url(value: str) -> str | None:
    """A link as compared: without scheme, "www.", a proxy's prefix or a trailing slash."""
    text = value.strip()
    if "url=" in text:
        text = text.split("url=", 1)[1]
    text = re.sub(r"^[a-z]+://", "", text.lower()).removeprefix("www.").rstrip("/")
    return text or None


# Initial articles by language (008/35-37), dropped when 245 ind2 does not say how many
# characters to skip; English's apply when the language is unknown.
_ARTICLES = {
    "eng": ("the", "a", "an"), "fre": ("le", "la", "les", "l", "un", "une"),
    "ger": ("der", "die", "das", "ein", "eine"), "spa": ("el", "la", "los", "las", "un", "una"),
    "ita": ("il", "lo", "la", "i", "gli", "le", "l", "un", "uno", "una"),
    "por": ("o", "a", "os", "as", "um", "uma"), "dut": ("de", "het", "een"),
    "swe": ("en", "ett", "den", "det"), "dan": ("en", "et", "den", "det"),
    "nor": ("en", "et", "ei", "den", "det"),
}


def tokens(text: str | None) -> tuple[str, ...]:
    """Folded words ("&" as "and"); each CJK character a token of its own."""
    if not text:
        return ()
    folded = fold(text).replace("&", " and ")
    if not has_cjk(folded):
        return tuple(word for word in _NON_WORD.split(folded) if word)
    out: list[str] = []
    for word in _NON_WORD.split(folded):
        if not word:
            continue
        if any(is_cjk(c) for c in word):
            out += _split_cjk(word)
        else:
            out.append(word)
    return tuple(out)


def _split_cjk(word: str) -> list[str]:
    out, latin = [], ""
    for char in word:
        if is_cjk(char):
            if latin:
                out.append(latin)
                latin = ""
            out.append(char)
        else:
            latin += char
    if latin:
        out.append(latin)
    return out


def title_tokens(text: str | None, language: str | None, nonfiling: int | None) -> tuple[
        str, ...]:
    """A title's tokens without its initial article (by 245 ind2 when it counts one)."""
    if not text:
        return ()
    if nonfiling and 0 < nonfiling < len(text):
        return tokens(text[nonfiling:]) or tokens(text)
    found = tokens(text)
    articles = _ARTICLES.get(language or "eng", ())
    if len(found) > 1 and found[0] in articles:
        return found[1:]
    return found


def script_of(text_tokens: tuple[str, ...]) -> str:
    """The script a title is written in, roughly: cjk, latin or another (by name)."""
    if all(token.isascii() for token in text_tokens):
        return "latin"  # most titles: no character to look up
    for token in text_tokens:
        for char in token:
            if is_cjk(char):
                return "cjk"
            if char.isalpha() and not char.isascii():
                return unicodedata.name(char, "OTHER").split()[0].lower()
    return "latin"


def name_key(name: str | None, personal: bool) -> str | None:
    """A name as matched: a person's surname (before the comma), a body's first words."""
    if not name:
        return None
    head = name.split(",")[0] if personal else name
    found = tokens(head)
    if not found:
        return None
    return " ".join(found[:2]) if personal else " ".join(found[:3])


_PUBLISHER_NOISE = frozenset({
    "the", "and", "inc", "ltd", "llc", "co", "company", "corp", "corporation", "press",
    "publisher", "publishers", "publishing", "pub", "publ", "books", "book", "verlag",
    "editions", "edition", "editorial", "editore", "editori", "forlag", "förlag", "gmbh",
    "ag", "sa", "s", "a", "limited", "group", "house", "of", "pty", "plc", "et", "cie",
})


def publisher_tokens(text: str | None) -> frozenset[str]:
    """A publisher's distinctive words ("Angus & Robertson," → {angus, robertson})."""
    return frozenset(t for t in tokens(text) if t not in _PUBLISHER_NOISE)


_PAGES = re.compile(r"(\d+)\s*(?:p\b|pp\b|pages?\b|leaves\b|s\.|s\b|sider|sidor|seiten|sivua|"
                    r"sivu|стр|页|頁)")
_VOLUMES = re.compile(r"(\d+)\s*(?:v\b|vol|volumes?\b|bd|bande|band|nidetta|osaa|delar)")
_MINUTES = re.compile(r"(\d+)\s*(?:min)")


def extent_numbers(extent: str | None) -> tuple[int | None, int | None]:
    """The pages (or minutes) and volumes an extent states, when it states them."""
    if not extent:
        return None, None
    text = fold(extent)
    pages = [int(n) for n in _PAGES.findall(text)] or [int(n) for n in _MINUTES.findall(text)]
    volumes = [int(n) for n in _VOLUMES.findall(text)]
    return (max(pages) if pages else None), (max(volumes) if volumes else None)


_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "erste": 1,
    "zweite": 2, "dritte": 3, "vierte": 4, "funfte": 5, "premiere": 1, "deuxieme": 2,
    "troisieme": 3, "forsta": 1, "andra": 2, "tredje": 3, "fjarde": 4, "primera": 1,
    "segunda": 2, "tercera": 3, "prima": 1, "seconda": 2, "terza": 3, "ensimmainen": 1,
    "toinen": 2, "kolmas": 3, "neljas": 4, "viides": 5, "femte": 5, "one": 1, "two": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_ROMAN = re.compile(r"^(?=[ivxlc]+$)(c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_EDITION_WORDS = frozenset({
    "ed", "edition", "edn", "aufl", "auflage", "uppl", "upplagan", "upplaga", "utg",
    "utgave", "utgava", "druk", "laitos", "edicion", "edizione", "wyd", "wydanie", "izd", "print",
    "printing", "the", "and", "new", "版", "第", "次", "opl", "oplag", "painos", "p",
})
_EDITION_ALIASES = {"rev": "revised", "enl": "enlarged", "corr": "corrected",
                    "exp": "expanded", "augm": "enlarged", "uud": "revised",
                    "uudistettu": "revised", "omarb": "revised", "omarbetade": "revised",
                    "reviderade": "revised", "laaj": "enlarged", "laajennettu": "enlarged",
                    "utok": "enlarged", "utokade": "enlarged"}


def edition_key(statement: str | None) -> str | None:
    """An edition statement as compared: its number ("2nd ed." → "2", "Second edition" →
    "2", "第2版" → "2") or its distinctive words ("Rev. ed." → "revised")."""
    if not statement:
        return None
    found = tokens(statement)
    numbered = len(found) == 1 or any(t in _EDITION_WORDS for t in found)
    for i, token in enumerate(found):
        if token in _ORDINALS and numbered:
            return str(_ORDINALS[token])
        number = re.match(r"^(\d+)(?:st|nd|rd|th|e|er|re|eme|a|o)?$", token)
        if number and (numbered or (i > 0 and found[i - 1] == "第")):
            return str(int(number.group(1)))
    words = sorted({_EDITION_ALIASES.get(t, t) for t in found if t not in _EDITION_WORDS})
    return " ".join(words) or None


_PART_NOISE = frozenset({
    "vol", "volume", "volumes", "v", "bd", "band", "t", "tome", "tomo", "part", "pt",
    "partie", "parte", "teil", "del", "deel", "osa", "no", "nr", "number", "numero", "num",
    "book", "bk", "livre", "libro", "heft", "fasc", "fascicle", "fascicule", "vyp", "kn",
    "kniga", "chast", "the", "nide", "nid", "vihko", "kirja", "hafte", "bind",
    "第", "卷", "册", "冊", "部", "编", "辑", "集", "巻",  # 上 中 下 name parts: kept
})
_WORD_NUMBERS = {**_ORDINALS, "eleven": 11, "twelve": 12,
                 **{c: i + 1 for i, c in enumerate("一二三四五六七八九十")}}


def part_key(value: str | None) -> str | None:
    """A part or volume designation as compared ("Vol. 2", "v. II", "Part two" → "2"; a
    named part keeps its words)."""
    if not value:
        return None
    out = []
    for token in tokens(value):
        if token in _PART_NOISE:
            continue
        if token.isdigit():
            out.append(str(int(token)))
        elif token in _WORD_NUMBERS:
            out.append(str(_WORD_NUMBERS[token]))
        elif _ROMAN.match(token):
            out.append(str(_roman(token)))
        else:
            out.append(token)
    return " ".join(out) or None


def _roman(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
    total = 0
    for i, char in enumerate(text):
        value = values[char]
        total += -value if i + 1 < len(text) and values[text[i + 1]] > value else value
    return total


_BINDINGS = (("epub", "epub"), ("pdf", "pdf"), ("mobi", "mobi"), ("kindle", "mobi"),
             ("hft", "paperback"), ("haftad", "paperback"), ("mjuka", "paperback"),
             ("nid", "paperback"), ("paperback", "paperback"), ("pbk", "paperback"),
             ("pehmeakantinen", "paperback"), ("softcover", "paperback"), ("pb", "paperback"),
             ("hard", "hardcover"), ("harda", "hardcover"), ("kovakantinen", "hardcover"),
             ("sid", "hardcover"), ("inb", "hardcover"), ("hbk", "hardcover"),
             ("hc", "hardcover"), ("cloth", "hardcover"), ("hb", "hardcover"))


def binding(qualifier: str | None) -> str | None:
    """The binding or file format an ISBN's qualifier names ("pbk." → paperback; "sid." →
    hardcover; "EPUB"), or None ("alk. paper", "v. 1", "set")."""
    words = tokens(qualifier)
    if not words:
        return None
    if any(w in ("epub", "pdf", "mobi", "kindle") for w in words):
        return next(kind for name, kind in _BINDINGS if name in words)
    return next((kind for name, kind in _BINDINGS if words[0].startswith(name)), None)


def years_in(text: str | None) -> list[str]:
    """The four-digit years a date statement names."""
    return _YEAR.findall(text or "")
