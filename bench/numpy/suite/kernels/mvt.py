"""mvt: x1 += A @ y_1; x2 += y_2 @ A.

Follows NPBench's "mvt" kernel (npbench/benchmarks/polybench/mvt).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=5500), "M": dict(N=11000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    x1 = numpy.fromfunction(lambda i: (i % N) / N, (N,))
    x2 = numpy.fromfunction(lambda i: ((i + 1) % N) / N, (N,))
    y_1 = numpy.fromfunction(lambda i: ((i + 3) % N) / N, (N,))
    y_2 = numpy.fromfunction(lambda i: ((i + 4) % N) / N, (N,))
    A = numpy.fromfunction(lambda i, j: (i * j % N) / N, (N, N))
    return x1, x2, y_1, y_2, A


def kernel(np, x1, x2, y_1, y_2, A):
    x1 += A @ y_1
    x2 += y_2 @ A
    return x1, x2
