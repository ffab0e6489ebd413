"""correlation: mean and std along axis 0, a boolean-mask fix-up, a Python loop of products.

Follows NPBench's "correlation" kernel (npbench/benchmarks/polybench/correlation).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=500, N=600), "M": dict(M=1000, N=1200)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    float_n = numpy.float64(N)
    data = numpy.fromfunction(lambda i, j: (i * j) / M + i, (N, M))
    return M, float_n, data


def kernel(np, M, float_n, data):
    mean = np.mean(data, axis=0)
    stddev = np.std(data, axis=0)
    stddev[stddev <= 0.1] = 1.0
    data -= mean
    data /= np.sqrt(float_n) * stddev
    corr = np.eye(M, dtype=data.dtype)
    for i in range(M - 1):
        corr[i + 1 : M, i] = corr[i, i + 1 : M] = data[:, i] @ data[:, i + 1 : M]
    return corr
