"""covariance: column means, then a Python loop of vector-matrix products.

Follows NPBench's "covariance" kernel (npbench/benchmarks/polybench/covariance).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=500, N=600), "M": dict(M=1000, N=1200)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    float_n = numpy.float64(N)
    data = numpy.fromfunction(lambda i, j: (i * j) / M, (N, M))
    return M, float_n, data


def kernel(np, M, float_n, data):
    mean = np.mean(data, axis=0)
    data -= mean
    cov = np.zeros((M, M), dtype=data.dtype)
    for i in range(M):
        cov[i:M, i] = cov[i, i:M] = data[:, i] @ data[:, i:M] / (float_n - 1.0)
    return cov
