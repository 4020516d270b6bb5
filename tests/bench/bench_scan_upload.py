"""Peak memory of the API process while it takes a 2,000,000-read scan batch.

Run: .venv/bin/python tests/bench/bench_scan_upload.py [READS]   (DATABASE_URL/NATS_URL or
embedded). An API process (`commonshelf serve --role api`) of its own starts on a fresh
database; a generated batch of READS reads (default 2,000,000; 400 tags on a shelf, gzip) is
uploaded over HTTP and checked, spooled and stored as it streams in. The API process's peak
resident memory (VmHWM in /proc/PID/status) is printed beside its baseline in the same run:
the peak after a 20-read upload. Target: peak <= 200 MB for 2,000,000 reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.database import Database
from infra.nats import connect
from tenants.consortium import Consortium

TAGS = 400
TARGET_MB = 200


def write_batch(path: Path, reads: int, batch_id: str) -> None:
    """A shelf pass of `reads` reads of TAGS tags, compact JSON lines, gzip."""
    rng = random.Random(7)  # noqa: S311 (made-up reads, not secrets)
    epcs = [f"E28011606000{n:012X}" for n in range(TAGS)]
    freqs = [902_750_000 + 500_000 * n for n in range(16)]
    with gzip.open(path, "wt", compresslevel=6) as out:
        out.write(json.dumps({"type": "header", "batch_id": batch_id, "robot": "bench-1",
                              "shelf": "A-01", "layer": 1}) + "\n")
        for n in range(reads):
            out.write(f'{{"t":{n * 0.0005:.4f},"epc":"{epcs[rng.randrange(TAGS)]}",'
                      f'"phase":{rng.random() * 6.28:.4f},"rssi":{-40 - rng.random() * 30:.1f},'
                      f'"freq":{freqs[n % 16]},"ax":{n * 0.000001:.5f},"ay":-0.3,"az":0.25}}\n')


def peak_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {k: int(v) for k, v in re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M)}
    return kb["VmHWM"] / 1024, kb["VmRSS"] / 1024


def start_api(url: str, nats_url: str, prefix: str, data_dir: Path) -> tuple[
        subprocess.Popen[str], str]:
    """`commonshelf serve --role api` on a port of its own; (process, its URL)."""
    env = {**os.environ, "DATABASE_URL": url, "NATS_URL": nats_url,
           "COMMONSHELF_NATS_PREFIX": prefix, "COMMONSHELF_DATA_DIR": str(data_dir)}
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--role", "api",
                                "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if found := re.search(r"serving at (http://\S+)", line):
            return process, found.group(1)
    raise RuntimeError("the API process did not start")


def chunks(path: Path, size: int = 1 << 16) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from iter(lambda: stream.read(size), b"")


def upload(base: str, token: str, path: Path) -> tuple[int, float]:
    """(HTTP status, seconds) of uploading a gzip batch file, streamed."""
    started = time.perf_counter()
    answer = httpx.post(f"{base}/robots/scans", content=chunks(path), timeout=600,
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/x-ndjson",
                                 "Content-Encoding": "gzip"})
    assert answer.status_code == 202, answer.text
    return answer.status_code, time.perf_counter() - started


def measure(url: str, nats_url: str, reads: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="cs-bench-scan-"))
    big, tiny = work / "big.ndjson.gz", work / "tiny.ndjson.gz"
    print(f"generating a batch of {reads:,} reads ...", flush=True)
    write_batch(big, reads, "bench-big")
    write_batch(tiny, 20, "bench-tiny")
    with gzip.open(big, "rb") as stream:
        inflated = sum(len(c) for c in iter(lambda: stream.read(1 << 20), b""))
    database = Database(url, 2, name="cs-bench-scan")
    consortium = Consortium(database)
    consortium.register_tenant("bench-scans", "Bench", None)
    issued = consortium.create_client("bench-scans", "robot", ["inventory:upload"])
    database.close()
    prefix = f"benchscan{secrets.token_hex(3)}"
    process, base = start_api(url, nats_url, prefix, work / "data")
    try:
        token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(issued.client.client_id, issued.secret)).json()["access_token"]
        upload(base, token, tiny)
        baseline, _ = peak_mb(process.pid)
        _, seconds = upload(base, token, big)
        peak, rss = peak_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        asyncio.run(_delete_stream(nats_url, prefix.upper() + "_SCANS"))
    print()
    print(f"batch: {reads:,} reads, {big.stat().st_size / 1e6:.1f} MB gzip, "
          f"{inflated / 1e6:.1f} MB inflated; uploaded, checked and stored in {seconds:.1f} s "
          f"({reads / seconds:,.0f} reads/s)")
    print(f"{'API process':<44}{'peak RSS (VmHWM)':>18}")
    print(f"{'after a 20-read upload (baseline)':<44}{baseline:>15.0f} MB")
    print(f"{f'after the {reads:,}-read upload':<44}{peak:>15.0f} MB   (RSS now {rss:.0f} MB)")
    print(f"peak {peak:.0f} MB, {peak - baseline:+.0f} MB over the baseline "
          f"(target: <= {TARGET_MB} MB): {'ok' if peak <= TARGET_MB else 'OVER'}")
    for path in (big, tiny):
        path.unlink()


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await connect(nats_url)
    with contextlib.suppress(nats.js.errors.NotFoundError):  # no stream: nothing to delete
        await nc.jetstream().delete_stream(name)
    await nc.close()


def main() -> None:
    reads = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    with bench_servers() as (url, nats_url):
        measure(url, nats_url, reads)


if __name__ == "__main__":
    main()
