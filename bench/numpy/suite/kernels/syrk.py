"""syrk: symmetric rank-k update, a Python loop over rows and columns of A.

Follows NPBench's "syrk" kernel (npbench/benchmarks/polybench/syrk).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=80, N=100), "M": dict(M=150, N=200)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    C = numpy.fromfunction(lambda i, j: ((i * j + 2) % N) / M, (N, N))
    A = numpy.fromfunction(lambda i, j: ((i * j + 1) % N) / N, (N, M))
    return alpha, beta, C, A


def kernel(np, alpha, beta, C, A):
    for i in range(A.shape[0]):
        C[i, : i + 1] *= beta
        for k in range(A.shape[1]):
            C[i, : i + 1] += alpha * A[i, k] * A[: i + 1, k]
    return C
