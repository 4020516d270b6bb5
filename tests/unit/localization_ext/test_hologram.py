"""The Cython kernel against its numpy twin, the calibration, and accuracy on simulations."""

from __future__ import annotations

import numpy as np
import pytest

from localization_ext import (
    _hologram_py,
    engines,
    localize_batch,
    offsets_by_frequency,
    scan_offsets,
)
from localization_ext.calibrate import channel_offsets
from localization_ext.simulate import Impairments, Scan, Setup, simulate

needs_kernel = pytest.mark.skipif("cython" not in engines(), reason="the kernel is not built")


def _run(scan: Scan, engine: str, calibrate: bool = True) -> tuple[np.ndarray, list]:  # type: ignore[type-arg]
    found = localize_batch(scan.tag, len(scan.epc), scan.t, scan.phase, scan.freq, scan.ax,
                           scan.ay, scan.rssi, engine=engine, calibrate=calibrate)
    return np.array([[e.x, e.y] for e in found]), found


@needs_kernel
def test_kernel_and_twin_agree_on_random_inputs() -> None:
    from localization_ext import _hologram  # noqa: PLC0415

    rng = np.random.default_rng(7)
    for _ in range(5):
        tags = 6
        # enough reads per channel that the best grid point is one (a single read per
        # channel fits everywhere perfectly, and ties fall to rounding)
        sizes = rng.integers(30, 80, tags)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(offsets[-1])
        channels = int(rng.integers(1, 4))
        args = (offsets, rng.uniform(0, 2 * np.pi, n), rng.uniform(38, 39, n),
                rng.uniform(0, 2, n), rng.uniform(-0.4, -0.2, n),
                rng.integers(0, channels, n).astype(np.int64), channels,
                rng.uniform(0.1, 1, n))
        twin = _hologram_py.localize_all(*args)
        kernel = _hologram.localize_all(*args)
        assert np.allclose(kernel, twin, atol=1e-9)
        assert np.array_equal(kernel, _hologram.localize_all(*args, threads=1))


def test_calibration_recovers_the_reader_offsets() -> None:
    scan = simulate(Setup(books=60, seed=11))
    freqs, channel = np.unique(scan.freq, return_inverse=True)
    offsets, known = channel_offsets(scan.tag, scan.t, scan.phase, channel, len(freqs),
                                     freqs=freqs)
    assert known.all()
    rng = np.random.default_rng(11)  # the simulator draws the true offsets first
    rng.uniform(-0.2, 0.2, 60)
    rng.uniform(-0.01, 0.01, 60)
    truth = rng.uniform(0, 2 * np.pi, 16)
    relative = np.angle(np.exp(1j * ((offsets - offsets[0]) - (truth - truth[0]))))
    assert np.abs(relative).max() < 0.15  # radians, after chaining 16 channels


@pytest.mark.parametrize("engine", engines())
def test_clean_shelf_is_placed_to_the_millimetre_and_in_order(engine: str) -> None:
    scan = simulate(Setup(books=40, spacing_m=0.03, seed=3))
    placed, found = _run(scan, engine)
    error = np.abs(placed[:, 0] - scan.true_x)
    assert np.median(error) < 0.005
    assert np.percentile(error, 90) < 0.015
    assert all(e.localized for e in found)
    assert np.all(np.diff(placed[np.argsort(scan.true_x), 0]) > 0)  # adjacent order


def test_calibration_beats_the_uncalibrated_hologram() -> None:
    scan = simulate(Setup(books=40, spacing_m=0.03, seed=3,
                          impairments=Impairments(reflection=1)))
    calibrated, _ = _run(scan, "numpy")
    plain, _ = _run(scan, "numpy", calibrate=False)
    err = np.median(np.abs(calibrated[:, 0] - scan.true_x))
    assert err < np.median(np.abs(plain[:, 0] - scan.true_x)) / 2


def test_a_tag_read_a_few_times_is_not_given_a_place() -> None:
    scan = simulate(Setup(books=10, seed=5))
    keep = (scan.tag != 4) | (np.arange(len(scan.tag)) % 15 == 0)  # tag 4: a few reads
    sparse = Scan(scan.epc, *(a[keep] for a in (scan.t, scan.tag, scan.phase, scan.rssi,
                                                 scan.freq, scan.ax, scan.ay, scan.az)),
                  scan.true_x, scan.true_y)
    _, found = _run(sparse, "numpy")
    assert not found[4].localized
    assert found[4].reads < 8
    assert found[3].localized


def test_an_engine_this_installation_lacks_is_refused() -> None:
    scan = simulate(Setup(books=2, seed=1))
    with pytest.raises(ValueError, match="fortran"):
        localize_batch(scan.tag, 2, scan.t, scan.phase, scan.freq, scan.ax, scan.ay,
                       scan.rssi, engine="fortran")


def test_a_robots_kept_calibration_steadies_sparse_scans() -> None:
    long = simulate(Setup(books=40, seed=500, reader_seed=77))
    kept = offsets_by_frequency(long.freq, *scan_offsets(long.tag, long.t, long.phase,
                                                         long.freq))
    assert len(kept) == 16
    errors: dict[str, list[float]] = {"own": [], "kept": []}
    for seed in range(20):
        short = simulate(Setup(books=3, seed=600 + seed, reader_seed=77, speed_m_s=0.3,
                               read_rate_hz=60))
        for name, prior in (("own", None), ("kept", kept)):
            found = localize_batch(short.tag, 3, short.t, short.phase, short.freq, short.ax,
                                   short.ay, short.rssi, engine="numpy", prior=prior)
            errors[name] += list(np.abs(np.array([e.x for e in found]) - short.true_x))
    assert np.percentile(errors["kept"], 90) < np.percentile(errors["own"], 90) / 1.5
