"""atax: (A @ x) @ A.

Follows NPBench's "atax" kernel (npbench/benchmarks/polybench/atax).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=4000, N=5000), "M": dict(M=10000, N=12500)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    x = numpy.fromfunction(lambda i: 1 + (i / N), (N,))
    A = numpy.fromfunction(lambda i, j: ((i + j) % N) / (5 * M), (M, N))
    return A, x


def kernel(np, A, x):
    return (A @ x) @ A
