"""trmm: triangular matrix multiply, one np.dot per element.

Follows NPBench's "trmm" kernel (npbench/benchmarks/polybench/trmm).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=100, N=120), "M": dict(M=200, N=250)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    alpha = numpy.float64(1.5)
    A = numpy.fromfunction(lambda i, j: ((i * j) % M) / M, (M, M))
    numpy.fill_diagonal(A, 1.0)
    B = numpy.fromfunction(lambda i, j: ((N + i - j) % N) / N, (M, N))
    return alpha, A, B


def kernel(np, alpha, A, B):
    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            B[i, j] += np.dot(A[i + 1 :, i], B[i + 1 :, j])
    B *= alpha
    return B
