"""compute: np.clip and integer (int64) arithmetic.

Follows NPBench's "compute" kernel (npbench/benchmarks/compute).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(M=2000, N=2000), "M": dict(M=5000, N=5000)}


def initialize(size_preset, rng):
    M, N = SIZES[size_preset].values()
    array_1 = rng.uniform(0, 1000, size=(M, N)).astype(numpy.int64)
    array_2 = rng.uniform(0, 1000, size=(M, N)).astype(numpy.int64)
    a, b, c = numpy.int64(4), numpy.int64(3), numpy.int64(9)
    return array_1, array_2, a, b, c


def kernel(np, array_1, array_2, a, b, c):
    return np.clip(array_1, 2, 10) * a + array_2 * b + c


def numexpr_kernel():
    import numexpr

    def compute(array_1, array_2, a, b, c):
        clipped = numpy.clip(array_1, 2, 10)
        return numexpr.evaluate("clipped * a + array_2 * b + c")

    return compute
