"""bicg: r @ A and A @ p.

Follows NPBench's "bicg" kernel (npbench/benchmarks/polybench/bicg).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=4000, N=5000), "M": dict(M=10000, N=12500)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i, j: (i * (j + 1) % N) / N, (N, M))
    p = numpy.fromfunction(lambda i: (i % M) / M, (M,))
    r = numpy.fromfunction(lambda i: (i % N) / N, (N,))
    return A, p, r


def kernel(np, A, p, r):
    return r @ A, A @ p
