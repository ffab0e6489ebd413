"""gesummv: alpha*A@x + beta*B@x.

Follows NPBench's "gesummv" kernel (npbench/benchmarks/polybench/gesummv).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=3000), "M": dict(N=8000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    A = numpy.fromfunction(lambda i, j: ((i * j + 1) % N) / N, (N, N))
    B = numpy.fromfunction(lambda i, j: ((i * j + 2) % N) / N, (N, N))
    x = numpy.fromfunction(lambda i: (i % N) / N, (N,))
    return alpha, beta, A, B, x


def kernel(np, alpha, beta, A, B, x):
    return alpha * A @ x + beta * B @ x
