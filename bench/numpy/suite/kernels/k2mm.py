"""2mm: D = alpha*A@B@C + beta*D.

Follows NPBench's "k2mm" kernel (npbench/benchmarks/polybench/k2mm).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(NI=800, NJ=850, NK=900, NL=950), "M": dict(NI=1600, NJ=1700, NK=1800, NL=1900)}


def initialize(size_preset, rng):
    NI, NJ, NK, NL = SIZES[size_preset].values()
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    A = numpy.fromfunction(lambda i, j: ((i * j + 1) % NI) / NI, (NI, NK))
    B = numpy.fromfunction(lambda i, j: (i * (j + 1) % NJ) / NJ, (NK, NJ))
    C = numpy.fromfunction(lambda i, j: ((i * (j + 3) + 1) % NL) / NL, (NJ, NL))
    D = numpy.fromfunction(lambda i, j: (i * (j + 2) % NK) / NK, (NI, NL))
    return alpha, beta, A, B, C, D


def kernel(np, alpha, beta, A, B, C, D):
    D[:] = alpha * A @ B @ C + beta * D
    return D
