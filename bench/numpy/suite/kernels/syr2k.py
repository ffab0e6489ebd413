"""syr2k: symmetric rank-2k update, a Python loop over rows and columns.

Follows NPBench's "syr2k" kernel (npbench/benchmarks/polybench/syr2k).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=50, N=70), "M": dict(M=110, N=140)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    C = numpy.fromfunction(lambda i, j: ((i * j + 3) % N) / M, (N, N))
    A = numpy.fromfunction(lambda i, j: ((i * j + 1) % N) / N, (N, M))
    B = numpy.fromfunction(lambda i, j: ((i * j + 2) % M) / M, (N, M))
    return alpha, beta, C, A, B


def kernel(np, alpha, beta, C, A, B):
    for i in range(A.shape[0]):
        C[i, : i + 1] *= beta
        for k in range(A.shape[1]):
            C[i, : i + 1] += A[: i + 1, k] * alpha * B[i, k] + B[: i + 1, k] * alpha * A[i, k]
    return C
