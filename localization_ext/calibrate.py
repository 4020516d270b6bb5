"""Per-channel phase offsets of a reader, learnt from its own scans.

A reader adds an unknown offset per channel, the same for every tag and stable for weeks.
When the reader hops to another channel, each tag's phase jumps by the difference of the
two offsets (plus a little for the change of frequency). Every tag seen across every hop
is a measurement of that difference; their circular mean over the batch, chained around
the channels the reader used, gives the offsets without knowing where any tag is.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

C = 299_792_458.0
MIN_RUN = 3  # reads of one tag on one channel needed to extrapolate its phase


def _runs(tag: NDArray[np.int64], t: NDArray[np.float64], phase: NDArray[np.float64],
          channel: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                               NDArray[np.float64], NDArray[np.float64]]:
    """The runs of reads of one tag on one channel (reads grouped by tag, in time order):
    each run's first and last read, and its phase extrapolated (unwrapped, least squares
    line) to its first and to its last read's time."""
    first = np.flatnonzero(np.concatenate([[True], (np.diff(tag) != 0)
                                           | (np.diff(channel) != 0)]))
    last = np.append(first[1:], len(tag)) - 1
    run = np.cumsum(np.isin(np.arange(len(tag)), first)) - 1
    # unwrap within each run as np.unwrap does: each step taken to within ±π
    step = np.diff(phase, prepend=phase[0])
    wrapped = np.mod(step + np.pi, 2 * np.pi) - np.pi
    wrapped[(wrapped == -np.pi) & (step > 0)] = np.pi
    wrapped = np.where(np.abs(step) < np.pi, step, wrapped)
    wrapped[first] = 0.0
    climbed = np.cumsum(wrapped)
    unwrapped = phase[first][run] + climbed - climbed[first][run]
    size = np.diff(np.append(first, len(tag))).astype(np.float64)
    t_mean = np.bincount(run, t) / size
    u_mean = np.bincount(run, unwrapped) / size
    dt = t - t_mean[run]
    spread = np.bincount(run, dt * dt)
    slope = np.divide(np.bincount(run, dt * unwrapped), spread, out=np.zeros(len(first)),
                      where=spread > 0)
    return (first, last, u_mean + slope * (t[first] - t_mean),
            u_mean + slope * (t[last] - t_mean))


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
    mine = np.flatnonzero(np.isin(tag, tags))
    mine = mine[np.argsort(tag[mine], kind="stable")]  # each tag's reads stay in time order
    if len(mine) == 0:
        return np.zeros(channels), np.zeros(channels, dtype=bool)
    r_tag, r_t, r_channel = tag[mine], t[mine], channel[mine]
    first, last, at_first, at_last = _runs(r_tag, r_t, phase[mine], r_channel)
    # a hop: a run and the next of the same tag, both long enough; each run's line is
    # taken to the time halfway between them (its edge extrapolated from its ends)
    long_enough = (last - first + 1) >= MIN_RUN
    hop = np.flatnonzero((r_tag[first[1:]] == r_tag[first[:-1]]) & long_enough[:-1]
                         & long_enough[1:])
    before, after = hop, hop + 1
    boundary = (r_t[last[before]] + r_t[first[after]]) / 2
    slope_b = np.divide(at_last[before] - at_first[before],
                        r_t[last[before]] - r_t[first[before]],
                        out=np.zeros(len(hop)), where=last[before] > first[before])
    slope_a = np.divide(at_last[after] - at_first[after],
                        r_t[last[after]] - r_t[first[after]],
                        out=np.zeros(len(hop)), where=last[after] > first[after])
    jump = ((at_first[after] + slope_a * (boundary - r_t[first[after]]))
            - (at_last[before] + slope_b * (boundary - r_t[last[before]])))
    c1, c2 = r_channel[first[before]], r_channel[first[after]]
    if freqs is not None:  # the part of the jump that the change of frequency makes
        jump = jump - 4 * np.pi * (freqs[c2] - freqs[c1]) * distance_m / C
    turn = np.exp(1j * jump)
    np.add.at(sums, (c1, c2), turn)
    np.add.at(sums, (c2, c1), np.conj(turn))
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
