"""gramschmidt: modified Gram-Schmidt QR, Python loops over columns.

Follows NPBench's "gramschmidt" kernel (npbench/benchmarks/polybench/gramschmidt).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=150, N=120), "M": dict(M=400, N=300)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    A = rng.random((M, N))
    while numpy.linalg.matrix_rank(A) < N:
        A = rng.random((M, N))
    return (A,)


def kernel(np, A):
    Q = np.zeros_like(A)
    R = np.zeros((A.shape[1], A.shape[1]), dtype=A.dtype)

    for k in range(A.shape[1]):
        nrm = np.dot(A[:, k], A[:, k])
        R[k, k] = np.sqrt(nrm)
        Q[:, k] = A[:, k] / R[k, k]
        for j in range(k + 1, A.shape[1]):
            R[k, j] = np.dot(Q[:, k], A[:, j])
            A[:, j] -= Q[:, k] * R[k, j]

    return Q, R
