"""ludcmp: LU decomposition then forward and back substitution, one dot product per element.

Follows NPBench's "ludcmp" kernel (npbench/benchmarks/polybench/ludcmp).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

import lu
from cholesky import _spd  # (the suite imports kernels by name)

SIZES = {"S": dict(N=100), "M": dict(N=220)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    b = numpy.fromfunction(lambda i: (i + 1) / N / 2.0 + 4.0, (N,), dtype=numpy.float64)
    return _spd(N), b


def kernel(np, A, b):
    x = np.zeros_like(b)
    y = np.zeros_like(b)

    lu.kernel(np, A)  # (NPBench's ludcmp factors A as its lu does, in place)
    for i in range(A.shape[0]):
        y[i] = b[i] - A[i, :i] @ y[:i]
    for i in range(A.shape[0] - 1, -1, -1):
        x[i] = (y[i] - A[i, i + 1 :] @ x[i + 1 :]) / A[i, i]

    return x, y
