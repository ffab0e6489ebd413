"""fdtd_2d: 2-D finite-difference time-domain, a Python time loop over three fields.

Follows NPBench's "fdtd_2d" kernel (npbench/benchmarks/polybench/fdtd_2d).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(TMAX=20, NX=400, NY=450), "M": dict(TMAX=60, NX=1000, NY=1200)}


def initialize(size_preset, rng):
    TMAX, NX, NY = SIZES[size_preset].values()
    ex = numpy.fromfunction(lambda i, j: (i * (j + 1)) / NX, (NX, NY))
    ey = numpy.fromfunction(lambda i, j: (i * (j + 2)) / NY, (NX, NY))
    hz = numpy.fromfunction(lambda i, j: (i * (j + 3)) / NX, (NX, NY))
    _fict_ = numpy.fromfunction(lambda i: i, (TMAX,))
    return TMAX, ex, ey, hz, _fict_


def kernel(np, TMAX, ex, ey, hz, _fict_):
    for t in range(TMAX):
        ey[0, :] = _fict_[t]
        ey[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
        ex[:, 1:] -= 0.5 * (hz[:, 1:] - hz[:, :-1])
        hz[:-1, :-1] -= 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1])
    return ex, ey, hz
