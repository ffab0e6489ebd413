"""3mm: A @ B @ C @ D.

Follows NPBench's "k3mm" kernel (npbench/benchmarks/polybench/k3mm).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {
    "S": dict(NI=800, NJ=850, NK=900, NL=950, NM=1000),
    "M": dict(NI=1600, NJ=1700, NK=1800, NL=1900, NM=2000),
}


def initialize(size_preset, rng):
    NI, NJ, NK, NL, NM = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i, j: ((i * j + 1) % NI) / (5 * NI), (NI, NK))
    B = numpy.fromfunction(lambda i, j: ((i * (j + 1) + 2) % NJ) / (5 * NJ), (NK, NJ))
    C = numpy.fromfunction(lambda i, j: (i * (j + 3) % NL) / (5 * NL), (NJ, NM))
    D = numpy.fromfunction(lambda i, j: ((i * (j + 2) + 2) % NK) / (5 * NK), (NM, NL))
    return A, B, C, D


def kernel(np, A, B, C, D):
    return A @ B @ C @ D
