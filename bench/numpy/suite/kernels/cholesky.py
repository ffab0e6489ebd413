"""cholesky: in-place Cholesky factorisation, one np.dot per element.

Follows NPBench's "cholesky" kernel (npbench/benchmarks/polybench/cholesky).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=150), "M": dict(N=400)}


def _spd(N):
    A = numpy.empty((N, N))
    for i in range(N):
        A[i, : i + 1] = numpy.fromfunction(lambda j: (-j % N) / N + 1, (i + 1,))
        A[i, i + 1 :] = 0.0
        A[i, i] = 1.0
    return A @ A.T


def initialize(size_preset, rng):
    return (_spd(SIZES[size_preset]["N"]),)


def kernel(np, A):
    A[0, 0] = np.sqrt(A[0, 0])
    for i in range(1, A.shape[0]):
        for j in range(i):
            A[i, j] -= np.dot(A[i, :j], A[j, :j])
            A[i, j] /= A[j, j]
        A[i, i] -= np.dot(A[i, :i], A[i, :i])
        A[i, i] = np.sqrt(A[i, i])
    return A
