"""The Cython kernel against its numpy twin, the calibration, and accuracy on simulations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from localization_ext import (
    Geometry,
    _hologram_py,
    engines,
    localize_batch,
    offsets_by_frequency,
    scan_offsets,
)
from localization_ext._hologram_py import plain_hologram
from localization_ext.calibrate import channel_offsets
from localization_ext.simulate import CHANNELS, Impairments, Scan, Setup, simulate

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
        windows = np.stack([rng.uniform(0.5, 1.5, tags), rng.uniform(0.05, 0.3, tags),
                            rng.uniform(0.0, 0.2, tags), rng.uniform(0.4, 0.9, tags)], axis=1)
        args = (offsets, rng.uniform(0, 2 * np.pi, n), rng.uniform(38, 39, n),
                rng.uniform(0, 2, n), rng.uniform(-0.4, -0.2, n),
                rng.integers(0, channels, n).astype(np.int64), channels,
                rng.uniform(0.1, 1, n), np.ascontiguousarray(windows))
        twin = _hologram_py.localize_all(*args)
        kernel = _hologram.localize_all(*args)
        assert kernel.shape == (tags, 4)
        assert np.allclose(kernel, twin, atol=1e-9, rtol=1e-9)
        assert np.array_equal(kernel, _hologram.localize_all(*args, threads=1))
        # each tag is searched in its own window (the grid and refinement may step 26 mm out)
        assert (np.abs(kernel[:, 0] - windows[:, 0]) <= windows[:, 1] + 0.026).all()


@needs_kernel
def test_kernel_and_twin_agree_on_a_realistic_shelf_after_reweighting() -> None:
    scan = simulate(Setup(books=12, seed=4, impairments=Impairments.realistic()))
    kernel, _ = _run(scan, "cython")
    twin, _ = _run(scan, "numpy")
    assert np.allclose(kernel, twin, atol=1e-9)


@needs_kernel
@pytest.mark.parametrize("channels", [1, 3])
def test_kernel_and_twin_agree_far_from_the_antenna(channels: int) -> None:
    # the kernel's own sine and cosine reduce angles of hundreds of radians (tags metres
    # away), on the calibrated (one channel) and the per-channel paths alike
    from localization_ext import _hologram  # noqa: PLC0415

    rng = np.random.default_rng(11)
    sizes = rng.integers(40, 90, 4)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(offsets[-1])
    windows = np.stack([rng.uniform(1, 2, 4), np.full(4, 0.3), np.full(4, 1.0),
                        np.full(4, 4.5)], axis=1)
    args = (offsets, rng.uniform(0, 2 * np.pi, n), rng.uniform(38, 39, n),
            rng.uniform(0, 3, n), rng.uniform(-5.0, -4.0, n),
            rng.integers(0, channels, n).astype(np.int64), channels,
            rng.uniform(0.1, 1, n), np.ascontiguousarray(windows))
    assert np.allclose(_hologram.localize_all(*args), _hologram_py.localize_all(*args),
                       atol=1e-9, rtol=1e-9)


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


def _misfit_at_truth(scan: Scan) -> NDArray[np.float64]:
    """Each read's phase off the free-space model at its tag's true place (radians), with
    the reader's channel offsets (the simulator's own) and every tag's constant taken
    out."""
    assert scan.channel_offset is not None
    channel_offset = scan.channel_offset
    channel = np.searchsorted(CHANNELS, scan.freq)
    k = 4 * np.pi * scan.freq / 299_792_458.0
    d = np.hypot(scan.true_x[scan.tag] - scan.ax, scan.true_y[scan.tag] - scan.ay)
    rotated = np.exp(1j * (scan.phase - channel_offset[channel] - k * d))
    mean = np.zeros(len(scan.epc), dtype=complex)
    np.add.at(mean, scan.tag, rotated)
    return np.asarray(np.angle(rotated * np.exp(-1j * np.angle(mean[scan.tag]))))


def _rms(scan: Scan, tag: int | None = None) -> float:
    off = _misfit_at_truth(scan)
    if tag is not None:
        off = off[scan.tag == tag]
    return float(np.sqrt(np.mean(off ** 2)))


def test_without_impairments_the_phase_fits_the_model_to_the_noise() -> None:
    assert _rms(simulate(Setup(books=10, seed=2, sigma_rad=0.0))) < 1e-6


def test_each_tag_has_its_own_phase_pattern() -> None:
    scan = simulate(Setup(books=10, seed=2, sigma_rad=0.0,
                          impairments=Impairments(orientation=1)))
    per_tag = [_rms(scan, t) for t in range(10)]
    assert 0.05 < float(np.median(per_tag)) < 0.6
    assert max(per_tag) > 2 * min(per_tag)  # differently for each tag


def test_coupling_grows_as_tags_stand_closer() -> None:
    def misfit(spacing: float) -> float:
        return _rms(simulate(Setup(books=10, seed=2, sigma_rad=0.0, spacing_m=spacing,
                                   impairments=Impairments(coupling=1))))
    close, far = misfit(0.02), misfit(0.16)
    assert close > 0.1
    assert far < close / 3


def test_diffuse_multipath_departs_from_the_model_as_real_shelves_do() -> None:
    scan = simulate(Setup(books=20, seed=2, sigma_rad=0.0,
                          impairments=Impairments(multipath=1)))
    assert 0.2 < _rms(scan) < 1.2  # real readings: about 0.9 rad with everything together


def test_the_realistic_default_defeats_the_straightforward_hologram() -> None:
    errors = []
    for seed in range(3):
        scan = simulate(Setup(books=30, seed=40 + seed, impairments=Impairments.realistic()))
        for t in range(30):
            mine = scan.tag == t
            x, _ = plain_hologram(scan.phase[mine], 4 * np.pi * scan.freq[mine] / 299_792_458.0,
                                  scan.ax[mine], scan.ay[mine],
                                  np.unique(scan.freq[mine], return_inverse=True)[1])
            errors.append(abs(x - scan.true_x[t]))
    assert np.median(errors) > 0.01  # cm-level, as on real readers


def _coverage(impairments: Impairments, seeds: range) -> float:
    inside = []
    for seed in seeds:
        scan = simulate(Setup(books=30, seed=seed, impairments=impairments))
        _, found = _run(scan, engines()[0])
        inside += [e.x_interval[0] <= x <= e.x_interval[1]
                   for e, x in zip(found, scan.true_x, strict=True) if e.localized]
    return float(np.mean(inside))


def test_the_90_percent_interval_holds_the_truth_about_that_often_when_realistic() -> None:
    # the calibration band: the truth inside the 90% interval for 80-95% of tags
    assert 0.80 <= _coverage(Impairments.realistic(), range(200, 212)) <= 0.95


def test_the_90_percent_interval_holds_the_truth_on_a_clean_shelf() -> None:
    assert _coverage(Impairments(), range(300, 303)) >= 0.8


def test_a_robots_geometry_lets_it_find_tags_beyond_the_default_depth() -> None:
    scan = simulate(Setup(books=8, spacing_m=0.06, seed=9, distance_m=1.0, beam_deg=35))
    found = localize_batch(scan.tag, 8, scan.t, scan.phase, scan.freq, scan.ax, scan.ay,
                           scan.rssi, engine="numpy", geometry=Geometry(depth_m=(0.6, 1.3)))
    assert np.median(np.abs([e.y - scan.true_y[e.index] for e in found])) < 0.03
    assert np.median(np.abs([e.x - scan.true_x[e.index] for e in found])) < 0.01
    default = localize_batch(scan.tag, 8, scan.t, scan.phase, scan.freq, scan.ax, scan.ay,
                             scan.rssi, engine="numpy")
    # held to its window (the fine grids may step a few cm beyond), so it misses the depth
    assert all(e.y - scan.ay[0] <= 0.80 + 0.06 for e in default)
    assert np.median(np.abs([e.y - scan.true_y[e.index] for e in default])) > 0.1


def test_geometry_comes_from_a_batch_header_with_todays_defaults() -> None:
    assert Geometry.from_header({"type": "header"}) == Geometry((0.05, 0.80), 0.20)
    assert Geometry.from_header({"depth_m": [0.3, 1.2], "window_m": 0.5}) == Geometry(
        (0.3, 1.2), 0.5)
