# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hologram kernel: the numpy twin's method (_hologram_py.py), in C, one tag per thread.

No Python object is touched inside the loops: typed memoryviews in, a C stack buffer per
channel, and the GIL released over the whole batch.
"""

import numpy as np

from cython.parallel cimport prange
from libc.math cimport ceil, sqrt

cdef enum:
    MAX_CHANNELS = 64
    STAGES = 3

# (half-width in x, half-width in y, step in x, step in y, read stride) of each stage: as
# in the twin (the first stage's window is the tag's own)
cdef double[3] HALF_X = [0.0, 0.015, 0.003]
cdef double[3] HALF_Y = [0.0, 0.018, 0.0045]
cdef double[3] STEP_X = [0.015, 0.003, 0.0005]
cdef double[3] STEP_Y = [0.03, 0.006, 0.0015]
cdef Py_ssize_t[3] STRIDE = [4, 1, 1]  # the first, coarse stage uses every 4th read
cdef double CURVATURE_STEP = 0.01

# sine and cosine by a quarter-turn reduction and fdlibm's kernel polynomials (within
# 1e-15 of libm on the angles a hologram meets, |x| < 1e4): inlined, with no branch, so
# the compiler vectorizes the score's loop, which libm's scalar sincos call prevents
cdef double TWO_OVER_PI = 0.6366197723675814
cdef double PIO2_HI = 1.5707963267341256
cdef double PIO2_LO = 6.077100506506192e-11
cdef double S1 = -1.66666666666666324348e-01
cdef double S2 = 8.33333333332248946124e-03
cdef double S3 = -1.98412698298579493134e-04
cdef double S4 = 2.75573137070700676789e-06
cdef double S5 = -2.50507602534068634195e-08
cdef double S6 = 1.58969099521155010221e-10
cdef double C1 = 4.16666666666666019037e-02
cdef double C2 = -1.38888888888741095749e-03
cdef double C3 = 2.48015872894767294178e-05
cdef double C4 = -2.75573143513906633035e-07
cdef double C5 = 2.08757232129817482790e-09
cdef double C6 = -1.13596475577881948265e-11


cdef inline double _cos_sin(double x, double* sine) noexcept nogil:
    """cos(x), and sin(x) into `sine`."""
    cdef double half = 0.5 if x >= 0 else -0.5
    cdef int q = <int>(x * TWO_OVER_PI + half)
    cdef double r = (x - q * PIO2_HI) - q * PIO2_LO
    cdef double z = r * r
    cdef double s = r + r * z * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))))
    cdef double c = 1.0 - 0.5 * z + z * z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (
        C5 + z * C6)))))
    cdef int odd = q & 1
    cdef double sin_r = c if odd else s
    cdef double cos_r = s if odd else c
    sine[0] = -sin_r if q & 2 else sin_r
    return -cos_r if (q + 1) & 2 else cos_r


cdef double _score(double x, double y, const double[::1] phase, const double[::1] k,
                   const double[::1] ax, const double[::1] ay, const long[::1] channel,
                   const double[::1] weight, Py_ssize_t start, Py_ssize_t stop,
                   Py_ssize_t stride, int channels) noexcept nogil:
    cdef double re[MAX_CHANNELS]
    cdef double im[MAX_CHANNELS]
    cdef Py_ssize_t i, j
    cdef int c
    cdef double dx, dy, cosine, sine = 0.0, total = 0.0, sum_re, sum_im, used = 0.0
    if channels == 1:  # calibrated: one coherent sum, a loop that vectorizes
        sum_re = 0.0
        sum_im = 0.0
        for j in range((stop - start + stride - 1) // stride):
            i = start + j * stride
            dx = x - ax[i]
            dy = y - ay[i]
            cosine = _cos_sin(phase[i] - k[i] * sqrt(dx * dx + dy * dy), &sine)
            sum_re += weight[i] * cosine
            sum_im += weight[i] * sine
            used += weight[i]
        return sqrt(sum_re * sum_re + sum_im * sum_im) / used if used > 0 else 0.0
    for c in range(channels):
        re[c] = 0.0
        im[c] = 0.0
    i = start
    while i < stop:
        dx = x - ax[i]
        dy = y - ay[i]
        cosine = _cos_sin(phase[i] - k[i] * sqrt(dx * dx + dy * dy), &sine)
        c = <int>channel[i]
        re[c] += weight[i] * cosine
        im[c] += weight[i] * sine
        used += weight[i]
        i += stride
    for c in range(channels):
        total += sqrt(re[c] * re[c] + im[c] * im[c])
    return total / used if used > 0 else 0.0


cdef void _localize_one(const double[::1] phase, const double[::1] k, const double[::1] ax,
                        const double[::1] ay, const long[::1] channel, int channels,
                        const double[::1] weight, const double[:, ::1] windows,
                        Py_ssize_t start, Py_ssize_t stop, double[:, :] out,
                        Py_ssize_t row) noexcept nogil:
    cdef Py_ssize_t i, j, nx, ny
    cdef int stage
    cdef double best_x, best_y, best = -1.0, h = CURVATURE_STEP
    cdef double x0, y0, s, score, step_x, step_y, best_y_candidate = 0.0
    cdef double centre = windows[row, 0], half = windows[row, 1]
    cdef double y_low = windows[row, 2], y_high = windows[row, 3]
    best_x = centre
    best_y = (y_low + y_high) / 2
    for stage in range(STAGES):
        step_x = STEP_X[stage]
        step_y = STEP_Y[stage]
        if stage == 0:
            x0 = centre - half
            nx = <Py_ssize_t>ceil(((centre + half + step_x / 2) - x0) / step_x)
            y0 = y_low
            ny = <Py_ssize_t>ceil(((y_high + step_y / 2) - y0) / step_y)
        else:
            x0 = best_x - HALF_X[stage]
            nx = <Py_ssize_t>ceil(((best_x + HALF_X[stage] + step_x / 2) - x0) / step_x)
            y0 = best_y - HALF_Y[stage]
            ny = <Py_ssize_t>ceil(((best_y + HALF_Y[stage] + step_y / 2) - y0) / step_y)
        best = -1.0
        s = best_x
        for i in range(nx):
            for j in range(ny):
                score = _score(x0 + i * step_x, y0 + j * step_y, phase, k, ax, ay, channel,
                               weight, start, stop, STRIDE[stage], channels)
                if score > best:
                    best = score
                    s = x0 + i * step_x
                    best_y_candidate = y0 + j * step_y
        best_x = s
        best_y = best_y_candidate
    out[row, 0] = best_x
    out[row, 1] = best_y
    out[row, 2] = best
    out[row, 3] = (2 * best
                   - _score(best_x - h, best_y, phase, k, ax, ay, channel, weight, start,
                            stop, 1, channels)
                   - _score(best_x + h, best_y, phase, k, ax, ay, channel, weight, start,
                            stop, 1, channels)) / (h * h)


def localize_all(const long[::1] offsets, const double[::1] phase, const double[::1] k,
                 const double[::1] ax, const double[::1] ay, const long[::1] channel,
                 int channels, const double[::1] weight, const double[:, ::1] windows,
                 int threads=0):
    """Every tag of a batch whose reads are grouped by tag, each searched inside its row of
    `windows`; rows of (x, y, score, curvature). The same contract as the numpy twin's
    localize_all."""
    if channels > MAX_CHANNELS:
        raise ValueError(f"at most {MAX_CHANNELS} channel groups, not {channels}")
    cdef Py_ssize_t tags = offsets.shape[0] - 1
    result = np.zeros((tags, 4))
    cdef double[:, :] out = result
    cdef Py_ssize_t t
    cdef int workers = threads if threads > 0 else 0
    if workers > 0:
        for t in prange(tags, nogil=True, schedule="dynamic", num_threads=workers):
            if offsets[t + 1] > offsets[t]:
                _localize_one(phase, k, ax, ay, channel, channels, weight, windows,
                              offsets[t], offsets[t + 1], out, t)
    else:
        for t in prange(tags, nogil=True, schedule="dynamic"):
            if offsets[t + 1] > offsets[t]:
                _localize_one(phase, k, ax, ay, channel, channels, weight, windows,
                              offsets[t], offsets[t + 1], out, t)
    return result
