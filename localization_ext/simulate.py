"""A shelf scan as a UHF RFID reader on a robot records it, for tests, demos and vendors.

The physics of DESIGN.md: θ = (4π·d·f/c + θ_channel + θ_tag) mod 2π plus noise, with 16
channels hopping in 920.625-924.375 MHz, phase noise growing as the signal weakens, reads
growing sparse at the edge of the beam, and a robot driving at 0.1-0.3 m/s. Impairments
a clean model leaves out come with a strength each (0 turns one off; 1 is what real readers
show): a reflection off the shelf's back panel, odometry drift, the antenna's
angle-dependent phase, each tag's own phase pattern over the viewing angle, coupling
between tags closer than half a wavelength, and diffuse multipath from many weak
scatterers around the shelf. `Impairments.realistic()` turns on those real shelves have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO

import numpy as np
from numpy.typing import NDArray

C = 299_792_458.0
CHANNELS = 920.625e6 + 0.25e6 * np.arange(16)


@dataclass(frozen=True)
class Impairments:
    """Strengths of what real shelves add (0 = off; 1 = a realistic default)."""

    reflection: float = 0.0  # the shelf's back panel: a second, weaker path
    drift: float = 0.0  # odometry: the robot's x drifts ~1 cm per metre at 1
    antenna_phase: float = 0.0  # phase that depends on the angle off boresight
    orientation: float = 0.0  # each tag's own phase pattern over the viewing angle
    coupling: float = 0.0  # neighbours closer than half a wavelength re-radiate into the reply
    multipath: float = 0.0  # diffuse multipath: weak scatterers around the shelf

    @classmethod
    def all(cls, strength: float = 1.0) -> Impairments:
        """Every impairment at the same strength."""
        return cls(strength, strength, strength, strength, strength, strength)

    @classmethod
    def realistic(cls) -> Impairments:
        """What a real shelf shows (the simulator's realistic default): each tag's own
        phase pattern, coupling between close tags, diffuse multipath, a back panel, the
        antenna's phase; odometry kept exact (a robot's own calibration matter)."""
        return cls(reflection=1.0, antenna_phase=1.0, orientation=1.0, coupling=1.0,
                   multipath=1.0)


@dataclass(frozen=True)
class Setup:
    """A shelf and a pass along it."""

    books: int = 40
    spacing_m: float = 0.03
    distance_m: float = 0.30  # from the antenna's path to the shelf face
    speed_m_s: float = 0.2
    read_rate_hz: float = 300.0  # reads per second, shared by the tags in the beam
    beam_deg: float = 45.0  # half-width of the beam
    sigma_rad: float = 0.1  # phase noise at a strong signal
    seed: int = 1
    reader_seed: int | None = None  # the same seed, the same reader (its channel offsets)
    impairments: Impairments = field(default_factory=Impairments)


@dataclass
class Scan:
    """The reads of one pass, and the truth behind them."""

    epc: list[str]
    t: NDArray[np.float64]
    tag: NDArray[np.int64]  # index into epc
    phase: NDArray[np.float64]
    rssi: NDArray[np.float64]
    freq: NDArray[np.float64]
    ax: NDArray[np.float64]
    ay: NDArray[np.float64]
    az: NDArray[np.float64]
    true_x: NDArray[np.float64]
    true_y: NDArray[np.float64]
    channel_offset: NDArray[np.float64] | None = None  # the reader's, by channel


SCATTERERS = 20  # diffuse multipath: this many weak point scatterers per shelf
SCATTER_GAIN = 0.12  # each one's reflection, relative to the direct path, at strength 1


def _scatterers(rng: np.random.Generator, start: float, end: float,
                distance: float) -> NDArray[np.float64]:
    """Rows of (x, y, gain, phase) of the scatterers around a shelf: the shelf's frame and
    its neighbours' books behind the face, the floor and fittings either side of the path."""
    x = rng.uniform(start, end, SCATTERERS)
    y = np.where(rng.uniform(0, 1, SCATTERERS) < 0.6, rng.uniform(0.02, 0.5, SCATTERERS),
                 -distance + rng.uniform(-0.5, 0.3, SCATTERERS))
    return np.stack([x, y, rng.rayleigh(SCATTER_GAIN / 1.25, SCATTERERS),
                     rng.uniform(0, 2 * np.pi, SCATTERERS)], axis=1)


def _signal(imp: Impairments, k: NDArray[np.float64], distance: NDArray[np.float64],
            dx: NDArray[np.float64], dy: NDArray[np.float64], tag: NDArray[np.int64],
            true_x: NDArray[np.float64], true_y: NDArray[np.float64],
            ax: NDArray[np.float64], ay: NDArray[np.float64],
            scatterers: NDArray[np.float64],
            pair_phase: NDArray[np.float64]) -> NDArray[np.complex128]:
    """The reply as the antenna hears it (round trip): the direct path, and what the shelf
    adds."""
    # one way: the direct path plus each scatterer's (antenna -> scatterer -> tag); the
    # reply comes back the same ways, so the round trip is the one-way channel squared
    way: NDArray[np.complex128] = np.exp(1j * (k / 2 * distance))
    if imp.multipath:
        for sx, sy, gain, turn in scatterers:
            path = np.hypot(ax - sx, ay - sy) + np.hypot(true_x[tag] - sx, true_y[tag] - sy)
            way = way + imp.multipath * gain * np.exp(1j * (k / 2 * path + turn))
    signal: NDArray[np.complex128] = way * way
    if imp.reflection:
        back = np.hypot(dx, dy + 2 * 0.25)  # a back panel 25 cm behind the face
        signal = signal + 0.25 * imp.reflection * np.exp(1j * (k * back))
    if imp.coupling:  # neighbours re-radiate, each pair with its own phase: strongly
        for side in (-2, -1, 1, 2):  # within a few cm, fading by half a wavelength
            other = np.clip(tag + side, 0, len(true_x) - 1)
            gap = np.abs(true_x[other] - true_x[tag])
            kappa = 0.8 * imp.coupling * np.exp(-gap / 0.04) * (other != tag)
            turn = pair_phase[np.minimum(tag, other), np.abs(side) - 1]
            signal = signal + kappa * np.exp(1j * (k * np.hypot(true_x[other] - ax, dy)
                                                   + turn))
    return signal


def simulate(setup: Setup) -> Scan:
    """One pass of the robot along a shelf of books with a tag each."""
    rng = np.random.default_rng(setup.seed)
    n = setup.books
    jitter = rng.uniform(-0.2, 0.2, n) * setup.spacing_m
    true_x = np.sort(0.2 + np.arange(n) * setup.spacing_m + jitter)
    true_y = rng.uniform(-0.01, 0.01, n)  # spines not quite flush with the face
    channel_offset = rng.uniform(0, 2 * np.pi, len(CHANNELS))
    if setup.reader_seed is not None:
        channel_offset = np.random.default_rng(setup.reader_seed).uniform(0, 2 * np.pi,
                                                                          len(CHANNELS))
    tag_offset = rng.uniform(0, 2 * np.pi, n)
    start, end = float(true_x.min()) - 0.5, float(true_x.max()) + 0.5
    duration = (end - start) / setup.speed_m_s
    reads = int(duration * setup.read_rate_hz)
    t = np.sort(rng.uniform(0, duration, reads))
    ax_true = start + setup.speed_m_s * t
    ay = np.full(reads, -setup.distance_m)
    # the reader singulates one of the tags in its beam (the books are in x order)
    reach = setup.distance_m * np.tan(np.radians(setup.beam_deg))
    lo = np.searchsorted(true_x, ax_true - reach)
    hi = np.maximum(np.searchsorted(true_x, ax_true + reach), lo + 1)
    tag = np.minimum(lo + (rng.uniform(0, 1, reads) * (hi - lo)).astype(np.int64), n - 1)
    dx = true_x[tag] - ax_true
    dy = true_y[tag] - ay
    angle = np.degrees(np.arctan2(np.abs(dx), dy))
    distance = np.hypot(dx, dy)
    seen = (angle < setup.beam_deg) & (rng.uniform(0, 1, reads) <
                                       np.cos(np.radians(angle)) ** 2)
    t, tag, ax_true, ay, dx, dy, angle, distance = (
        a[seen] for a in (t, tag, ax_true, ay, dx, dy, angle, distance))
    channel = ((t * 5).astype(np.int64) * 7 + 3) % len(CHANNELS)  # hops every 200 ms
    freq = CHANNELS[channel]
    k = 4 * np.pi * freq / C
    imp = setup.impairments
    scatterers = _scatterers(np.random.default_rng([setup.seed, 1]), start, end,
                             setup.distance_m)
    pair_phase = np.random.default_rng([setup.seed, 3]).uniform(0, 2 * np.pi, (n, 2))
    signal = _signal(imp, k, distance, dx, dy, tag, true_x, true_y, ax_true, ay, scatterers,
                     pair_phase)
    theta = np.angle(signal) + channel_offset[channel] + tag_offset[tag]
    if imp.orientation:  # each tag's own pattern: a slope and a bend over the viewing angle
        shape = np.random.default_rng([setup.seed, 2]).normal(0, 1, (n, 2))
        off = np.radians(np.sign(dx) * angle)
        theta = theta + imp.orientation * (0.6 * shape[tag, 0] * off
                                           + 0.8 * shape[tag, 1] * off ** 2)
    if imp.antenna_phase:
        theta = theta + 0.3 * imp.antenna_phase * np.radians(angle) ** 2
    rssi = -40 - 20 * np.log10(distance / 0.3) - 0.15 * angle
    sigma = setup.sigma_rad * np.clip(10 ** ((-45 - rssi) / 20), 1, 10)
    phase = np.mod(theta + rng.normal(0, 1, len(theta)) * sigma, 2 * np.pi)
    ax = ax_true + imp.drift * 0.01 * (ax_true - start)  # odometry reports a drifted x
    az = np.full(len(t), 1.0)
    epc = [f"E280116060000{i:011X}" for i in range(n)]
    return Scan(epc, t, tag, phase, rssi, freq, ax, ay, az, true_x, true_y, channel_offset)


def write_batch(scan: Scan, out: IO[str], shelf: str = "A-01", robot: str = "sim-1",
                batch_id: str = "sim") -> None:
    """The scan as the robots' NDJSON upload format."""
    out.write(json.dumps({"type": "header", "batch_id": batch_id, "robot": robot,
                          "shelf": shelf, "layer": 1}) + "\n")
    for i in range(len(scan.t)):
        out.write(json.dumps({
            "t": round(float(scan.t[i]), 4), "epc": scan.epc[scan.tag[i]],
            "phase": round(float(scan.phase[i]), 5), "rssi": round(float(scan.rssi[i]), 1),
            "freq": float(scan.freq[i]), "ax": round(float(scan.ax[i]), 5),
            "ay": round(float(scan.ay[i]), 5), "az": round(float(scan.az[i]), 5)}) + "\n")


def truth(scan: Scan) -> list[dict[str, object]]:
    """Where each tag really is."""
    return [{"epc": e, "x": float(x), "y": float(y)}
            for e, x, y in zip(scan.epc, scan.true_x, scan.true_y, strict=True)]
