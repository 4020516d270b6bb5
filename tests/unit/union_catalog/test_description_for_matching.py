"""What `describe` now reads for matching: leader, 007, 008 form of item and dates, 33X,
245 $h $n $p and nonfiling characters, 490/830 numbering, 773, 024, 028, 538, 856."""

from __future__ import annotations

import io

from marc_build import c, describe_fields, f, fixed, iso2709

from domain.shared.description import KEYS, describe
from infra.marc import read_marc


def test_describe_reads_carrier_parts_host_and_numbers() -> None:
    d = describe_fields([
        fixed("2012", date_type="p", date2="1942", form="o", at=29),
        c("007", "vd csaizq"),
        f("024", "1 ", "a", "883929244141"), f("028", "42", "a", "1000228374", "b", "Warner"),
        f("245", "14", "a", "The film :", "h", "[videorecording] /", "n", "Part 2,",
          "p", "The return."),
        f("264", " 1", "c", "[2012]"), f("264", " 4", "c", "©1942"),
        f("300", "  ", "a", "1 videodisc (102 min.) :", "e", "1 booklet."),
        f("336", "  ", "a", "two-dimensional moving image", "b", "tdi"),
        f("337", "  ", "b", "v"), f("338", "  ", "a", "videodisc"),
        f("490", "1 ", "a", "Classics ;", "v", "v. 12"), f("830", " 0", "a", "Classics ;",
                                                          "v", "12."),
        f("538", "  ", "a", "Blu-ray Disc."),
        f("773", "0 ", "t", "The box set", "g", "disc 2", "w", "(OCoLC)123"),
        f("856", "40", "u", "https://example.org/film"),
    ], "00000cgm a2200000 i 4500")
    assert (d["record_type"], d["bib_level"], d["form_of_item"]) == ("g", "m", "o")
    assert d["fixed_dates"] == {"type": "p", "date1": "2012", "date2": "1942"}
    assert d["physical_descriptions"] == ["vd csaizq"]
    assert (d["content_types"], d["media_types"], d["carrier_types"]) == (
        ["tdi"], ["v"], ["videodisc"])
    assert d["gmd"] == "[videorecording]"
    assert d["title_parts"] == ["Part 2", "The return"]
    assert d["title_nonfiling"] == 4
    assert d["series_numbering"] == [{"series": "Classics", "number": "v. 12"},
                                     {"series": "Classics", "number": "12"}]
    assert d["host"] == {"title": "The box set", "related_parts": "disc 2",
                         "identifiers": ["(OCoLC)123"]}
    assert d["standard_numbers"] == [{"scheme": "upc", "number": "883929244141"}]
    assert d["publisher_numbers"] == ["1000228374 Warner"]
    assert d["carrier_notes"] == ["1 videodisc (102 min.) :", "1 booklet.", "Blu-ray Disc."]
    assert d["publication_years"] == ["2012", "1942"]
    assert d["year"] == "2012"
    assert d["links"] == [{"url": "https://example.org/film", "relationship": "0"}]


def test_describe_without_a_leader_keeps_the_old_keys_and_leaves_the_new_ones_empty() -> None:
    d = describe([])
    assert set(d) == set(KEYS)
    assert d["record_type"] is None
    assert d["form_of_item"] is None
    assert d["physical_descriptions"] == []
    assert d["host"] is None


def test_the_reader_hands_the_leader_to_describe() -> None:
    raw = iso2709([fixed("1999", form="s"), f("245", "10", "a", "Online")],
                  "00000nas a2200000 a 4500")
    read = next(read_marc(io.BytesIO(raw)))
    assert read.leader is not None
    d = describe(read.fields or [], read.leader)
    assert (d["record_type"], d["bib_level"], d["form_of_item"]) == ("a", "s", "s")
