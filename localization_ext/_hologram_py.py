"""The numpy twin of the Cython kernel: the same hologram, the same coarse-to-fine search.

For a candidate tag position (x, y) the expected phase of read i is kᵢ·dᵢ with
kᵢ = 4πfᵢ/c and dᵢ the antenna-to-tag distance. The per-channel offsets are unknown, so the
score sums, channel by channel, the length of Σ exp(j(θᵢ - kᵢdᵢ)) over that channel's
reads (the maximum-likelihood form for circular noise, blind to the offsets), divided by
the number of reads: 1 is a perfect fit. The search runs on a coarse grid, then twice on
finer grids around the best point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

C = 299_792_458.0
# (half-width of the window in x, in y, the step, in metres; the read stride) per stage:
# the first, coarse stage looks at every 4th read only
STAGES = ((0.20, 0.0, 0.015, 4), (0.015, 0.015, 0.003, 1), (0.003, 0.003, 0.0005, 1))
Y_RANGE = (0.05, 0.80)  # first stage: how far behind the antenna's path a tag may be


def score_grid(xs: NDArray[np.float64], ys: NDArray[np.float64],
               phase: NDArray[np.float64], k: NDArray[np.float64],
               ax: NDArray[np.float64], ay: NDArray[np.float64],
               channel: NDArray[np.int64], channels: int) -> NDArray[np.float64]:
    """The hologram's score at every (x, y) of the grid (len(xs) by len(ys))."""
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    d = np.sqrt((gx[..., None] - ax) ** 2 + (gy[..., None] - ay) ** 2)
    rotated = np.exp(1j * (phase - k * d))  # grid points by reads
    per_channel = np.zeros((*gx.shape, channels), dtype=np.complex128)
    for c in range(channels):
        mask = channel == c
        if mask.any():
            per_channel[..., c] = rotated[..., mask].sum(axis=-1)
    score: NDArray[np.float64] = np.abs(per_channel).sum(axis=-1) / len(phase)
    return score


def localize_tag(phase: NDArray[np.float64], k: NDArray[np.float64],
                 ax: NDArray[np.float64], ay: NDArray[np.float64],
                 channel: NDArray[np.int64], channels: int,
                 weight: NDArray[np.float64]) -> tuple[float, float, float]:
    """(x, y, score) of one tag's best position; `weight` centres the first window."""
    base_y = float(np.mean(ay))
    best_x, best_y = float(np.average(ax, weights=weight)), base_y + sum(Y_RANGE) / 2
    best = 0.0
    for stage, (half_x, half_y, step, stride) in enumerate(STAGES):
        xs = np.arange(best_x - half_x, best_x + half_x + step / 2, step)
        if stage == 0:
            ys = np.arange(base_y + Y_RANGE[0], base_y + Y_RANGE[1] + step / 2, step)
        else:
            ys = np.arange(best_y - half_y, best_y + half_y + step / 2, step)
        s = slice(None, None, stride)
        scores = score_grid(xs, ys, phase[s], k[s], ax[s], ay[s], channel[s], channels)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        best_x, best_y, best = float(xs[i]), float(ys[j]), float(scores[i, j])
    return best_x, best_y, best


def localize_all(offsets: NDArray[np.int64], phase: NDArray[np.float64],
                 k: NDArray[np.float64], ax: NDArray[np.float64], ay: NDArray[np.float64],
                 channel: NDArray[np.int64], channels: int, weight: NDArray[np.float64]
                 ) -> NDArray[np.float64]:
    """Every tag of a batch whose reads are grouped by tag (tag t's reads are
    offsets[t]:offsets[t+1]); rows of (x, y, score). Reads of one channel form one
    coherent group; after calibration, give every read channel 0."""
    out = np.zeros((len(offsets) - 1, 3))
    for t in range(len(offsets) - 1):
        s = slice(int(offsets[t]), int(offsets[t + 1]))
        if s.stop > s.start:
            out[t] = localize_tag(phase[s], k[s], ax[s], ay[s], channel[s], channels,
                                  weight[s])
    return out
