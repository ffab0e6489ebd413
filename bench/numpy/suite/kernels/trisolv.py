"""trisolv: forward substitution, one vector product per row.

Follows NPBench's "trisolv" kernel (npbench/benchmarks/polybench/trisolv).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=5000), "M": dict(N=8000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    L = numpy.fromfunction(lambda i, j: (i + N - j + 1) * 2 / N, (N, N))
    x = numpy.full((N,), -999.0)
    b = numpy.fromfunction(lambda i: i, (N,))
    return L, x, b


def kernel(np, L, x, b):
    for i in range(x.shape[0]):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    return x
