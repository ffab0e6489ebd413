"""jacobi_1d: 3-point stencil, a Python time loop.

Follows NPBench's "jacobi_1d" kernel (npbench/benchmarks/polybench/jacobi_1d).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(TSTEPS=1000, N=6000), "M": dict(TSTEPS=4000, N=32000)}


def initialize(size_preset, rng):
    TSTEPS, N = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i: (i + 2) / N, (N,))
    B = numpy.fromfunction(lambda i: (i + 3) / N, (N,))
    return TSTEPS, A, B


def kernel(np, TSTEPS, A, B):
    for t in range(1, TSTEPS):
        B[1:-1] = 0.33333 * (A[:-2] + A[1:-1] + A[2:])
        A[1:-1] = 0.33333 * (B[:-2] + B[1:-1] + B[2:])
    return A, B
