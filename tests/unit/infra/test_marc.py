"""Reading dirty MARC files: wrong leader lengths, truncation, bad encodings, bad XML."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from infra.marc import MarcFormatError, read_marc, to_marcxml

SHARED = Path(__file__).parents[2] / "data" / "marc" / "shared"  # copies of ../shared/data/marc
MARC_DAT = (SHARED / "pymarc" / "marc.dat").read_bytes()


def _read(data: bytes, fmt: str = "auto") -> list:  # type: ignore[type-arg]
    return list(read_marc(io.BytesIO(data), fmt))


def _field(read, tag: str):  # type: ignore[no-untyped-def]
    return next(f for f in read.fields if f.tag == tag)


def _title(read) -> str:  # type: ignore[no-untyped-def]
    return next(s.value for s in _field(read, "245").subfields if s.code == "a")


def test_every_shared_sample_file_reads_with_positions() -> None:
    reads = _read(MARC_DAT)
    assert len(reads) == 20
    assert all(r.fields is not None for r in reads)
    offsets = [r.offset for r in reads]
    assert offsets[0] == 0
    assert offsets == sorted(offsets)
    assert MARC_DAT[offsets[5]:offsets[5] + 5] == MARC_DAT[offsets[5]:][:5]
    assert int(MARC_DAT[offsets[5]:offsets[5] + 5]) == offsets[6] - offsets[5]
    xml = _read((SHARED / "mod-reservoir" / "record10.xml").read_bytes())
    assert [r.number for r in xml] == list(range(1, 11))
    assert all(r.fields is not None for r in xml)


def test_a_wrong_leader_length_does_not_lose_the_record_or_the_next() -> None:
    records = MARC_DAT.split(b"\x1d")[:-1]
    records[0] = b"00012" + records[0][5:]  # far too short
    records[1] = b"99999" + records[1][5:]  # far too long
    reads = _read(b"\x1d".join(records) + b"\x1d")
    assert len(reads) == 20
    assert [r.error for r in reads] == [None] * 20
    assert _title(reads[1]) == _title(_read(MARC_DAT)[1])


def test_directory_lengths_in_characters_fall_back_to_field_terminators() -> None:
    raw = (SHARED / "pymarc" / "diacritic.dat").read_bytes()
    record = _read(raw)[0]
    assert record.error is None
    base = int(raw[12:17])
    directory = bytearray(raw[24:base - 1])
    for i in range(0, len(directory), 12):  # shorten every length by one, as a char count
        length = int(directory[i + 3:i + 7]) - 1
        directory[i + 3:i + 7] = f"{length:04d}".encode()
    broken = raw[:24] + bytes(directory) + raw[base - 1:]
    again = _read(broken)[0]
    assert again.error is None
    assert _field(again, "245") == _field(record, "245")


def test_truncation_newlines_and_bad_utf8_are_reported_per_record() -> None:
    one = (SHARED / "pymarc" / "one.dat").read_bytes()
    reads = _read(one + b"\r\n" + one + b"\n" + one[:100])
    assert [r.error is None for r in reads] == [True, True, False]
    assert reads[1].offset == len(one) + 2
    assert "truncated" in (reads[2].error or "")
    bad = _read((SHARED / "pymarc" / "utf8_invalid.mrc").read_bytes())[0]
    assert bad.fields is None
    assert "field 260: subfield code '\ufffd' is not an ASCII character" in (bad.error or "")
    utf8 = (SHARED / "pymarc" / "diacritic.dat").read_bytes()
    at = utf8.index(b"Amateur media")
    broken = _read(utf8[:at] + b"\xff" + utf8[at + 1:])[0]  # same length: offsets hold
    assert broken.fields is None
    assert broken.error == ("field 245 $a: invalid UTF-8 at byte 0 of its value "
                            "(leader/09 says UTF-8)")


def test_marc8_is_converted_to_unicode() -> None:
    read = _read((SHARED / "pymarc" / "marc8.dat").read_bytes())[0]
    assert read.error is None
    assert _title(read).startswith("Escape from loneliness")


def test_malformed_xml_keeps_the_records_before_it() -> None:
    xml = (SHARED / "pymarc" / "batch.xml").read_bytes()
    cut = xml[: xml.rindex(b"<marc:record")] + b"<marc:record><marc:leader>broken</wrong>"
    reads = _read(cut)
    assert [r.error is None for r in reads] == [True, False]
    assert "malformed XML" in (reads[1].error or "")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"%PDF-1.4 ...", "neither MARC 21"),
    (b'{"leader": "x"}', "neither MARC 21"),
])
def test_files_that_are_not_marc_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(MarcFormatError, match=message):
        _read(data)


def test_asking_for_the_other_format_is_refused() -> None:
    with pytest.raises(MarcFormatError, match="marc21"):
        _read(MARC_DAT, "marcxml")


def test_originals_convert_to_marcxml() -> None:
    read = _read((SHARED / "pymarc" / "one.dat").read_bytes())[0]
    xml = to_marcxml(read.original_format, read.original)
    assert xml.startswith("<record")
    assert "ActivePerl with ASP and ADO" in xml
