"""The union catalog's matcher, rule by rule, on MARC records built as libraries make them."""

from __future__ import annotations

from typing import Any

import pytest
from marc_build import BOOK, c, describe_fields, f, fixed, iso2709, read_back

from infra.marc import MarcField
from projections.union_catalog.matching import Match, compare, match_keys, profile

SPOKEN = "00000nim a2200000 i 4500"
VIDEO = "00000ngm a2200000 i 4500"
MUSIC = "00000njm a2200000 i 4500"
SERIAL = "00000nas a2200000 a 4500"


def _record(*fields: MarcField, leader: str = BOOK) -> dict[str, Any]:
    return describe_fields(list(fields), leader)


def _match(a: dict[str, Any], b: dict[str, Any]) -> Match:
    pa, pb = profile("lib1:a", a), profile("lib2:b", b)
    assert match_keys(pa) & match_keys(pb), "the keys should make them candidates"
    forward, backward = compare(pa, pb), compare(pb, pa)
    assert forward == backward, "a decision must not depend on which record came first"
    return forward


def _tyranny(*extra: MarcField, leader: str = BOOK, isbn: str | None = "9780804190114",
             publication: MarcField | None = None, title: MarcField | None = None,
             form: str = " ", year: str = "2017") -> dict[str, Any]:
    fields = [fixed(year, form=form)]
    if isbn:
        fields.append(f("020", "  ", "a", isbn))
    fields += [f("100", "1 ", "a", "Snyder, Timothy,", "e", "author."),
               title or f("245", "10", "a", "On tyranny :",
                          "b", "twenty lessons from the twentieth century /",
                          "c", "Timothy Snyder."),
               publication or f("264", " 1", "a", "New York :", "b", "Tim Duggan Books,",
                                "c", f"[{year}]"),
               f("300", "  ", "a", "126 pages ;", "c", "16 cm"), *extra]
    return _record(*fields, leader=leader)


# --- must cluster -------------------------------------------------------------------------

def test_match_isbn10_and_isbn13_of_one_edition() -> None:
    found = _match(_tyranny(isbn="9780804190114"), _tyranny(isbn="0-8041-9011-9 (pbk.)"))
    assert found.accepted
    assert "isbn:9780804190114" in found.reasons


def test_match_260_and_264_publication_statements() -> None:
    old = f("260", "  ", "a", "New York :", "b", "Tim Duggan Books,", "c", "c2017.")
    found = _match(_tyranny(isbn=None), _tyranny(isbn=None, publication=old))
    assert found.accepted
    assert {"publisher", "year 2017"} <= set(found.reasons)


@pytest.mark.parametrize("title", [
    f("245", "10", "a", "ON TYRANNY:", "b", "TWENTY LESSONS FROM THE TWENTIETH CENTURY"),
    f("245", "10", "a", "On tyranny"),  # the subtitle left out
    f("245", "10", "a", "On tyranny : twenty lessons from the twentieth century"),  # all in $a
    f("245", "10", "a", "On tyránny", "b", "twenty lessons from the twentieth century."),
    f("245", "10", "a", "On tyranny :", "b", "20 lessons from the 20th century"),
    f("245", "10", "a", "On tyranny :", "b", "lessons for today"),  # all else agrees
])
def test_match_title_case_punctuation_diacritics_and_subtitle_differences(
        title: MarcField) -> None:
    assert _match(_tyranny(isbn=None), _tyranny(isbn=None, title=title)).accepted


def test_match_initial_article_skipped_by_indicator_or_by_language() -> None:
    a = _record(fixed("1937"), f("100", "1 ", "a", "Wall, Dorothy."),
                f("245", "14", "a", "The adventures of Blinky Bill"),
                f("260", "  ", "a", "Sydney :", "b", "Angus & Robertson,", "c", "1937."))
    b = _record(fixed("1937"), f("100", "1 ", "a", "Wall, Dorothy,", "d", "1894-1942."),
                f("245", "10", "a", "Adventures of Blinky Bill"),
                f("260", "  ", "a", "Sydney :", "b", "Angus and Robertson,", "c", "1937."))
    assert _match(a, b).accepted


def test_match_record_with_identifiers_and_record_without() -> None:
    bare = _tyranny(isbn=None)
    full = _tyranny(c("001", "ocn958373097"), f("010", "  ", "a", "2016059000"),
                    f("035", "  ", "a", "(OCoLC)958373097"))
    found = _match(bare, full)
    assert found.accepted
    assert not [r for r in found.reasons if r.startswith(("isbn:", "oclc:", "lccn:"))]


def test_match_marc8_and_utf8_originals_of_one_record() -> None:
    fields = [fixed("2019", lang="vie"), f("100", "1 ", "a", "Nguyễn, Văn An."),
              f("245", "10", "a", "Lịch sử thư viện Việt Nam :", "b", "từ khởi đầu đến nay"),
              f("260", "  ", "a", "Hà Nội :", "b", "Đại học Quốc gia,", "c", "2019."),
              f("300", "  ", "a", "312 tr. ;", "c", "24 cm.")]
    utf8_leader, utf8 = read_back(iso2709(fields))
    marc8_leader, marc8 = read_back(iso2709(fields, as_marc8=True))
    assert utf8_leader[9] == "a"
    assert marc8_leader[9] == " "
    found = _match(describe_fields(utf8, utf8_leader), describe_fields(marc8, marc8_leader))
    assert found.accepted
    assert "title exact" in found.reasons


def test_match_880_alternate_script_on_one_side_only() -> None:
    common = [fixed("1982", lang="chi"), f("100", "1 ", "6", "880-01", "a", "Cao, Xueqin,")]
    romanized = _record(*common, f("245", "10", "6", "880-02", "a", "Hong lou meng /"),
                        f("260", "  ", "a", "Beijing :", "b", "Ren min wen xue chu ban she,",
                          "c", "1982."),
                        f("880", "1 ", "6", "100-01/$1", "a", "曹雪芹,"),
                        f("880", "10", "6", "245-02/$1", "a", "紅樓夢 /"))
    plain = _record(*common, f("245", "10", "a", "Hong lou meng"),
                    f("260", "  ", "a", "Beijing :", "b", "Ren min wen xue chu ban she,",
                      "c", "1982."))
    vernacular = _record(fixed("1982", lang="chi"), f("100", "1 ", "a", "曹雪芹"),
                         f("245", "10", "a", "红楼梦"),
                         f("260", "  ", "a", "北京 :", "b", "人民文学出版社,", "c", "1982."))
    assert _match(romanized, plain).accepted
    found = _match(romanized, vernacular)  # simplified in 245 against traditional in 880
    assert found.accepted
    assert "title exact" in found.reasons


# --- must not cluster -----------------------------------------------------------------------

@pytest.mark.parametrize("other", [
    _tyranny(isbn="9780804190121", form="o"),  # 008/23 online
    _tyranny(f("337", "  ", "b", "c"), f("338", "  ", "b", "cr"), isbn=None),  # RDA carrier
    _tyranny(isbn=None, title=f("245", "10", "a", "On tyranny", "h", "[electronic resource] :",
                                "b", "twenty lessons from the twentieth century")),  # GMD
    _tyranny(c("007", "sd fsngnnmmned"), isbn="9781524781132", leader=SPOKEN),  # audiobook
    _tyranny(isbn="9781432845216", form="d"),  # large print
])
def test_no_match_between_print_and_other_carriers(other: dict[str, Any]) -> None:
    found = _match(_tyranny(isbn=None), other)
    assert not found.accepted
    assert found.veto is not None
    assert found.veto.startswith("carrier")


def test_no_match_ebook_carrying_print_isbn_in_z() -> None:
    ebook = _tyranny(f("020", "  ", "z", "9780804190114"), f("338", "  ", "b", "cr"),
                     isbn="9780804190121")
    found = _match(_tyranny(), ebook)
    assert not found.accepted
    assert found.veto is not None
    assert found.veto.startswith("carrier")


def _casablanca(code: str | None, note: str, upc: str) -> dict[str, Any]:
    fields = [fixed("2012", at=29), f("024", "1 ", "a", upc)]
    if code:
        fields.append(c("007", code))
    fields += [f("245", "10", "a", "Casablanca"),
               f("264", " 1", "a", "Burbank, CA :", "b", "Warner Home Video,", "c", "2012."),
               f("300", "  ", "a", "1 videodisc (102 min.) : sound, black and white ; "
                 "4 3/4 in."), f("538", "  ", "a", note)]
    return _record(*fields, leader=VIDEO)


def test_no_match_dvd_and_bluray_of_one_film() -> None:
    dvd = _casablanca("vd cvaizq", "DVD, region 1", "883929244158")
    bluray = _casablanca("vd csaizq", "Blu-ray Disc", "883929244141")
    bluray_by_note = _casablanca(None, "Blu-ray Disc; region A", "883929244141")
    assert _match(dvd, bluray).veto == "carrier video/dvd vs video/bluray"
    assert not _match(dvd, bluray_by_note).accepted
    assert _match(bluray, bluray_by_note).accepted


@pytest.mark.parametrize(("code", "extent", "medium"), [
    ("sd fsngnnmmned", "1 audio disc : digital ; 4 3/4 in.", "cd"),
    ("sd bsmennmplue", "1 audio disc : analog, 33 1/3 rpm ; 12 in.", "lp"),
    ("ss lsnjlcmpnue", "1 audiocassette : analog.", "cassette"),
])
def test_no_match_between_cd_lp_and_cassette(code: str, extent: str, medium: str) -> None:
    def album(code: str | None, extent: str) -> dict[str, Any]:
        fields = [fixed("1997"), *([c("007", code)] if code else []),
                  f("100", "1 ", "a", "Davis, Miles."), f("245", "10", "a", "Kind of blue"),
                  f("260", "  ", "a", "New York :", "b", "Columbia/Legacy,", "c", "p1997."),
                  f("300", "  ", "a", extent)]
        return _record(*fields, leader=MUSIC)

    mine = album(code, extent)
    others = [("sd fsngnnmmned", "1 audio disc : digital ; 4 3/4 in."),
              ("sd bsmennmplue", "1 audio disc : analog, 33 1/3 rpm ; 12 in."),
              ("ss lsnjlcmpnue", "1 audiocassette : analog.")]
    for other_code, other_extent in others:
        found = _match(mine, album(other_code, other_extent))
        assert found.accepted == (other_code == code)
        assert _match(mine, album(None, other_extent)).accepted == (other_code == code), \
            f"{medium} from the extent's words alone"


def _volume(*parts: str, isbn: str = "9780824720759") -> dict[str, Any]:
    title = ["a", "Encyclopedia of library and information science."]
    for part in parts:
        title += ["n" if part[:1].lower() in "vp0123456789" else "p", part]
    return _record(fixed("2003"), f("020", "  ", "a", isbn + " (set)"), f("245", "00", *title),
                   f("250", "  ", "a", "2nd ed."),
                   f("260", "  ", "a", "New York :", "b", "Marcel Dekker,", "c", "2003."))


def test_no_match_different_volumes_sharing_the_set_isbn() -> None:
    assert _match(_volume("Vol. 1"), _volume("v. 1")).accepted
    assert _match(_volume("Volume II"), _volume("Vol. 2")).accepted
    found = _match(_volume("Vol. 1"), _volume("Vol. 2"))
    assert not found.accepted
    assert found.veto == "part 1 vs 2"
    assert _match(_volume(), _volume("Vol. 1")).veto == "part (whole) vs 1"
    assert not _match(_volume("Part 3", "Letters"), _volume("Part 3", "Diaries")).accepted
    in_title = _record(fixed("2003"), f("020", "  ", "a", "9780824720759 (set)"),
                       f("245", "00", "a", "Encyclopedia of library and information science. "
                         "Vol. 1"), f("250", "  ", "a", "2nd ed."),
                       f("260", "  ", "a", "New York :", "b", "Marcel Dekker,", "c", "2003."))
    assert _match(_volume("Vol. 1"), in_title).accepted  # the part written into $a
    assert not _match(_volume("Vol. 2"), in_title).accepted


def test_no_match_different_numbers_in_one_series_490_830() -> None:
    def handbook(number: str, tag: str = "490") -> dict[str, Any]:
        return _record(fixed("1978"), f("245", "10", "a", "Handbook of North American Indians"),
                       f("260", "  ", "a", "Washington :", "b", "Smithsonian Institution,",
                         "c", "1978."),
                       f(tag, "1 " if tag == "490" else " 0",
                         "a", "Handbook of North American Indians ;", "v", number))

    assert _match(handbook("v. 8"), handbook("vol. 8", "830")).accepted
    found = _match(handbook("v. 8"), handbook("v. 15"))
    assert not found.accepted
    assert found.veto == "series number 8 vs 15"


def test_no_match_component_and_its_host_773() -> None:
    host = _record(fixed("1990"), f("100", "1 ", "a", "Beethoven, Ludwig van."),
                   f("245", "10", "a", "Symphony no. 5 ;", "b", "Egmont overture"),
                   f("260", "  ", "a", "Hamburg :", "b", "Deutsche Grammophon,", "c", "1990."),
                   leader=MUSIC)
    track = _record(fixed("1990"), f("100", "1 ", "a", "Beethoven, Ludwig van."),
                    f("245", "10", "a", "Symphony no. 5"),
                    f("260", "  ", "a", "Hamburg :", "b", "Deutsche Grammophon,", "c", "1990."),
                    f("773", "0 ", "t", "Symphony no. 5 ; Egmont overture", "g", "track 1-4"),
                    leader="00000nja a2200000 i 4500")
    found = _match(host, track)
    assert not found.accepted
    assert found.veto == "bibliographic level m vs a"  # leader/07 says it first
    track["bib_level"] = None  # a record whose leader says nothing: 773 alone tells
    assert _match(host, track).veto == "component vs host"


def test_no_match_different_editions_250() -> None:
    def cookbook(edition: str | None, isbn: str | None) -> dict[str, Any]:
        return _record(fixed("2005"), *([f("020", "  ", "a", isbn)] if isbn else []),
                       f("100", "1 ", "a", "Martelli, Alex."),
                       f("245", "10", "a", "Python cookbook"),
                       *([f("250", "  ", "a", edition)] if edition else []),
                       f("260", "  ", "a", "Sebastopol, CA :", "b", "O'Reilly,", "c", "2005."))

    assert _match(cookbook("2nd ed.", None), cookbook("Second edition.", None)).accepted
    found = _match(cookbook("2nd ed.", None), cookbook("3rd ed.", None))
    assert found.veto == "edition 2 vs 3"
    assert _match(cookbook("Rev. ed.", None), cookbook("Revised edition.", None)).accepted
    assert _match(cookbook("Nouv. éd.", None), cookbook("Nouvelle édition", None)).accepted
    assert _match(cookbook("Rev. ed.", None), cookbook("Abridged ed.", None)).veto == (
        "edition revised vs abridged")


def test_no_match_different_years_and_reprints() -> None:
    first = _tyranny(isbn=None)
    reprint = _tyranny(isbn=None, year="2021")
    found = _match(first, reprint)
    assert found.veto == "year 2017 vs 2021"
    with_copyright = _tyranny(f("264", " 4", "c", "©2017"), isbn=None, year="2018")
    assert with_copyright["publication_years"] == ["2018", "2017"]


def test_no_match_ebook_isbn_of_other_edition_in_z_is_weak_evidence_only() -> None:
    second = _record(fixed("2009"), f("020", "  ", "a", "9780262033848"),
                     f("020", "  ", "z", "9780262032933"),
                     f("100", "1 ", "a", "Cormen, Thomas H."),
                     f("245", "10", "a", "Introduction to algorithms"))
    first = _record(fixed("2001"), f("020", "  ", "a", "9780262032933"),
                    f("100", "1 ", "a", "Cormen, Thomas H."),
                    f("245", "10", "a", "Introduction to algorithms"))
    assert not _match(second, first).accepted


def test_no_match_monograph_and_serial() -> None:
    def proceedings(leader: str) -> dict[str, Any]:
        return _record(fixed("1997"), f("245", "00", "a", "Proceedings of the Perl Conference"),
                       f("260", "  ", "a", "Sebastopol, CA :", "b", "O'Reilly,", "c", "1997."),
                       leader=leader)

    assert _match(proceedings(BOOK), proceedings(BOOK)).accepted
    assert _match(proceedings(BOOK), proceedings(SERIAL)).veto == "serial vs monograph"


def test_no_match_same_main_title_with_different_subtitles_and_extents() -> None:
    def perl(subtitle: str, pages: str) -> dict[str, Any]:
        return _record(fixed("1999"), f("100", "1 ", "a", "Brown, Martin C."),
                       f("245", "10", "a", "Perl :", "b", subtitle),
                       f("260", "  ", "a", "Berkeley :", "b", "Osborne/McGraw-Hill,",
                         "c", "c1999."), f("300", "  ", "a", pages))

    assert not _match(perl("programmer's reference", "xix, 380 p."),
                      perl("the complete reference", "xxxv, 1179 p.")).accepted


def test_components_of_one_host_match_however_their_place_is_written() -> None:
    def article(place: str, title: str = "Kirjastot ja tekoäly") -> dict[str, Any]:
        return _record(fixed("2019", lang="fin"), f("100", "1 ", "a", "Virtanen, Aino."),
                       f("245", "10", "a", title),
                       f("773", "0 ", "t", "Signum", "g", place, "x", "0355-0036"),
                       leader="00000naa a2200000 i 4500")

    assert _match(article("Vol. 52, no. 3 (2019), s. 10-14"),
                  article("52 (2019) : 3, s. 10-14")).accepted
    found = _match(article("Vol. 52, no. 3 (2019), s. 10-14"),
                   article("Vol. 52, no. 4 (2019), s. 10-14"))
    assert found.veto == "another place in the host"


def test_a_brief_record_matches_on_exact_title_and_author_when_nothing_else_compares() -> None:
    brief = _record(f("100", "1 ", "a", "Snyder, Timothy"),
                    f("245", "10", "a", "On tyranny :", "b",
                      "twenty lessons from the twentieth century"))
    found = _match(brief, _tyranny())
    assert found.accepted
    assert "nothing else to compare" in found.reasons
    other_author = _record(f("100", "1 ", "a", "Smith, Jane"),
                           f("245", "10", "a", "On tyranny :", "b",
                             "twenty lessons from the twentieth century"))
    assert not compare(profile("lib1:a", other_author), profile("lib2:b", _tyranny())).accepted


def test_no_match_for_a_longer_title_that_only_starts_like_another() -> None:
    def book(title: str) -> dict[str, Any]:
        return _record(fixed("2002"), f("100", "1 ", "a", "Christopher, Thomas W."),
                       f("245", "10", "a", title),
                       f("260", "  ", "a", "Upper Saddle River, NJ :", "b", "Prentice Hall,",
                         "c", "2002."))

    assert not _match(book("Python programming"), book("Python programming patterns")).accepted
    assert _match(book("Python programming"), book("Python programming : patterns")).accepted


def test_no_match_with_a_deleted_record() -> None:
    deleted = _tyranny(leader="00000dam a2200000 i 4500")
    assert deleted["record_status"] == "d"
    assert _match(_tyranny(), deleted).veto == "deleted record"


def test_an_edition_statement_on_one_side_only_needs_the_rest_to_agree() -> None:
    def cookbook(edition: str | None, pages: str | None) -> dict[str, Any]:
        return _record(fixed("2005"), f("100", "1 ", "a", "Martelli, Alex."),
                       f("245", "10", "a", "Python cookbook"),
                       *([f("250", "  ", "a", edition)] if edition else []),
                       f("260", "  ", "a", "Sebastopol, CA :", "b", "O'Reilly,", "c", "2005."),
                       *([f("300", "  ", "a", pages)] if pages else []))

    found = _match(cookbook("2nd ed.", None), cookbook(None, None))
    assert not found.accepted
    assert "edition on one side" in found.reasons
    assert _match(cookbook("2nd ed.", "807 p."), cookbook(None, "807 pages")).accepted
    assert _match(cookbook("1st ed.", None), cookbook(None, None)).accepted
