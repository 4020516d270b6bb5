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

from localization_ext import engines, localize_batch
from localization_ext.simulate import Impairments, Scan, Setup, simulate


def run(scan: Scan, engine: str, calibrate: bool = True,
        threads: int = 0) -> tuple[np.ndarray, float]:  # type: ignore[type-arg]
    started = time.perf_counter()
    found = localize_batch(scan.tag, len(scan.epc), scan.t, scan.phase, scan.freq, scan.ax,
                           scan.ay, scan.rssi, engine=engine, calibrate=calibrate,
                           threads=threads)
    return np.array([e.x for e in found]), time.perf_counter() - started


def main() -> None:
    books = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    fastest = "cython" if "cython" in engines() else "numpy"
    shelves = 25
    print(f"accuracy: {shelves} shelves of 40 books 2-4 cm apart, sigma 0.1 rad; {fastest}")
    for label, impairments in (("clean + back-panel reflection", Impairments(reflection=1)),
                               ("all impairments at default", Impairments(1, 1, 1))):
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
    scan = simulate(Setup(books=books, spacing_m=0.03, seed=7))
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
    if "cython (all cores)" in timings:
        print(f"  cython is {timings['numpy (all cores)'] / timings['cython (1 core)']:.1f}x "
              f"the numpy twin on one core, "
              f"{timings['numpy (all cores)'] / timings['cython (all cores)']:.1f}x on all")


if __name__ == "__main__":
    main()
