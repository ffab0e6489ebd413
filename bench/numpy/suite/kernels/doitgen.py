"""doitgen: multiresolution analysis kernel, a batched matrix product through reshapes.

Follows NPBench's "doitgen" kernel (npbench/benchmarks/polybench/doitgen).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(NR=80, NQ=80, NP=128), "M": dict(NR=110, NQ=125, NP=256)}


def initialize(size_preset, rng):
    NR, NQ, NP = SIZES[size_preset].values()
    A = numpy.fromfunction(lambda i, j, k: ((i * j + k) % NP) / NP, (NR, NQ, NP))
    C4 = numpy.fromfunction(lambda i, j: (i * j % NP) / NP, (NP, NP))
    return NR, NQ, NP, A, C4


def kernel(np, NR, NQ, NP, A, C4):
    A[:] = np.reshape(np.reshape(A, (NR, NQ, 1, NP)) @ C4, (NR, NQ, NP))
    return A
