"""covariance2: the covariance matrix through np.cov of the transposed data.

Follows NPBench's "covariance2" kernel (npbench/benchmarks/polybench/covariance2).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=1000, N=1200), "M": dict(M=1400, N=1800)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    data = numpy.fromfunction(lambda i, j: (i * j) / M, (N, M), dtype=numpy.float64)
    return M, numpy.float64(N), data


def kernel(np, M, float_n, data):
    return np.cov(np.transpose(data))
