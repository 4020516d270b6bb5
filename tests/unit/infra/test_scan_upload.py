"""A scan batch checked as it streams: limits are enforced as they are crossed, a bomb is
refused having inflated and spooled little, and what is spooled is the batch, gzipped."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.scan_batch import ScanBatchError
from infra.scan_upload import (
    MAX_LINE_BYTES,
    CheckedBatch,
    ScanEncodingError,
    ScanTooLargeError,
    ScanUpload,
)

HEADER = b'{"type": "header", "batch_id": "b1", "robot": "r1", "shelf": "A-01", "layer": 1}\n'
READ = (b'{"t": 0.5, "epc": "E2801160600002", "phase": 1.25, "rssi": -55.0, '
        b'"freq": 902750000.0, "ax": 0.1, "ay": -0.2, "az": 0.3}\n')
MB = 1024 * 1024


def _upload(tmp_path: Path, gzipped: bool = True, max_reads: int = 2_000_000) -> ScanUpload:
    return ScanUpload(tmp_path / "spool.gz", gzipped=gzipped, max_bytes=256 * MB,
                      max_reads=max_reads)


def _bomb(expanded: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A gzip body of valid reads inflating to `expanded` bytes, sent in chunks."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pending = deflate.compress(HEADER)
    block = READ * (MB // len(READ))
    for _ in range(expanded // len(block)):
        pending += deflate.compress(block)
        while len(pending) >= chunk:
            yield pending[:chunk]
            pending = pending[chunk:]
    pending += deflate.flush()
    for start in range(0, len(pending), chunk):
        yield pending[start:start + chunk]


def test_a_batch_is_spooled_gzipped_with_its_digest_and_counts(tmp_path: Path) -> None:
    batch = HEADER + READ * 3 + READ.replace(b"E2801160600002", b"ABCD")
    body = gzip.compress(batch)
    upload = _upload(tmp_path)
    for n in range(0, len(body), 7):  # cut anywhere: inside lines and the gzip header
        upload.feed(body[n:n + 7])
    checked = upload.finish()
    assert (checked.reads, checked.tags, checked.size) == (4, 2, len(batch))
    assert checked.sha256 == hashlib.sha256(batch).hexdigest()
    assert gzip.decompress(checked.spool.read_bytes()) == batch
    assert checked.header["shelf"] == "A-01"


def _feed_all(upload: ScanUpload, chunks: Iterator[bytes]) -> int:
    """Feeds chunks until the upload refuses one; the bytes sent by then."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        upload.feed(chunk)
    return sent


def _send(upload: ScanUpload, parts: list[bytes]) -> CheckedBatch:
    _feed_all(upload, iter(parts))
    return upload.finish()


def test_a_bomb_of_valid_reads_is_refused_having_spooled_little(tmp_path: Path) -> None:
    upload = _upload(tmp_path)
    sent: list[bytes] = []
    with pytest.raises(ScanTooLargeError) as refused:  # 300 MB inflated, ~300 kB sent
        _feed_all(upload, (sent.append(chunk) or chunk for chunk in _bomb(300 * MB)))
    upload.close()
    assert refused.value.limit == "the expansion limit"
    assert sum(map(len, sent)) <= 2 * 64 * 1024  # refused at its first chunks
    assert (tmp_path / "spool.gz").stat().st_size < 256 * 1024


def test_the_read_limit_names_the_first_read_over_it(tmp_path: Path) -> None:
    upload = _upload(tmp_path, gzipped=False, max_reads=10)
    with pytest.raises(ScanTooLargeError) as refused:
        upload.feed(HEADER + READ * 11)
    assert (refused.value.limit, refused.value.value, refused.value.line) == (
        "COMMONSHELF_MAX_SCAN_READS", 10, 12)


def test_a_line_that_never_ends_is_refused_at_the_line_limit(tmp_path: Path) -> None:
    upload = _upload(tmp_path, gzipped=False)
    upload.feed(HEADER)
    with pytest.raises(ScanBatchError) as refused:
        _feed_all(upload, iter([b"7" * 4096] * 100))
    assert (refused.value.line, refused.value.field) == (2, "line")
    assert str(MAX_LINE_BYTES) in str(refused.value)


@pytest.mark.parametrize("tail", [b"\x00", b"garbage", b"\x1f"])
def test_trailing_data_after_the_gzip_stream_is_refused(tmp_path: Path, tail: bytes) -> None:
    upload = _upload(tmp_path)
    with pytest.raises(ScanBatchError, match="trailing data") as refused:
        _send(upload, [gzip.compress(HEADER + READ) + tail[:1], tail[1:]])
    assert refused.value.field == "body"


def test_a_body_that_is_not_gzip_is_an_encoding_error(tmp_path: Path) -> None:
    upload = _upload(tmp_path)
    with pytest.raises(ScanEncodingError, match="not valid gzip"):
        upload.feed(b"plain text, not gzip")


def test_a_bad_read_names_its_line_through_the_stream(tmp_path: Path) -> None:
    upload = _upload(tmp_path, gzipped=False)
    bad = json.dumps({**json.loads(READ), "phase": 9}).encode() + b"\n"
    upload.feed(HEADER + READ * 20_000)  # past one checked chunk
    upload.feed(bad)
    with pytest.raises(ScanBatchError) as refused:
        upload.finish()
    assert (refused.value.line, refused.value.field) == (20_002, "phase")


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    upload = _upload(tmp_path, gzipped=False)
    upload.feed(HEADER + READ + b'{"epc": "\xff"}\n')
    with pytest.raises(ScanBatchError, match="not UTF-8") as refused:
        upload.finish()
    assert refused.value.line == 3
