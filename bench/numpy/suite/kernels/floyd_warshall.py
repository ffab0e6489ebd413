"""floyd_warshall: all-pairs shortest paths on int32, np.minimum with np.add.outer per k.

Follows NPBench's "floyd_warshall" kernel (npbench/benchmarks/polybench/floyd_warshall).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=350), "M": dict(N=900)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    path = numpy.fromfunction(lambda i, j: i * j % 7 + 1, (N, N), dtype=numpy.int32)
    i, j = numpy.indices((N, N))
    s = i + j
    path[(s % 13 == 0) | (s % 7 == 0) | (s % 11 == 0)] = 999
    return (path,)


def kernel(np, path):
    for k in range(path.shape[0]):
        path[:] = np.minimum(path[:], np.add.outer(path[:, k], path[k, :]))
    return path
