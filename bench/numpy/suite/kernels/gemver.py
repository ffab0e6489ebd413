"""gemver: rank-2 update and two matrix-vector products.

Follows NPBench's "gemver" kernel (npbench/benchmarks/polybench/gemver).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=3000), "M": dict(N=10000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    fn = float(N)
    alpha, beta = numpy.float64(1.5), numpy.float64(1.2)
    A = numpy.fromfunction(lambda i, j: (i * j % N) / N, (N, N))
    u1 = numpy.fromfunction(lambda i: i, (N,))
    u2 = numpy.fromfunction(lambda i: ((i + 1) / fn) / 2.0, (N,))
    v1 = numpy.fromfunction(lambda i: ((i + 1) / fn) / 4.0, (N,))
    v2 = numpy.fromfunction(lambda i: ((i + 1) / fn) / 6.0, (N,))
    w = numpy.zeros((N,))
    x = numpy.zeros((N,))
    y = numpy.fromfunction(lambda i: ((i + 1) / fn) / 8.0, (N,))
    z = numpy.fromfunction(lambda i: ((i + 1) / fn) / 9.0, (N,))
    return alpha, beta, A, u1, v1, u2, v2, w, x, y, z


def kernel(np, alpha, beta, A, u1, v1, u2, v2, w, x, y, z):
    A += np.outer(u1, v1) + np.outer(u2, v2)
    x += beta * y @ A + z
    w += alpha * A @ x
    return A, w, x
