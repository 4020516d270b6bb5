"""A robot's scan batch checked as it arrives: gzip inflated in bounded steps, each line
checked (infra.scan_batch) and the checked bytes gzipped to a spool file as they pass. Nothing
holds the batch in memory, and a batch that crosses a limit is refused at once, having
spooled no more than its compressed size up to that point."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra.scan_batch import ScanBatchError, check_header, check_reads

GZIP_MAGIC = b"\x1f\x8b"
INFLATE_STEP = 256 * 1024  # bytes inflated at a time: a bomb never expands further at once
MAX_EXPANSION = 100  # times its gzip size a batch may inflate to (real reads: 3 to 6)
EXPANSION_SLACK = 1024 * 1024  # ... past a first MiB, so a tiny batch is never refused
MAX_LINE_BYTES = 64 * 1024  # a read is ~130 bytes, a header well under 1 kB
MAX_TAGS = 200_000  # distinct EPCs in one batch (a shelf holds hundreds)
CHECK_LINES = 8192  # reads checked at once
SPOOL_LEVEL = 1  # the spool (and the stored blob) is gzip, fast


class ScanTooLargeError(Exception):
    """A batch past one of its limits; names the limit, its value and the line."""

    def __init__(self, limit: str, value: int, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem} ({limit} is {value}); split the batch "
                         "by shelf")
        self.limit, self.value, self.line = limit, value, line


class ScanEncodingError(Exception):
    """A body sent as gzip that is not gzip."""


@dataclass(frozen=True)
class CheckedBatch:
    """A batch that passed every check: its header and counts, the SHA-256 and size of its
    bytes, and the spool file that holds them gzipped."""

    header: dict[str, Any]
    reads: int
    tags: int
    sha256: str
    size: int
    spool: Path


class ScanUpload:
    """Takes a batch's body chunk by chunk (`feed`), then `finish` gives the checked batch.
    Raises ScanBatchError (a bad line), ScanTooLargeError or ScanEncodingError."""

    def __init__(self, spool: Path, *, gzipped: bool, max_bytes: int, max_reads: int) -> None:
        self.spool = spool
        self.max_bytes = max_bytes
        self.max_reads = max_reads
        self._out: IO[bytes] = spool.open("wb")
        self._deflate = zlib.compressobj(SPOOL_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._inflate = _gzip_stream() if gzipped else None
        self._gzipped = gzipped
        self._head = b""  # the start of a next gzip member, cut between chunks
        self._digest = hashlib.sha256()
        self._received = 0  # body bytes, as sent
        self._size = 0  # batch bytes, inflated
        self._partial = bytearray()  # a line not yet ended
        self._lines: list[bytes] = []  # ended lines not yet checked
        self._line = 0  # the number of the last line checked or queued
        self._header: dict[str, Any] | None = None
        self._reads = 0
        self._tags: dict[str, int] = {}

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the body, as sent."""
        self._received += len(chunk)
        if self._inflate is None:
            self._take(chunk)
            return
        data = self._head + chunk
        self._head = b""
        while data:
            if self._inflate.eof:
                data = self._next_member(data)
                continue
            try:
                piece = self._inflate.decompress(data, INFLATE_STEP)
            except zlib.error:
                raise ScanEncodingError("the body is not valid gzip (it was sent with "
                                        "Content-Encoding: gzip)") from None
            self._take(piece)
            data = (self._inflate.unused_data if self._inflate.eof
                    else self._inflate.unconsumed_tail)
        self._drain(self._inflate)

    def finish(self) -> CheckedBatch:
        """The checked batch, once the whole body was fed."""
        if self._inflate is not None:
            if self._head:
                self._trailing(self._head)
            if not self._inflate.eof:
                raise ScanEncodingError("the gzip stream ends early: the body was cut off")
        if self._partial:
            self._end_line(bytes(self._partial))
            self._partial.clear()
        self._check()
        if self._header is None:
            raise ScanBatchError(1, "header", "the batch is empty: the first line is a header")
        self._out.write(self._deflate.flush())
        self._out.close()
        return CheckedBatch(self._header, self._reads, len(self._tags),
                            self._digest.hexdigest(), self._size, self.spool)

    def close(self) -> None:
        """Closes the spool file (the caller removes it)."""
        self._out.close()

    def _drain(self, inflate: Any) -> None:
        """Output zlib still holds back (a step's limit reached as the input ran out)."""
        while not inflate.eof and (piece := inflate.decompress(b"", INFLATE_STEP)):
            self._take(piece)

    def _next_member(self, data: bytes) -> bytes:
        """After one gzip member only another may follow (RFC 1952); anything else is
        trailing data, refused."""
        if len(data) < len(GZIP_MAGIC) and GZIP_MAGIC.startswith(data):
            self._head = data  # the rest of the magic comes with the next chunk
            return b""
        if not data.startswith(GZIP_MAGIC):
            self._trailing(data)
        self._inflate = _gzip_stream()
        return data

    def _trailing(self, data: bytes) -> None:
        at = self._received - len(data)
        raise ScanBatchError(self._line + 1, "body", "trailing data after the end of the gzip "
                             f"stream (at byte {at} of the body): a batch is gzip and "
                             "nothing after it")

    def _take(self, data: bytes) -> None:
        """Inflated bytes: limits, then lines."""
        if not data:
            return
        self._size += len(data)
        if self._size > self.max_bytes:
            raise ScanTooLargeError("COMMONSHELF_MAX_SCAN_BYTES", self.max_bytes,
                                    self._line + 1, "the batch is larger than the limit of "
                                    f"{self.max_bytes} bytes uncompressed")
        if self._gzipped and self._size > EXPANSION_SLACK + MAX_EXPANSION * self._received:
            raise ScanTooLargeError("the expansion limit", MAX_EXPANSION, self._line + 1,
                                    f"the gzip body inflates more than {MAX_EXPANSION} times "
                                    "its size, as no scan does (a compression bomb?)")
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._partial += data[start:end + 1]
            self._end_line(bytes(self._partial))
            self._partial.clear()
            start = end + 1
        self._partial += data[start:]
        if len(self._partial) > MAX_LINE_BYTES:
            raise _too_long(self._line + 1)
        if len(self._lines) >= CHECK_LINES:
            self._check()

    def _end_line(self, line: bytes) -> None:
        self._line += 1
        if len(line) > MAX_LINE_BYTES:
            raise _too_long(self._line)
        if self._line == 1:
            self._header = check_header(_text(line, 1))
            self._keep([line])
            return
        if line.strip():
            self._reads += 1
            if self._reads > self.max_reads:
                raise ScanTooLargeError("COMMONSHELF_MAX_SCAN_READS", self.max_reads,
                                        self._line, "the batch has more reads than the "
                                        f"limit of {self.max_reads}")
        self._lines.append(line)

    def _check(self) -> None:
        """The queued lines checked, then spooled."""
        if not self._lines:
            return
        first = self._line - len(self._lines) + 1
        texts = [_text(line, first + n) for n, line in enumerate(self._lines)]
        check_reads(texts, first, self._tags)
        if len(self._tags) > MAX_TAGS:
            raise ScanTooLargeError("the tag limit", MAX_TAGS, self._line,
                                    f"the batch reads more than {MAX_TAGS} distinct tags "
                                    f"by line {self._line}")
        self._keep(self._lines)
        self._lines = []

    def _keep(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        self._digest.update(data)
        self._out.write(self._deflate.compress(data))


def _too_long(line: int) -> ScanBatchError:
    return ScanBatchError(line, "line", f"longer than {MAX_LINE_BYTES} bytes: not a scan line")


def _gzip_stream() -> Any:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _text(line: bytes, number: int) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScanBatchError(number, "line", f"not UTF-8 text (byte {error.start} of the "
                             "line)") from None


def check_file(path: Path, spool: Path, *, max_bytes: int, max_reads: int,
               chunk: int = 1 << 20) -> CheckedBatch:
    """A batch in a file (not gzip), checked and spooled like an upload."""
    upload = ScanUpload(spool, gzipped=False, max_bytes=max_bytes, max_reads=max_reads)
    try:
        with path.open("rb") as stream:
            for data in iter(lambda: stream.read(chunk), b""):
                upload.feed(data)
        return upload.finish()
    finally:
        upload.close()
