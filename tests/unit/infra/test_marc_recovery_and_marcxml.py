"""A record whose leader lies about its base address is still read when its directory can be
found; MARCXML is written as characters, with leader/09 `a`."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pymarc

from infra.marc import MARCXML, read_marc, to_marcxml

SHARED = Path(__file__).parents[2] / "data" / "marc" / "shared"
ONE = (SHARED / "pymarc" / "one.dat").read_bytes()


def _with_base(record: bytes, base: int) -> bytes:
    return record[:12] + f"{base:05d}".encode() + record[17:]


def _short_008(record: pymarc.Record) -> bytes:
    """The record as ISO 2709 with an 18-character 008, as upei_short_008.mrc has."""
    record.remove_fields("008")
    record.add_ordered_field(pymarc.Field(tag="008", data="950123 1984    pic"))
    raw: bytes = record.as_marc()
    return raw


def _title(read) -> str:  # type: ignore[no-untyped-def]
    field = next(f for f in read.fields if f.tag == "245")
    return str(next(s.value for s in field.subfields if s.code == "a"))


def test_wrong_base_address_inside_the_directory_is_recovered() -> None:
    [original] = list(read_marc(io.BytesIO(ONE)))
    [read] = list(read_marc(io.BytesIO(_with_base(ONE, 157))))  # as upei_short_008.mrc
    assert read.error is None
    assert _title(read) == _title(original)
    assert [f.tag for f in read.fields] == [f.tag for f in original.fields]


def test_wrong_base_address_past_the_record_and_a_short_008_are_recovered() -> None:
    record = next(pymarc.MARCReader(io.BytesIO(ONE)))
    raw = _short_008(record)
    [read] = list(read_marc(io.BytesIO(_with_base(raw, 99999))))
    assert read.error is None
    assert next(f.data for f in read.fields if f.tag == "008") == "950123 1984    pic"


def test_unrecoverable_directory_names_the_leader() -> None:
    raw = bytearray(_with_base(ONE, 157))
    raw[30] = 0x1E  # a terminator inside the first entries: no whole directory before it
    [read] = list(read_marc(io.BytesIO(bytes(raw))))
    assert read.fields is None
    assert read.error is not None
    assert "leader/12-16: base address 157" in read.error


def test_marcxml_writes_characters_and_leader_09_a() -> None:
    marc8 = (SHARED / "pymarc" / "marc8.dat").read_bytes()
    reads = list(read_marc(io.BytesIO(marc8)))
    assert reads[0].original_format == "marc21"
    for read in reads:
        xml = to_marcxml(read.original_format, read.original)
        assert "&#" not in xml
        leader = re.search(r"<leader>(.{24})</leader>", xml)
        assert leader is not None
        assert leader.group(1)[9] == "a"
    texts = "".join(to_marcxml(r.original_format, r.original) for r in reads)
    assert re.search(r"[^\x00-\x7f]", texts)  # the diacritics, as characters


def test_marcxml_kept_with_references_is_written_anew() -> None:
    [read] = list(read_marc(io.BytesIO(ONE)))
    fresh = to_marcxml(read.original_format, read.original)
    leader = re.search(r"<leader>(.{24})</leader>", fresh)
    assert leader is not None
    old_leader = leader.group(1)[:9] + " " + leader.group(1)[10:]
    kept = fresh.replace(leader.group(1), old_leader).replace("Perl", "P&#233;rl")
    again = to_marcxml(MARCXML, kept)
    assert "&#" not in again
    assert "Pérl" in again
    assert f"<leader>{leader.group(1)}</leader>" in again
    assert to_marcxml(MARCXML, fresh) == fresh  # already right: kept as it is
