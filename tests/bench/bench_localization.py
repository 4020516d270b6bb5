"""Localization accuracy and speed on simulated shelves.

Run: .venv/bin/python tests/bench/bench_localization.py [BOOKS]
Accuracy (median and 90th percentile |x error|, adjacent books in the right order) on a
clean shelf and with every impairment at its default strength, calibrated and not (the
uncalibrated one is the straightforward per-channel hologram); speed of the Cython kernel
on one core and on all, beside its numpy twin on the same grid. Targets: see issue 6.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from localization_ext import engines, localize_batch, offsets_by_frequency, scan_offsets
from localization_ext.simulate import Impairments, Scan, Setup, simulate


def run(scan: Scan, engine: str, calibrate: bool = True,
        threads: int = 0) -> tuple[np.ndarray, float]:  # type: ignore[type-arg]
    started = time.perf_counter()
    found = localize_batch(scan.tag, len(scan.epc), scan.t, scan.phase, scan.freq, scan.ax,
                           scan.ay, scan.rssi, engine=engine, calibrate=calibrate,
                           threads=threads)
    return np.array([e.x for e in found]), time.perf_counter() - started


def straightforward(scan: Scan, tags: int) -> float:
    """Tags/s of a plain numpy hologram: the same grids, one grid point at a time."""
    from localization_ext._hologram_py import STAGES, Y_RANGE  # noqa: PLC0415

    started = time.perf_counter()
    for t in range(tags):
        mine = scan.tag == t
        phase, ax, ay = scan.phase[mine], scan.ax[mine], scan.ay[mine]
        k = 4 * np.pi * scan.freq[mine] / 299_792_458.0
        channels = np.unique(scan.freq[mine], return_inverse=True)[1]
        best_x, best_y = float(ax.mean()), float(ay.mean()) + sum(Y_RANGE) / 2
        for stage, (half_x, half_y, step, _) in enumerate(STAGES):
            ys = (np.arange(ay.mean() + Y_RANGE[0], ay.mean() + Y_RANGE[1], step) if stage == 0
                  else np.arange(best_y - half_y, best_y + half_y + step / 2, step))
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


def main() -> None:
    books = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    fastest = "cython" if "cython" in engines() else "numpy"
    shelves = 25
    print(f"accuracy: {shelves} shelves of 40 books 2-4 cm apart, sigma 0.1 rad; {fastest}")
    for label, impairments in (("clean + back-panel reflection", Impairments(reflection=1)),
                               ("all impairments at default", Impairments.all())):
        for calibrate in (True, False):
            errors, ordered = [], []
            for seed in range(shelves):
                scan = simulate(Setup(books=40, spacing_m=0.03, seed=100 + seed,
                                      impairments=impairments))
                x, _ = run(scan, fastest, calibrate)
                errors.append(np.abs(x - scan.true_x) * 100)
                ordered.append(np.diff(x[np.argsort(scan.true_x)]) > 0)
            error, order = np.concatenate(errors), np.concatenate(ordered).mean() * 100
            name = "calibrated" if calibrate else "per-channel hologram (no calibration)"
            print(f"  {label:<30} {name:<38} median {np.median(error):5.2f} cm  "
                  f"p90 {np.percentile(error, 90):5.2f} cm  adjacent order {order:5.1f} %")
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
    x, _ = run(clean, fastest)
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
            _, seconds = run(scan, engine, threads=threads)
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


if __name__ == "__main__":
    main()
