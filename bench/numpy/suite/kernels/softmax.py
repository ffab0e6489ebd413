"""softmax: max, exp, sum along the last axis with keepdims (float32).

Follows NPBench's "softmax" kernel (npbench/benchmarks/deep_learning/softmax).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=16, H=16, SM=128), "M": dict(N=32, H=16, SM=256)}


def initialize(size_preset, rng):
    N, H, SM = SIZES[size_preset].values()
    x = rng.random((N, H, SM, SM), dtype=numpy.float32)
    return (x,)


def kernel(np, x):
    tmp_max = np.max(x, axis=-1, keepdims=True)
    tmp_out = np.exp(x - tmp_max)
    tmp_sum = np.sum(tmp_out, axis=-1, keepdims=True)
    return tmp_out / tmp_sum
