"""jacobi_2d: 5-point stencil, a Python time loop.

Follows NPBench's "jacobi_2d" kernel (npbench/benchmarks/polybench/jacobi_2d).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(TSTEPS=50, N=300), "M": dict(TSTEPS=100, N=700)}


def initialize(size_preset, rng):
    TSTEPS, N = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i, j: i * (j + 2) / N, (N, N))
    B = numpy.fromfunction(lambda i, j: i * (j + 3) / N, (N, N))
    return TSTEPS, A, B


def kernel(np, TSTEPS, A, B):
    for t in range(1, TSTEPS):
        B[1:-1, 1:-1] = 0.2 * (
            A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1]
        )
        A[1:-1, 1:-1] = 0.2 * (
            B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] + B[2:, 1:-1] + B[:-2, 1:-1]
        )
    return A, B
