"""Per-channel phase offsets of a reader, learnt from its own scans.

A reader adds an unknown offset per channel, the same for every tag and stable for weeks.
When the reader hops to another channel, each tag's phase jumps by the difference of the
two offsets (plus a little for the change of frequency). Every tag seen across every hop
is a measurement of that difference; their circular mean over the batch, chained around
the channels the reader used, gives the offsets without knowing where any tag is.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

C = 299_792_458.0
MIN_RUN = 3  # reads of one tag on one channel needed to extrapolate its phase


def _edge(t: NDArray[np.float64], phase: NDArray[np.float64], at: float) -> float:
    """A run's phase extrapolated to time `at` (unwrapped, least squares line)."""
    unwrapped = np.unwrap(phase)
    dt = t - t.mean()
    spread = float(dt @ dt)
    slope = float(dt @ unwrapped) / spread if spread > 0 else 0.0
    return float(unwrapped.mean() + slope * (at - t.mean()))


def channel_offsets(tag: NDArray[np.int64], t: NDArray[np.float64],
                    phase: NDArray[np.float64], channel: NDArray[np.int64],
                    channels: int, distance_m: float = 0.35,
                    freqs: NDArray[np.float64] | None = None, max_tags: int = 400
                    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Each channel's offset relative to the first one the reader used, and which channels
    could be tied to it. Reads must be in time order. A few hundred tags tie 16 channels
    well: more only cost time."""
    sums = np.zeros((channels, channels), dtype=np.complex128)
    tags = np.unique(tag)
    if len(tags) > max_tags:
        tags = tags[np.linspace(0, len(tags) - 1, max_tags).astype(np.int64)]
    by_tag = np.argsort(tag, kind="stable")  # each tag's reads stay in time order
    bounds = np.searchsorted(tag[by_tag], np.stack([tags, tags + 1]))
    for low, high in bounds.T:
        mine = by_tag[low:high]
        runs = np.split(mine, np.flatnonzero(np.diff(channel[mine]) != 0) + 1)
        for before, after in itertools.pairwise(runs):
            if len(before) < MIN_RUN or len(after) < MIN_RUN:
                continue
            c1, c2 = int(channel[before[0]]), int(channel[after[0]])
            boundary = (t[before[-1]] + t[after[0]]) / 2
            jump = _edge(t[after], phase[after], boundary) - _edge(
                t[before], phase[before], boundary)
            if freqs is not None:  # the part of the jump that the change of frequency makes
                jump -= 4 * np.pi * (freqs[c2] - freqs[c1]) * distance_m / C
            sums[c1, c2] += np.exp(1j * jump)
            sums[c2, c1] += np.exp(-1j * jump)
    offsets = np.zeros(channels)
    known = np.zeros(channels, dtype=bool)
    used = np.flatnonzero(np.abs(sums).sum(axis=1) > 0)
    if len(used) == 0:
        return offsets, known
    known[used[0]] = True
    while True:  # tie channels to known ones, strongest links first
        links = np.abs(sums) * known[:, None] * ~known[None, :]
        src, dst = (int(i) for i in np.unravel_index(int(np.argmax(links)), links.shape))
        if links[src, dst] == 0:
            break
        offsets[dst] = offsets[src] + float(np.angle(sums[src, dst]))
        known[dst] = True
    return np.mod(offsets, 2 * np.pi), known


def with_prior(offsets: NDArray[np.float64], known: NDArray[np.bool_],
               freqs: NDArray[np.float64], prior: dict[float, float],
               min_known: int = 4) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """A scan's own offsets completed by a reader's kept ones (turned onto the scan's):
    channels the scan could not tie take the kept offset; a scan that tied fewer than
    `min_known` channels takes the kept ones outright."""
    kept = np.array([prior.get(float(f), np.nan) for f in freqs])
    have = ~np.isnan(kept)
    if not have.any():
        return offsets, known
    common = have & known
    if common.sum() < min_known:
        return np.where(have, np.mod(kept, 2 * np.pi), offsets), have | known
    turn = np.angle(np.exp(1j * (offsets[common] - kept[common])).sum())
    turned = np.mod(kept + turn, 2 * np.pi)
    filled = np.where(known, offsets, np.where(have, turned, offsets))
    return filled, known | have
