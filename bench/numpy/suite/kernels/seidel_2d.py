"""seidel_2d: Gauss-Seidel 2-D, row slices plus a scalar loop along each row.

Follows NPBench's "seidel_2d" kernel (npbench/benchmarks/polybench/seidel_2d).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(TSTEPS=10, N=60), "M": dict(TSTEPS=20, N=160)}


def initialize(size_preset, rng):
    TSTEPS, N = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i, j: (i * (j + 2) + 2) / N, (N, N))
    return TSTEPS, N, A


def kernel(np, TSTEPS, N, A):
    for t in range(0, TSTEPS - 1):
        for i in range(1, N - 1):
            A[i, 1:-1] += (
                A[i - 1, :-2]
                + A[i - 1, 1:-1]
                + A[i - 1, 2:]
                + A[i, 2:]
                + A[i + 1, :-2]
                + A[i + 1, 1:-1]
                + A[i + 1, 2:]
            )
            for j in range(1, N - 1):
                A[i, j] += A[i, j - 1]
                A[i, j] /= 9.0
    return A
