"""cholesky2: Cholesky factorisation through LAPACK plus the strict upper triangle kept.

Follows NPBench's "cholesky2" kernel (npbench/benchmarks/polybench/cholesky2).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

from cholesky import _spd  # (the suite imports kernels by name)

SIZES = {"S": dict(N=1000), "M": dict(N=2200)}


def initialize(size_preset, rng):
    return (_spd(SIZES[size_preset]["N"]),)


def kernel(np, A):
    A[:] = np.linalg.cholesky(A) + np.triu(A, k=1)
    return A
