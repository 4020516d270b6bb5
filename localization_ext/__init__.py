"""RFID localization: a Cython kernel and its numpy twin (standalone: numpy only).

`localize_batch` places every tag of a shelf scan: it learns the reader's per-channel phase
offsets from the scan itself, runs the hologram search (Cython when built, numpy
otherwise, or as asked) inside the robot's geometry, searches again with the reads the
first fit cannot explain weighed down, gives each tag a 90% interval along the shelf, and
says for each tag whether the estimate can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
ROBUST_RAD = 0.5  # a read this far off the first fit counts half (Cauchy weights)
LOBE_POWER = 4.0  # the second search weighs a read by cos⁴ of its angle off boresight
# the 90% interval's half-width: INTERVAL_SCALE times the misfit width (how far x moves
# before the score drops by what the fit leaves unexplained), and at least INTERVAL_FLOOR;
# calibrated on realistic simulated shelves and on real readings (tests/bench)
INTERVAL_SCALE = 5.5
INTERVAL_FLOOR = 0.004


def engines() -> list[str]:
    """The engines this installation has."""
    return ["cython", "numpy"] if _hologram is not None else ["numpy"]


@dataclass(frozen=True)
class Geometry:
    """Where a robot's tags can be: `depth_m` the nearest and farthest a tag stands behind
    the antenna's path, `window_m` how far along the shelf from the centre of its strongest
    reads (metres). The defaults suit a robot passing 0.05-0.8 m from the books."""

    depth_m: tuple[float, float] = (0.05, 0.80)
    window_m: float = 0.20

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> Geometry:
        """The geometry a batch header gives (`depth_m`, `window_m`), defaults elsewhere."""
        depth = header.get("depth_m")
        window = header.get("window_m")
        return cls(depth_m=(float(depth[0]), float(depth[1])) if depth else cls.depth_m,
                   window_m=float(window) if window is not None else cls.window_m)


@dataclass(frozen=True)
class TagEstimate:
    """Where a tag is along the shelf (x, with its 90% interval) and out from it (y), and
    how sure that is."""

    index: int
    x: float
    y: float
    reads: int
    confidence: float
    localized: bool
    x_interval: tuple[float, float]


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


def _residuals(found: NDArray[np.float64], starts: NDArray[np.int64],
               phase: NDArray[np.float64], k: NDArray[np.float64], ax: NDArray[np.float64],
               ay: NDArray[np.float64], groups: NDArray[np.int64],
               count: int) -> NDArray[np.float64]:
    """Each read's phase off the fit of its tag (radians), after its tag's and channel's
    constant is taken out."""
    owner = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    d = np.hypot(found[owner, 0] - ax, found[owner, 1] - ay)
    rotated = np.exp(1j * (phase - k * d))
    key = owner * count + groups
    size = (len(starts) - 1) * count
    mean = (np.bincount(key, rotated.real, minlength=size)
            + 1j * np.bincount(key, rotated.imag, minlength=size))
    off: NDArray[np.float64] = np.abs(np.angle(rotated * np.exp(-1j * np.angle(mean[key]))))
    return off


def _run(engine: str, args: tuple[Any, ...], threads: int) -> NDArray[np.float64]:
    if engine == "cython":
        found: NDArray[np.float64] = _hologram.localize_all(*args, threads=threads)
    else:
        found = _hologram_py.localize_all(*args)
    return found


def localize_batch(tag: NDArray[np.int64], tags: int, t: NDArray[np.float64],
                   phase: NDArray[np.float64], freq: NDArray[np.float64],
                   ax: NDArray[np.float64], ay: NDArray[np.float64],
                   rssi: NDArray[np.float64], *, engine: str = "cython",
                   calibrate: bool = True, prior: dict[float, float] | None = None,
                   own: tuple[NDArray[np.float64], NDArray[np.bool_]] | None = None,
                   geometry: Geometry | None = None, robust: bool = True,
                   threads: int = 0) -> list[TagEstimate]:
    """Every tag of a scan (reads in time order, `tag` indexing 0..tags-1). `prior`: the
    reader's kept offsets by frequency, which complete the scan's own; `own`: the scan's
    own (`scan_offsets`), when the caller has them already; `geometry`: the robot's
    (defaults otherwise); `robust`: search again with the reads the first fit cannot
    explain weighed down."""
    if engine not in engines():
        raise ValueError(f"engine {engine!r} is not available here; use one of {engines()}")
    geometry = geometry or Geometry()
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
    s_phase, s_k = np.ascontiguousarray(adjusted[order]), np.ascontiguousarray(
        4 * np.pi * freq[order] / C)
    s_ax, s_ay = np.ascontiguousarray(ax[order]), np.ascontiguousarray(ay[order])
    s_groups = np.ascontiguousarray(groups[order])
    strength = 10 ** (rssi[order] / 20)
    reads = np.diff(starts)
    owner = np.repeat(np.arange(tags), reads)
    total = np.maximum(np.bincount(owner, strength, minlength=tags), 1e-300)
    centre = np.bincount(owner, strength * s_ax, minlength=tags) / total
    base_y = np.bincount(owner, s_ay, minlength=tags) / np.maximum(reads, 1)
    windows = np.ascontiguousarray(np.stack([
        centre, np.full(tags, geometry.window_m), base_y + geometry.depth_m[0],
        base_y + geometry.depth_m[1]], axis=1))
    unit = np.ones(len(s_phase))
    found = _run(engine, (starts, s_phase, s_k, s_ax, s_ay, s_groups, count, unit, windows),
                 threads)
    if robust:
        off = _residuals(found, starts, s_phase, s_k, s_ax, s_ay, s_groups, count)
        across = np.abs(found[owner, 0] - s_ax)
        boresight = np.abs(found[owner, 1] - s_ay) / np.hypot(across, found[owner, 1] - s_ay)
        weight = np.ascontiguousarray(boresight ** LOBE_POWER / (1 + (off / ROBUST_RAD) ** 2))
        near = np.ascontiguousarray(np.stack([  # the fine stages alone, around the first fit
            found[:, 0], np.zeros(tags), found[:, 1], found[:, 1]], axis=1))
        found = _run(engine, (starts, s_phase, s_k, s_ax, s_ay, s_groups, count, weight,
                              near), threads)
    out = []
    for i in range(tags):
        s = slice(int(starts[i]), int(starts[i + 1]))
        n = s.stop - s.start
        span = float(s_ax[s].max() - s_ax[s].min()) if n else 0.0
        score, curvature = float(found[i, 2]), float(found[i, 3])
        confidence = score * min(1.0, span / 0.3) * min(1.0, n / 30)
        localized = n >= MIN_READS and span >= MIN_SPAN_M and score >= MIN_SCORE
        half = interval_half_width(score, curvature)
        out.append(TagEstimate(i, float(found[i, 0]), float(found[i, 1]), n,
                               round(confidence, 3), localized,
                               (float(found[i, 0]) - half, float(found[i, 0]) + half)))
    return out


def misfit_width(score: float, curvature: float) -> float:
    """How far x can move before the score drops by what the fit leaves unexplained
    (metres): wide when the peak is blunt or the reads fit the model poorly."""
    return float(np.sqrt(max(1.0 - score, 1e-4) / max(curvature, 1e-3)))


def interval_half_width(score: float, curvature: float) -> float:
    """Half the width of a tag's 90% interval along the shelf (metres)."""
    return max(INTERVAL_FLOOR, INTERVAL_SCALE * misfit_width(score, curvature))
