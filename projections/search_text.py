"""Search text analysis, the same for what is indexed and what is asked: one fold for both.

The fold: case, diacritics ("thu vien" finds "thư viện"; đ → d), full and half width
(NFKC), and Chinese traditional → simplified character by character ("红楼梦" finds
"紅樓夢"; per character, not per phrase, so that a query and a text cut differently fold
alike). Chinese and Japanese are written without spaces between words: an indexed text
drops the spaces between two CJK characters, and a query's CJK runs become overlapping
character bigrams, so "阿Q正传" finds "阿Q正傳" and "日本の茶書" finds "日本の 茶書".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from opencc import OpenCC  # opencc-python-reimplemented: pure Python, OpenCC's tables

from domain.shared.description import fold as fold_latin

# Han (with extensions and compatibility ideographs), kana, Hangul: scripts written
# without spaces between words, searched by character bigrams.
_CJK_RANGES = ("\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
               "\uff66-\uff9f")  # the last: half-width katakana
_CJK = f"[{_CJK_RANGES}\U00020000-\U0003134f]"
_CJK_CHAR = re.compile(_CJK)
_CJK_RUN = re.compile(f"{_CJK}+")
_SPACE_BETWEEN_CJK = re.compile(f"(?<={_CJK})\\s+(?={_CJK})")
_TERM_SPLIT = re.compile(f"({_CJK}+)")
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")
_SEPARATOR = " \x1f "  # between the fields of one record's text: no match spans two
_VOICED = re.compile("[\u304c-\u3094\u30ac-\u30fa]")  # kana with (han)dakuten
_KEPT = 0xF0000  # voiced kana wait in a private-use plane while the diacritics go
_KEPT_CHAR = re.compile("[\U000f3000-\U000f30ff]")


def fold(text: str) -> str:
    """Text as it is compared: lowercase, no diacritics, one width, simplified Chinese."""
    if not _CJK_CHAR.search(text):
        return fold_latin(text)
    # Kana voicing marks are letters, not diacritics (ガ is not カ): compose them (and
    # half-width kana) first, then fold the rest; Hangul comes back composed.
    composed = unicodedata.normalize("NFKC", text)
    kept = _VOICED.sub(lambda m: chr(_KEPT + ord(m.group(0))), composed)
    folded = _KEPT_CHAR.sub(lambda m: chr(ord(m.group(0)) - _KEPT), fold_latin(kept))
    return unicodedata.normalize("NFC", folded).translate(_SimplifiedTable())


class _SimplifiedTable(dict[int, str]):
    """A str.translate table: each traditional character to its simplified form."""

    def __missing__(self, code: int) -> str:
        return _simplified(chr(code))


@functools.cache
def _simplified(char: str) -> str:
    converted = str(_converter().convert(char))
    return converted if len(converted) == 1 else char


@functools.cache
def _converter() -> OpenCC:
    return OpenCC("t2s")  # traditional to simplified; its tables load once, when first asked


def index_text(parts: Iterable[str | None]) -> str:
    """The folded text a record is searched by: its parts kept apart, and CJK characters
    that spaces separated (a title given word by word) joined."""
    folded = (fold(part) for part in parts if part)
    return _SEPARATOR.join(_SPACE_BETWEEN_CJK.sub("", part) for part in folded if part)


def index_grams(indexed: str) -> set[str]:
    """What an indexed text is looked up by when a term is too short for trigrams: its
    whole words, and each CJK character and pair of characters of its CJK runs."""
    grams: set[str] = set()
    for word in indexed.split():
        for piece in _TERM_SPLIT.split(word):
            if _CJK_RUN.fullmatch(piece):
                grams.update(piece[i:i + 2] for i in range(len(piece) - 1))
                grams.update(piece)  # a query of one character asks for it alone
            else:
                trimmed = _EDGE_PUNCTUATION.sub("", piece)
                if trimmed:
                    grams.add(trimmed)
    return grams


MAX_TERMS = 32  # a long CJK query makes many pairs; the first are selective enough


def query_terms(query: str | None) -> list[str]:
    """What a query asks for, every term to be found: its words, and each CJK run as the
    overlapping pairs of its characters (a single character alone); at most MAX_TERMS."""
    terms: list[str] = []
    for word in fold(query or "").split():
        for piece in _TERM_SPLIT.split(word):
            if _CJK_RUN.fullmatch(piece):
                pairs = [piece[i:i + 2] for i in range(len(piece) - 1)] or [piece]
                terms += [pair for pair in pairs if pair not in terms]
            else:
                trimmed = _EDGE_PUNCTUATION.sub("", piece)
                if trimmed and trimmed not in terms:
                    terms.append(trimmed)
    return terms[:MAX_TERMS]


def has_cjk(text: str) -> bool:
    """True when the text has a character of a script written without spaces."""
    return _CJK_CHAR.search(text) is not None


def is_cjk(char: str) -> bool:
    """True for a character of a script written without spaces (Han, kana, Hangul)."""
    return _CJK_CHAR.fullmatch(char) is not None
