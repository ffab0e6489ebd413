"""gemm: C = alpha*A@B + beta*C.

Follows NPBench's "gemm" kernel (npbench/benchmarks/polybench/gemm).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(NI=1000, NJ=1100, NK=1200), "M": dict(NI=2000, NJ=2200, NK=2400)}


def initialize(size_preset, rng):
    NI, NJ, NK = SIZES[size_preset].values()
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    C = numpy.fromfunction(lambda i, j: ((i * j + 1) % NI) / NI, (NI, NJ))
    A = numpy.fromfunction(lambda i, k: (i * (k + 1) % NK) / NK, (NI, NK))
    B = numpy.fromfunction(lambda k, j: (k * (j + 2) % NJ) / NJ, (NK, NJ))
    return alpha, beta, C, A, B


def kernel(np, alpha, beta, C, A, B):
    C[:] = alpha * A @ B + beta * C
    return C
