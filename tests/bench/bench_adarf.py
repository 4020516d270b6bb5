"""Localization on real readings: the AdaRF dataset (Impinj R420, 8 channels, tags 4-10 cm
apart at 0.45-0.8 m from a 1 m antenna path), read for read in our batch format.

Run: .venv/bin/python tests/bench/bench_adarf.py PATH_TO_ADARF_CHECKOUT [--split test|train]
     [--cache DIR] [--engine cython|numpy]
The checkout is GitHub dapowan/AdaRF. It states no licence: use it locally, never commit it
or anything made from it (the converted batches go to --cache, by default under /tmp).
Scores |x error| median and p90, adjacent tags in the wrong order and how often the 90%
interval holds the truth, on the chosen split's experiments of datasets 2 and 3 (the
8-channel test ones: 32 experiments; the training ones read one channel), beside the
straightforward per-channel hologram on the same batches. Without the checkout it says so
and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infra.scan_batch import ScanBatch, read_batch
from localization_ext import Geometry, engines, localize_batch
from localization_ext._hologram_py import plain_hologram

# the tags of an experiment in shelf order (their EPCs' last digits), per dataset and split
ORDER = {("2", "train"): [1, 2, 3, 4, 5, 6], ("2", "test"): [7, 1, 2, 3, 4, 5, 6, 8],
         ("3", "train"): [7, 1, 2, 3, 4, 5, 6, 8], ("3", "test"): [7, 1, 2, 3, 4, 5, 6, 8]}
EPC_PREFIX = "9427000000000000000000"
SEPARATION_CM = 8.0  # dataset 2's; dataset 3 names it per experiment


@dataclass(frozen=True)
class Experiment:
    """One pass over a row of tags, and where they really stood."""

    name: str
    folder: Path
    epcs: list[str]
    true_x: list[float]
    depth_m: float


def _settings(root: Path) -> dict[str, tuple[float, float, float]]:
    """Folder name -> (centre x cm, depth cm, separation cm), from dataset/config.txt."""
    found = {}
    for line in (root / "dataset" / "config.txt").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            continue
        first, rest = parts[1].split(":")
        lo, hi = (int(v) for v in first.split("-"))
        separation = float(parts[5]) if len(parts) > 5 else SEPARATION_CM
        for n in range(lo, hi + 1):
            folder = f"19{parts[0]}-{n:02d}-{parts[3]}-{parts[4]}"
            found[folder] = (float(rest), float(parts[2]), separation)
    return found


def experiments(root: Path, split: str) -> list[Experiment]:
    """The experiments of datasets 2 and 3 in one split."""
    settings = _settings(root)
    out = []
    for dataset in ("2", "3"):
        order = ORDER[(dataset, split)]
        for folder in sorted((root / "dataset" / dataset / split).iterdir()):
            centre, depth, separation = settings[folder.name]
            middle = (len(order) - 1) / 2
            out.append(Experiment(f"D{dataset}/{folder.name}", folder,
                                  [f"{EPC_PREFIX}{n:02d}" for n in order],
                                  [(centre + separation * (i - middle)) / 100
                                   for i in range(len(order))], depth / 100))
    return out


def convert(experiment: Experiment, out: Path) -> None:
    """The experiment's raw reads as our NDJSON batch: the antenna path is the x axis
    (ay = 0), each of its 50 stops lasts a second, and the reads of a stop keep their order.
    """
    with out.open("w") as batch:
        batch.write(json.dumps({"type": "header", "batch_id": experiment.name,
                                "robot": "adarf-r420", "shelf": "adarf", "layer": 1}) + "\n")
        stops = sorted(experiment.folder.glob("*.csv"), key=lambda p: int(p.stem))
        for stop, path in enumerate(stops):
            with path.open(encoding="utf-8-sig") as stream:
                rows = list(csv.DictReader(stream))
            for i, row in enumerate(rows):
                batch.write(json.dumps({
                    "t": round(stop + i / len(rows), 6), "epc": row["epc"],
                    "phase": float(row["phase"]), "rssi": float(row["RSSI"]),
                    "freq": float(row["frequency"]), "ax": float(row["x"]), "ay": 0.0,
                    "az": 0.0}) + "\n")


def load(experiment: Experiment, cache: Path) -> ScanBatch:
    """The experiment as a checked batch (converted once into the cache)."""
    path = cache / (experiment.name.replace("/", "_") + ".ndjson")
    if not path.exists():
        partial = path.with_suffix(".part")
        convert(experiment, partial)
        partial.rename(path)
    with path.open() as stream:
        return read_batch(stream)


@dataclass
class Scores:
    """Errors of one method over experiments."""

    errors: list[float]
    pairs: list[bool]  # adjacent pairs in the right order
    inside: list[bool]  # the truth inside the 90% interval

    def line(self) -> str:
        e = np.array(self.errors) * 100
        text = (f"median {np.median(e):5.2f} cm  p90 {np.percentile(e, 90):5.2f} cm  "
                f"adjacent misorder {100 - np.mean(self.pairs) * 100:5.1f} %")
        if self.inside:
            text += f"  90% interval holds the truth {np.mean(self.inside) * 100:5.1f} %"
        return text


def score(experiment: Experiment, batch: ScanBatch, x: dict[str, float],
          intervals: dict[str, tuple[float, float]], into: Scores) -> None:
    """Adds one experiment's figures (tags the method did not place count as misordered)."""
    placed = [x.get(e) for e in experiment.epcs]
    for epc, truth, at in zip(experiment.epcs, experiment.true_x, placed, strict=True):
        if at is not None:
            into.errors.append(abs(at - truth))
        if epc in intervals:
            low, high = intervals[epc]
            into.inside.append(low <= truth <= high)
    for a, b in itertools.pairwise(placed):
        into.pairs.append(a is not None and b is not None and a < b)


def localize(batch: ScanBatch, engine: str) -> tuple[dict[str, float],
                                                      dict[str, tuple[float, float]]]:
    """Our estimate of every localized tag, and its 90% interval."""
    c = batch.columns
    order = c["t"].argsort(kind="stable")
    found = localize_batch(batch.tag[order], len(batch.epcs), c["t"][order], c["phase"][order],
                           c["freq"][order], c["ax"][order], c["ay"][order], c["rssi"][order],
                           engine=engine, geometry=Geometry.from_header(batch.header))
    return ({batch.epcs[e.index]: e.x for e in found if e.localized},
            {batch.epcs[e.index]: e.x_interval for e in found if e.localized})


def plain(batch: ScanBatch) -> dict[str, float]:
    """The straightforward per-channel hologram of every tag (no calibration, no weights)."""
    c = batch.columns
    k = 4 * np.pi * c["freq"] / 299_792_458.0
    out = {}
    for i, epc in enumerate(batch.epcs):
        mine = batch.tag == i
        if mine.sum() >= 8:
            out[epc] = plain_hologram(c["phase"][mine], k[mine], c["ax"][mine], c["ay"][mine],
                                      np.unique(c["freq"][mine], return_inverse=True)[1])[0]
    return out


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("checkout", help="a checkout of github.com/dapowan/AdaRF")
    args.add_argument("--split", choices=["test", "train"], default="test")
    args.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "adarf-batches"))
    args.add_argument("--engine", choices=["cython", "numpy"], default=engines()[0])
    args.add_argument("--only", help="experiments whose name contains this")
    opts = args.parse_args()
    root = Path(opts.checkout)
    if not (root / "dataset" / "config.txt").is_file():
        print(f"no AdaRF checkout at {root} (dataset/config.txt): nothing to score")
        return 0
    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    ours, baseline = Scores([], [], []), Scores([], [], [])
    chosen = [e for e in experiments(root, opts.split) if not opts.only or opts.only in e.name]
    seconds = 0.0
    for experiment in chosen:
        batch = load(experiment, cache)
        started = time.perf_counter()
        x, intervals = localize(batch, opts.engine)
        seconds += time.perf_counter() - started
        score(experiment, batch, x, intervals, ours)
        score(experiment, batch, plain(batch), {}, baseline)
    print(f"AdaRF {opts.split}: {len(chosen)} experiments, {len(ours.errors)} tags placed "
          f"of {sum(len(e.epcs) for e in chosen)} ({opts.engine}, {seconds:.1f} s)")
    print(f"  ours                           {ours.line()}")
    print(f"  straightforward hologram       {baseline.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
