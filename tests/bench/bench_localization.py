"""Localization accuracy and speed on simulated shelves.

Run: .venv/bin/python tests/bench/bench_localization.py [BOOKS [READ_RATE_FACTOR]] [--cli]
Accuracy (median and 90th percentile |x error|, adjacent books in the wrong order, how often
the 90% interval holds the truth) on a clean shelf and on a realistic one (the simulator's
realistic default: each tag's own phase pattern, coupling, diffuse multipath), ours beside
the straightforward per-channel hologram on the same batches; speed of the Cython kernel
on one core and on all, beside its numpy twin and a straightforward numpy hologram; with
--cli, a shelf of 10,000 tags and about 1,000,000 reads through the whole CLI (parse,
calibrate, localize, write JSON), wall and CPU seconds. Real readings:
tests/bench/bench_adarf.py. Targets: issue 17.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from localization_ext import engines, localize_batch, offsets_by_frequency, scan_offsets
from localization_ext._hologram_py import plain_hologram
from localization_ext.simulate import Impairments, Scan, Setup, simulate, write_batch


def run(scan: Scan, engine: str, calibrate: bool = True, threads: int = 0
        ) -> tuple[np.ndarray, float, list[bool]]:  # type: ignore[type-arg]
    started = time.perf_counter()
    found = localize_batch(scan.tag, len(scan.epc), scan.t, scan.phase, scan.freq, scan.ax,
                           scan.ay, scan.rssi, engine=engine, calibrate=calibrate,
                           threads=threads)
    inside = [e.x_interval[0] <= x <= e.x_interval[1]
              for e, x in zip(found, scan.true_x, strict=True)]
    return np.array([e.x for e in found]), time.perf_counter() - started, inside


def plain_x(scan: Scan) -> np.ndarray:  # type: ignore[type-arg]
    """The straightforward per-channel hologram of every tag."""
    k = 4 * np.pi * scan.freq / 299_792_458.0
    out = []
    for t in range(len(scan.epc)):
        mine = scan.tag == t
        out.append(plain_hologram(scan.phase[mine], k[mine], scan.ax[mine], scan.ay[mine],
                                  np.unique(scan.freq[mine], return_inverse=True)[1])[0])
    return np.array(out)


def straightforward(scan: Scan, tags: int) -> float:
    """Tags/s of a plain numpy hologram: the same grids, one grid point at a time."""
    from localization_ext._hologram_py import STAGES  # noqa: PLC0415

    y_range, half_x0 = (0.05, 0.80), 0.20  # the default geometry
    started = time.perf_counter()
    for t in range(tags):
        mine = scan.tag == t
        phase, ax, ay = scan.phase[mine], scan.ax[mine], scan.ay[mine]
        k = 4 * np.pi * scan.freq[mine] / 299_792_458.0
        channels = np.unique(scan.freq[mine], return_inverse=True)[1]
        best_x, best_y = float(ax.mean()), float(ay.mean()) + sum(y_range) / 2
        for stage, (stage_half_x, half_y, step, step_y, _) in enumerate(STAGES):
            ys = (np.arange(ay.mean() + y_range[0], ay.mean() + y_range[1], step_y)
                  if stage == 0 else np.arange(best_y - half_y, best_y + half_y + step_y / 2,
                                               step_y))
            half_x = half_x0 if stage == 0 else stage_half_x
            best = -1.0
            for x in np.arange(best_x - half_x, best_x + half_x + step / 2, step):
                for y in ys:
                    rotated = np.exp(1j * (phase - k * np.hypot(x - ax, y - ay)))
                    score = np.abs(np.bincount(channels, rotated.real) +
                                   1j * np.bincount(channels, rotated.imag)).sum()
                    if score > best:
                        best, point = score, (x, y)
            best_x, best_y = point
    return tags / (time.perf_counter() - started)


def cramer_rao_x(scan: Scan, sigma: float) -> float:
    """The median over tags of the bound on sigma_x, per-channel offsets known (calibrated)
    and the tag's own offset a nuisance (FIELD-NOTES' formula)."""
    bounds = []
    for t in range(len(scan.epc)):
        mine = scan.tag == t
        dx = scan.true_x[t] - scan.ax[mine]
        r = scan.true_y[t] - scan.ay[mine]
        d = np.hypot(dx, r)
        k = 4 * np.pi * scan.freq[mine] / 299_792_458.0
        g = np.stack([k * dx / d, k * r / d], axis=1)
        g -= g.mean(axis=0)
        fisher = g.T @ g / sigma**2
        with np.errstate(all="ignore"):
            bounds.append(float(np.sqrt(np.linalg.inv(fisher)[0, 0])))
    return float(np.median(bounds))


def whole_cli(books: int = 10_000) -> None:
    """A realistic shelf of `books` tags, about 100 reads each, through `commonshelf
    inventory localize --json` in a process of its own: wall and CPU seconds."""
    scan = simulate(Setup(books=books, spacing_m=0.03, seed=7, read_rate_hz=900.0,
                          impairments=Impairments.realistic()))
    with tempfile.TemporaryDirectory() as folder:
        batch = os.path.join(folder, "batch.ndjson")
        with open(batch, "w") as out:
            write_batch(scan, out)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", "inventory", "localize", batch,
                        "--json"], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"the whole CLI on {books:,} tags, {len(scan.t):,} reads: {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU (target: 10 s wall on 2 cores)")


def main() -> None:
    cli = "--cli" in sys.argv
    sys.argv = [a for a in sys.argv if a != "--cli"]
    books = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    fastest = "cython" if "cython" in engines() else "numpy"
    shelves = 25
    print(f"accuracy: {shelves} shelves of 40 books 2-4 cm apart, sigma 0.1 rad; {fastest}")
    for label, impairments in (("clean", Impairments()),
                               ("realistic (simulator default)", Impairments.realistic())):
        ours, baseline = ([], [], []), ([], [])
        for seed in range(shelves):
            scan = simulate(Setup(books=40, spacing_m=0.03, seed=100 + seed,
                                  impairments=impairments))
            shelf_order = np.argsort(scan.true_x)
            x, _, inside = run(scan, fastest)
            ours[0].append(np.abs(x - scan.true_x) * 100)
            ours[1].append(np.diff(x[shelf_order]) > 0)
            ours[2].extend(inside)
            x = plain_x(scan)
            baseline[0].append(np.abs(x - scan.true_x) * 100)
            baseline[1].append(np.diff(x[shelf_order]) > 0)
        for name, (errors, ordered, *rest) in (("ours", ours), ("straightforward hologram",
                                                                 baseline)):
            error, wrong = np.concatenate(errors), 100 - np.concatenate(ordered).mean() * 100
            cover = f"  90% interval holds {np.mean(rest[0]) * 100:5.1f} %" if rest else ""
            print(f"  {label:<30} {name:<26} median {np.median(error):5.2f} cm  "
                  f"p90 {np.percentile(error, 90):5.2f} cm  adjacent misorder {wrong:5.1f} %"
                  f"{cover}")
    long = simulate(Setup(books=40, spacing_m=0.03, seed=500, reader_seed=77))
    kept = offsets_by_frequency(long.freq, *scan_offsets(long.tag, long.t, long.phase,
                                                         long.freq))
    for label, prior in (("its own calibration only", None),
                         ("the robot's kept calibration", kept)):
        errors = []
        for seed in range(30):  # sparse scans: 3 books, 60 reads/s, a fast robot
            short = simulate(Setup(books=3, spacing_m=0.03, seed=600 + seed, reader_seed=77,
                                   speed_m_s=0.3, read_rate_hz=60))
            found = localize_batch(short.tag, 3, short.t, short.phase, short.freq, short.ax,
                                   short.ay, short.rssi, engine=fastest, prior=prior)
            errors.append(np.abs(np.array([e.x for e in found]) - short.true_x) * 100)
        error = np.concatenate(errors)
        print(f"  sparse short scans with {label:<30} median {np.median(error):5.2f} cm  "
              f"p90 {np.percentile(error, 90):5.2f} cm")
    clean = simulate(Setup(books=40, spacing_m=0.03, seed=100))
    x, _, _ = run(clean, fastest)
    print(f"  Cramer-Rao bound on sigma_x (clean shelf, calibrated): "
          f"{cramer_rao_x(clean, 0.1) * 1000:.2f} mm; the kernel's median |error| there: "
          f"{np.median(np.abs(x - clean.true_x)) * 1000:.2f} mm")
    scan = simulate(Setup(books=books, spacing_m=0.03, seed=7,
                          read_rate_hz=300.0 * float(sys.argv[2]) if len(sys.argv) > 2 else 300.0))
    reads = len(scan.t)
    print(f"speed on {books} tags, {reads:,} reads:")
    timings = {}
    for engine, threads in (("numpy", 0), ("cython", 1), ("cython", 0)):
        if engine in engines():
            _, seconds, _ = run(scan, engine, threads=threads)
            key = f"{engine} ({'1 core' if threads == 1 else 'all cores'})"
            timings[key] = seconds
            print(f"  {key:<22} {books / seconds:>10,.0f} tags/s {reads / seconds:>12,.0f} "
                  f"reads/s")
    plain = straightforward(scan, min(books, 10))
    print(f"  {'numpy, point by point':<22} {plain:>10,.0f} tags/s")
    if "cython (all cores)" in timings:
        print(f"  cython on all cores is {books / timings['cython (all cores)'] / plain:.0f}x "
              "the straightforward numpy hologram")
        print(f"  cython is {timings['numpy (all cores)'] / timings['cython (1 core)']:.1f}x "
              f"the numpy twin on one core, "
              f"{timings['numpy (all cores)'] / timings['cython (all cores)']:.1f}x on all")
    if cli:
        whole_cli()


if __name__ == "__main__":
    main()
