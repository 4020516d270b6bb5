"""The numpy twin of the Cython kernel: the same hologram, the same coarse-to-fine search.

For a candidate tag position (x, y) the expected phase of read i is kᵢ·dᵢ with
kᵢ = 4πfᵢ/c and dᵢ the antenna-to-tag distance. The per-channel offsets are unknown, so the
score sums, channel by channel, the length of Σ wᵢ·exp(j(θᵢ - kᵢdᵢ)) over that channel's
reads (the maximum-likelihood form for circular noise, blind to the offsets), divided by
the sum of the weights: 1 is a perfect fit. The search runs on a coarse grid over the
tag's window, then twice on finer grids around the best point; last, the score's curvature
along x at the best point says how sharply the reads pin x down.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

C = 299_792_458.0
# (half-width of the window in x (the first stage: the tag's own), in y, the step in x, in
# y, in metres; the read stride) per stage: the first, coarse stage looks at every 4th read
# only; y, which the report needs less, is searched more coarsely than x
STAGES = ((0.0, 0.0, 0.015, 0.03, 4), (0.015, 0.018, 0.003, 0.006, 1),
          (0.003, 0.0045, 0.0005, 0.0015, 1))
CURVATURE_STEP = 0.01  # metres either side of the best x where the curvature is measured


def score_grid(xs: NDArray[np.float64], ys: NDArray[np.float64],
               phase: NDArray[np.float64], k: NDArray[np.float64],
               ax: NDArray[np.float64], ay: NDArray[np.float64],
               channel: NDArray[np.int64], channels: int,
               weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """The hologram's score at every (x, y) of the grid (len(xs) by len(ys))."""
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    d = np.sqrt((gx[..., None] - ax) ** 2 + (gy[..., None] - ay) ** 2)
    rotated = weight * np.exp(1j * (phase - k * d))  # grid points by reads
    per_channel = np.zeros((*gx.shape, channels), dtype=np.complex128)
    for c in range(channels):
        mask = channel == c
        if mask.any():
            per_channel[..., c] = rotated[..., mask].sum(axis=-1)
    total = float(weight.sum())
    score: NDArray[np.float64] = (np.abs(per_channel).sum(axis=-1) / total if total > 0
                                  else np.zeros(gx.shape))
    return score


def localize_tag(phase: NDArray[np.float64], k: NDArray[np.float64],
                 ax: NDArray[np.float64], ay: NDArray[np.float64],
                 channel: NDArray[np.int64], channels: int, weight: NDArray[np.float64],
                 window: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """(x, y, score, curvature of the score along x) of one tag's best position inside
    its window (centre x, half-width in x, nearest y, farthest y)."""
    centre, half, y_low, y_high = (float(v) for v in window)
    best_x, best_y, best = centre, (y_low + y_high) / 2, 0.0
    for stage, (half_x, half_y, step_x, step_y, stride) in enumerate(STAGES):
        if stage == 0:
            xs = np.arange(centre - half, centre + half + step_x / 2, step_x)
            ys = np.arange(y_low, y_high + step_y / 2, step_y)
        else:
            xs = np.arange(best_x - half_x, best_x + half_x + step_x / 2, step_x)
            ys = np.arange(best_y - half_y, best_y + half_y + step_y / 2, step_y)
        s = slice(None, None, stride)
        scores = score_grid(xs, ys, phase[s], k[s], ax[s], ay[s], channel[s], channels,
                            weight[s])
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        best_x, best_y, best = float(xs[i]), float(ys[j]), float(scores[i, j])
    h = CURVATURE_STEP
    around = score_grid(np.array([best_x - h, best_x + h]), np.array([best_y]), phase, k,
                        ax, ay, channel, channels, weight)
    curvature = (2 * best - float(around[0, 0]) - float(around[1, 0])) / (h * h)
    return best_x, best_y, best, curvature


def localize_all(offsets: NDArray[np.int64], phase: NDArray[np.float64],
                 k: NDArray[np.float64], ax: NDArray[np.float64], ay: NDArray[np.float64],
                 channel: NDArray[np.int64], channels: int, weight: NDArray[np.float64],
                 windows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every tag of a batch whose reads are grouped by tag (tag t's reads are
    offsets[t]:offsets[t+1]), each searched inside its row of `windows`; rows of
    (x, y, score, curvature). Reads of one channel form one coherent group; after
    calibration, give every read channel 0."""
    out = np.zeros((len(offsets) - 1, 4))
    for t in range(len(offsets) - 1):
        s = slice(int(offsets[t]), int(offsets[t + 1]))
        if s.stop > s.start:
            out[t] = localize_tag(phase[s], k[s], ax[s], ay[s], channel[s], channels,
                                  weight[s], windows[t])
    return out


def plain_hologram(phase: NDArray[np.float64], k: NDArray[np.float64],
                   ax: NDArray[np.float64], ay: NDArray[np.float64],
                   channel: NDArray[np.int64], half_x: float = 0.20,
                   depth: tuple[float, float] = (0.05, 0.80)) -> tuple[float, float]:
    """The straightforward per-channel hologram (the baseline every figure is set
    beside): unit weights, no calibration, the window around the reads' mean x."""
    channels = int(channel.max()) + 1
    window = np.array([float(ax.mean()), half_x, float(ay.mean()) + depth[0],
                       float(ay.mean()) + depth[1]])
    x, y, _, _ = localize_tag(phase, k, ax, ay, channel, channels, np.ones(len(phase)),
                              window)
    return x, y
