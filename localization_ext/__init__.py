"""RFID localization: a Cython kernel and its numpy twin (standalone: numpy only).

`localize_batch` places every tag of a shelf scan: it learns the reader's per-channel phase
offsets from the scan itself, runs the hologram search (Cython when built, numpy
otherwise, or as asked), and says for each tag whether the estimate can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from localization_ext import _hologram_py
from localization_ext.calibrate import channel_offsets, with_prior

try:
    from localization_ext import _hologram  # type: ignore[attr-defined]
except ImportError:  # not built: the numpy twin does the same, slower
    _hologram = None

C = 299_792_458.0
MIN_READS = 8  # fewer reads than this: unlocalized
MIN_SPAN_M = 0.10  # reads from a shorter stretch of the pass: unlocalized
MIN_SCORE = 0.5  # a hologram peak weaker than this: unlocalized


def engines() -> list[str]:
    """The engines this installation has."""
    return ["cython", "numpy"] if _hologram is not None else ["numpy"]


@dataclass(frozen=True)
class TagEstimate:
    """Where a tag is along the shelf (x) and out from it (y), and how sure that is."""

    index: int
    x: float
    y: float
    reads: int
    confidence: float
    localized: bool


def scan_offsets(tag: NDArray[np.int64], t: NDArray[np.float64], phase: NDArray[np.float64],
                 freq: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The reader's per-channel offsets as this scan alone shows them (by sorted channel),
    and which channels it could tie."""
    freqs, channel = np.unique(freq, return_inverse=True)
    return channel_offsets(tag, t, phase, channel, len(freqs), freqs=freqs)


def offsets_by_frequency(freq: NDArray[np.float64], offsets: NDArray[np.float64],
                         known: NDArray[np.bool_]) -> dict[float, float]:
    """The tied channels' offsets, keyed by frequency (what a robot's calibration keeps)."""
    return {float(f): float(o) for f, o, k in zip(np.unique(freq), offsets, known,
                                                   strict=True) if k}


def localize_batch(tag: NDArray[np.int64], tags: int, t: NDArray[np.float64],
                   phase: NDArray[np.float64], freq: NDArray[np.float64],
                   ax: NDArray[np.float64], ay: NDArray[np.float64],
                   rssi: NDArray[np.float64], *, engine: str = "cython",
                   calibrate: bool = True, prior: dict[float, float] | None = None,
                   own: tuple[NDArray[np.float64], NDArray[np.bool_]] | None = None,
                   threads: int = 0) -> list[TagEstimate]:
    """Every tag of a scan (reads in time order, `tag` indexing 0..tags-1). `prior`: the
    reader's kept offsets by frequency, which complete the scan's own; `own`: the scan's
    own (`scan_offsets`), when the caller has them already."""
    if engine not in engines():
        raise ValueError(f"engine {engine!r} is not available here; use one of {engines()}")
    freqs, channel = np.unique(freq, return_inverse=True)
    groups, count = channel.astype(np.int64), len(freqs)
    adjusted = phase
    if calibrate:
        offsets, known = own if own is not None else scan_offsets(tag, t, phase, freq)
        if prior:
            offsets, known = with_prior(offsets, known, freqs, prior)
        adjusted = np.mod(phase - offsets[channel], 2 * np.pi)
        remap = np.zeros(len(freqs), dtype=np.int64)
        remap[~known] = 1 + np.arange(int((~known).sum()))
        groups, count = remap[channel], 1 + int((~known).sum())
    order = np.argsort(tag, kind="stable")
    starts = np.searchsorted(tag[order], np.arange(tags + 1)).astype(np.int64)
    args = (starts, np.ascontiguousarray(adjusted[order]),
            np.ascontiguousarray(4 * np.pi * freq[order] / C),
            np.ascontiguousarray(ax[order]), np.ascontiguousarray(ay[order]),
            np.ascontiguousarray(groups[order]), count,
            np.ascontiguousarray(10 ** (rssi[order] / 20)))
    if engine == "cython":
        found = _hologram.localize_all(*args, threads=threads)
    else:
        found = _hologram_py.localize_all(*args)
    out = []
    sorted_ax = args[3]
    for i in range(tags):
        s = slice(int(starts[i]), int(starts[i + 1]))
        reads = s.stop - s.start
        span = float(sorted_ax[s].max() - sorted_ax[s].min()) if reads else 0.0
        score = float(found[i, 2])
        confidence = score * min(1.0, span / 0.3) * min(1.0, reads / 30)
        localized = reads >= MIN_READS and span >= MIN_SPAN_M and score >= MIN_SCORE
        out.append(TagEstimate(i, float(found[i, 0]), float(found[i, 1]), reads,
                               round(confidence, 3), localized))
    return out
