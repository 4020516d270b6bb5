"""Reading MARC 21 files as they come from real systems: ISO 2709 and MARCXML, streamed.

ISO 2709 records are split at their record terminator (0x1D), not at the length the leader
states (exports that count characters instead of bytes get it wrong), and fields are cut
by their terminators when the directory does not add up. Each record read carries its
number and byte offset in the file, and either a pymarc Record or the reason it could not
be read; a bad record never stops the records after it.
"""

from __future__ import annotations

import base64
import io
import re
import xml.parsers.expat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, NamedTuple
from xml.etree import ElementTree

import pymarc
from pymarc.marc8 import marc8_to_unicode

RECORD_END, FIELD_END, SUBFIELD = b"\x1d", b"\x1e", b"\x1f"
_NON_ASCII_CODE = re.compile("\x1f[^\x00-\x7f]")
MARC21, MARCXML = "marc21", "marcxml"
_CHUNK = 1 << 16


class MarcFormatError(ValueError):
    """The file is not MARC 21 (ISO 2709) or MARCXML at all, or is empty."""


class _RecordError(ValueError):
    """One record cannot be read; the message says why and where in it."""


@dataclass
class MarcRead:
    """One record of a file: where it was, and what was read (or why nothing was)."""

    number: int  # 1-based position in the file
    offset: int  # byte offset of the record's first byte
    original_format: str
    original: str  # base64 of the ISO 2709 bytes, or the record as MARCXML
    fields: Sequence[Any] | None = None  # MarcField or pymarc Field: the same shape
    error: str | None = None
    leader: str | None = None  # the 24-character leader, when the record could be read


def detect_format(head: bytes) -> str:
    """`marc21` or `marcxml` from a file's first bytes; MarcFormatError otherwise."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise MarcFormatError("the file is empty: send MARC 21 (ISO 2709) or MARCXML records")
    if text.startswith(b"<"):
        return MARCXML
    if len(text) >= 5 and text[:5].isdigit():
        return MARC21
    raise MarcFormatError(
        "the file is neither MARC 21 (ISO 2709: it starts with a 5-digit record length) nor "
        f"MARCXML (it starts with '<'); it starts with {text[:16]!r}")


def read_marc(stream: IO[bytes], fmt: str = "auto") -> Iterator[MarcRead]:
    """The records of a MARC file, one by one, in file order."""
    head = stream.read(_CHUNK)
    detected = detect_format(head)
    if fmt not in ("auto", detected):
        raise MarcFormatError(f"--format {fmt} was asked for, but the file is {detected}")
    if detected == MARCXML:
        return _read_marcxml(head, stream)
    return _read_iso2709(head, stream)


def _read_iso2709(head: bytes, stream: IO[bytes]) -> Iterator[MarcRead]:
    buffer, base_offset, number = head, 0, 0
    while True:
        end = buffer.find(RECORD_END)
        if end < 0:
            more = stream.read(_CHUNK)
            if more:
                buffer += more
                continue
            rest = buffer.strip(b" \t\r\n\x00")
            if rest:
                number += 1
                offset = base_offset + buffer.index(rest[:1])
                yield MarcRead(number, offset, MARC21, base64.b64encode(rest).decode(),
                               error="truncated: the file ends inside this record "
                                     "(no record terminator 0x1D)")
            return
        chunk = buffer[:end + 1]
        stripped = chunk.lstrip(b" \t\r\n\x00")  # some exports put newlines between records
        offset = base_offset + len(chunk) - len(stripped)
        base_offset += len(chunk)
        buffer = buffer[end + 1:]
        if len(stripped) <= 1:
            continue
        number += 1
        read = MarcRead(number, offset, MARC21, base64.b64encode(stripped).decode())
        try:
            read.leader, read.fields = decode_iso2709(stripped)
        except _RecordError as error:
            read.error = str(error)
        yield read


class Subfield(NamedTuple):
    """A subfield: its code and value."""

    code: str
    value: str


class MarcField:
    """A field as read from ISO 2709: control fields have `data`, the others indicators and
    subfields. Lighter than pymarc's Field (an import reads them by the million), and a
    data field is split into subfields only when something asks for them."""

    __slots__ = ("_subfields", "_text", "data", "tag")

    def __init__(self, tag: str, data: str | None = None, text: str = "",
                 subfields: list[Subfield] | None = None) -> None:
        self.tag = tag
        self.data = data  # control fields (00X) only
        self._text = text  # a data field as decoded: indicators, then 0x1F-led subfields
        self._subfields = subfields

    @property
    def indicators(self) -> tuple[str, str] | None:
        """The two indicators (blank when missing); None for a control field."""
        if self.data is not None:
            return None
        head = self._text.split("\x1f", 1)[0].ljust(2)
        return head[0], head[1]

    @property
    def subfields(self) -> list[Subfield]:
        """The subfields, in order."""
        if self._subfields is None:
            self._subfields = [Subfield(part[0], part[1:])
                               for part in self._text.split("\x1f")[1:] if part]
        return self._subfields

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, MarcField) and (self.tag, self.data, self.indicators,
                                                  self.subfields) ==
                (other.tag, other.data, other.indicators, other.subfields))

    __hash__ = None  # type: ignore[assignment]  # mutable (the subfields are cached)

    def __repr__(self) -> str:
        return f"MarcField({self.tag!r}, data={self.data!r}, subfields={self.subfields!r})"


def decode_iso2709(raw: bytes) -> tuple[str, list[MarcField]]:
    """One ISO 2709 record (ending in 0x1D): its leader and its fields."""
    if len(raw) < 26:
        raise _RecordError(f"only {len(raw)} bytes: shorter than a leader and a directory")
    try:
        leader = raw[:24].decode("ascii")
    except UnicodeDecodeError:
        raise _RecordError("leader: not ASCII (bytes 0-23)") from None
    if not leader[12:17].isdigit():
        raise _RecordError(f"leader/12-16: base address {leader[12:17]!r} is not a number")
    base = _base_address(raw, int(leader[12:17]))
    directory = raw[24:base - 1]
    entries = [directory[i:i + 12] for i in range(0, len(directory), 12)]
    chunks = _field_chunks(entries, raw[base:])
    utf8 = leader[9] == "a"
    fields = [_field(entry[:3].decode("ascii", "replace"), chunk, utf8)
              for entry, chunk in zip(entries, chunks, strict=True)]
    return leader, fields


def _base_address(raw: bytes, stated: int) -> int:
    """Where the fields begin: as leader/12-16 states, or, when that does not end the
    directory (some systems write a wrong one), right after the directory's terminator, the
    first 0x1E, when what lies before it is a whole number of 12-byte entries."""
    if 25 <= stated <= len(raw) and raw[stated - 1:stated] == FIELD_END \
            and (stated - 25) % 12 == 0:
        return stated
    found = raw.find(FIELD_END, 24) + 1
    if found == 0:
        raise _RecordError("directory: no field terminator 0x1E ends it")
    if (found - 25) % 12:
        if found == stated:
            raise _RecordError(f"directory: {found - 25} bytes is not a whole number of "
                               "12-byte entries")
        raise _RecordError(f"leader/12-16: base address {stated} does not end the "
                           f"directory, and the first field terminator (byte {found - 1}) "
                           "does not end a whole number of 12-byte entries")
    return found


def _field_chunks(entries: list[bytes], data: bytes) -> list[bytes]:
    """Each field's bytes by the directory; by field terminators where it does not add up
    (lengths counted in characters rather than bytes are a common export bug)."""
    chunks = []
    for entry in entries:
        if not entry[3:12].isdigit():
            break
        length, start = int(entry[3:7]), int(entry[7:12])
        chunk = data[start:start + length]
        if length < 1 or not chunk.endswith(FIELD_END):
            break
        chunks.append(chunk[:-1])
    else:
        return chunks
    pieces = data.rstrip(RECORD_END).split(FIELD_END)
    if pieces and not pieces[-1]:
        pieces.pop()
    if len(pieces) != len(entries):
        raise _RecordError(f"directory: {len(entries)} entries but {len(pieces)} fields, and "
                           "the entries' lengths and offsets do not match the data")
    return pieces


def _text(raw: bytes, utf8: bool, where: str) -> str:
    if utf8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _RecordError(f"{where}: invalid UTF-8 at byte {error.start} of its value "
                               "(leader/09 says UTF-8)") from None
    try:
        return marc8_to_unicode(raw, hide_utf8_warnings=True)
    except Exception as error:  # noqa: BLE001 (pymarc raises several kinds on bad MARC-8)
        raise _RecordError(f"{where}: not valid MARC-8 ({error})") from None


def _field(tag: str, chunk: bytes, utf8: bool) -> MarcField:
    if tag < "010" and tag.isdigit():
        return MarcField(tag, data=_text(chunk, utf8, f"field {tag}"))
    if utf8:
        try:  # the common case, at once: 0x1F is ASCII, so it splits the decoded text alike
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            pass  # find the subfield to blame, below
        else:
            bad = _NON_ASCII_CODE.search(text)
            if bad:
                raise _RecordError(f"field {tag}: subfield code {bad.group(0)[1]!r} is not an "
                                   "ASCII character (a character of the data in its place?)")
            return MarcField(tag, text=text)
    raw_parts = chunk.split(SUBFIELD)
    indicators = raw_parts[0].decode("ascii", "replace").ljust(2)[:2]
    subfields = []
    for part in raw_parts[1:]:
        if part:
            code = part[:1].decode("ascii", "backslashreplace")
            subfields.append(Subfield(code, _text(part[1:], utf8, f"field {tag} ${code}")))
    return MarcField(tag, text=indicators, subfields=subfields)


def to_pymarc(leader: str, fields: list[MarcField]) -> pymarc.Record:
    """The record as pymarc's, for what pymarc writes (MARCXML)."""
    record = pymarc.Record(leader=leader, force_utf8=True)
    for f in fields:
        if f.data is not None:
            record.add_field(pymarc.Field(tag=f.tag, data=f.data))
        else:
            indicators = f.indicators or (" ", " ")
            record.add_field(pymarc.Field(
                tag=f.tag, indicators=pymarc.Indicators(*indicators),
                subfields=[pymarc.Subfield(s.code, s.value) for s in f.subfields]))
    return record


class _MarcXmlHandler:
    """Builds pymarc Records from expat events, noting where each record began."""

    def __init__(self, parser: xml.parsers.expat.XMLParserType) -> None:
        self.parser = parser
        self.done: list[MarcRead] = []
        self.number = 0
        self.record: pymarc.Record | None = None
        self.offset = 0
        self.text: list[str] = []
        self.field: pymarc.Field | None = None
        self.code = ""
        self.problem: str | None = None

    @staticmethod
    def _local(name: str) -> str:
        return name.rpartition(" ")[2]

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = self._local(name)
        self.text = []
        if local == "record":
            self.number += 1
            self.offset = self.parser.CurrentByteIndex
            self.record = pymarc.Record(force_utf8=True)
            self.problem = None
        elif self.record is None:
            return
        elif local == "datafield":
            tag = attrs.get("tag", "")
            self.field = pymarc.Field(tag=tag, indicators=pymarc.Indicators(
                attrs.get("ind1", " ")[:1] or " ", attrs.get("ind2", " ")[:1] or " "))
            if not tag:
                self.problem = "datafield without a tag attribute"
        elif local == "controlfield":
            self.field = pymarc.Field(tag=attrs.get("tag", ""), data="")
        elif local == "subfield":
            self.code = attrs.get("code", "")

    def chars(self, data: str) -> None:
        self.text.append(data)

    def end(self, name: str) -> None:
        local = self._local(name)
        value = "".join(self.text)
        if self.record is None:
            return
        if local == "leader":
            self.record.leader = pymarc.Leader(value.ljust(24)[:24])
        elif local == "controlfield" and self.field is not None:
            self.field.data = value
            self.record.add_field(self.field)
            self.field = None
        elif local == "subfield" and self.field is not None:
            self.field.add_subfield(self.code, value)
        elif local == "datafield" and self.field is not None:
            self.record.add_field(self.field)
            self.field = None
        elif local == "record":
            record, self.record = self.record, None
            original = _xml(record)
            self.done.append(MarcRead(self.number, self.offset, MARCXML, original,
                                      fields=None if self.problem else record.fields,
                                      error=self.problem, leader=str(record.leader)))


def _read_marcxml(head: bytes, stream: IO[bytes]) -> Iterator[MarcRead]:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    handler = _MarcXmlHandler(parser)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.chars
    parser.buffer_text = True
    chunk, final = head, False
    while True:
        try:
            parser.Parse(chunk, final)
        except xml.parsers.expat.ExpatError as error:
            yield from handler.done
            yield MarcRead(handler.number or 1, handler.offset, MARCXML, "",
                           error=f"malformed XML at line {error.lineno}, column {error.offset}: "
                                 f"{xml.parsers.expat.ErrorString(error.code)}; the rest of "
                                 "the file cannot be read")
            return
        yield from handler.done
        handler.done.clear()
        if final:
            return
        chunk = stream.read(_CHUNK)
        final = not chunk


def to_marcxml(original_format: str, original: str) -> str:
    """A record kept as imported, as MARCXML: ISO 2709 originals are converted, and MARCXML
    ones kept by earlier versions (numeric character references, the source's leader/09)
    written anew the same way."""
    if original_format == MARCXML:
        leader_at = original.find("<leader>") + len("<leader>")
        if "&#" not in original and original[leader_at + 9:leader_at + 10] == "a":
            return original
        parsed = pymarc.parse_xml_to_array(io.StringIO(original))
        return _xml(parsed[0]) if parsed else original
    return _xml(to_pymarc(*decode_iso2709(base64.b64decode(original))))


def _xml(record: pymarc.Record) -> str:
    """The record as MARCXML text: characters as themselves (not numeric references), and
    leader/09 `a`, since XML text is Unicode whatever the source's encoding was."""
    node = pymarc.record_to_xml_node(record, namespace=True)
    leader = node.find("leader")
    if leader is not None and leader.text is not None and len(leader.text) > 9:
        leader.text = leader.text[:9] + "a" + leader.text[10:]
    return ElementTree.tostring(node, encoding="unicode")



def is_local_field(tag: str) -> bool:
    """Fields that describe a library's own copy or staff, not the work: holdings (852,
    876-878), local notes (59X) and every 9XX."""
    return tag in ("852", "876", "877", "878") or tag.startswith(("59", "9"))


def without_local_fields(original_format: str, original: str) -> tuple[str, str, list[str]]:
    """A record as it may leave its library: MARCXML without local fields, and the tags of
    the fields taken out (each once, in order)."""
    if original_format == MARCXML:
        [record] = pymarc.parse_xml_to_array(io.BytesIO(original.encode("utf-8")))
    else:
        record = to_pymarc(*decode_iso2709(base64.b64decode(original)))
    local = [f for f in record.fields if is_local_field(f.tag)]
    for found in local:
        record.remove_field(found)
    return MARCXML, _xml(record), sorted({f.tag for f in local})
