"""lu: in-place LU factorisation without pivoting, one vector product per element.

Follows NPBench's "lu" kernel (npbench/benchmarks/polybench/lu).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=100), "M": dict(N=250)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    A = numpy.empty((N, N))
    for i in range(N):
        A[i, : i + 1] = numpy.fromfunction(lambda j: (-j % N) / N + 1, (i + 1,))
        A[i, i + 1 :] = 0.0
        A[i, i] = 1.0
    return (A @ A.T,)


def kernel(np, A):
    for i in range(A.shape[0]):
        for j in range(i):
            A[i, j] -= A[i, :j] @ A[:j, j]
            A[i, j] /= A[j, j]
        for j in range(i, A.shape[0]):
            A[i, j] -= A[i, :i] @ A[:i, j]
    return A
