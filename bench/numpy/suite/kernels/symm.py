"""symm: symmetric matrix multiply, Python loops over rows and columns with vector updates.

Follows NPBench's "symm" kernel (npbench/benchmarks/polybench/symm).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=60, N=80), "M": dict(M=120, N=150)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    C = numpy.fromfunction(lambda i, j: ((i + j) % 100) / M, (M, N), dtype=numpy.float64)
    B = numpy.fromfunction(lambda i, j: ((N + i - j) % 100) / M, (M, N), dtype=numpy.float64)
    A = numpy.empty((M, M))
    for i in range(M):
        A[i, : i + 1] = ((i + numpy.arange(i + 1)) % 100) / M
        A[i, i + 1 :] = -999
    return alpha, beta, C, A, B


def kernel(np, alpha, beta, C, A, B):
    temp2 = np.empty((C.shape[1],), dtype=C.dtype)
    C *= beta
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            C[:i, j] += alpha * B[i, j] * A[i, :i]
            temp2[j] = B[:i, j] @ A[i, :i]
        C[i, :] += alpha * B[i, :] * A[i, i] + alpha * temp2
    return C
