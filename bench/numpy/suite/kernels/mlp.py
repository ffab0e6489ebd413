"""mlp: three dense layers (float32 matmuls + bias + relu) and a softmax.

Follows NPBench's "mlp" kernel (npbench/benchmarks/deep_learning/mlp).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {
    "S": dict(C_in=3, N=8, S0=30000, S1=1000, S2=1000),
    "M": dict(C_in=3, N=8, S0=30000, S1=5000, S2=5000),
}


def initialize(size_preset, rng):
    C_in, N, S0, S1, S2 = SIZES[size_preset].values()
    input = rng.random((N, C_in), dtype=numpy.float32)
    w1 = rng.random((C_in, S0), dtype=numpy.float32)
    b1 = rng.random((S0,), dtype=numpy.float32)
    w2 = rng.random((S0, S1), dtype=numpy.float32)
    b2 = rng.random((S1,), dtype=numpy.float32)
    w3 = rng.random((S1, S2), dtype=numpy.float32)
    b3 = rng.random((S2,), dtype=numpy.float32)
    return input, w1, b1, w2, b2, w3, b3


def relu(np, x):
    return np.maximum(x, 0)


def softmax(np, x):
    tmp_max = np.max(x, axis=-1, keepdims=True)
    tmp_out = np.exp(x - tmp_max)
    tmp_sum = np.sum(tmp_out, axis=-1, keepdims=True)
    return tmp_out / tmp_sum


def kernel(np, input, w1, b1, w2, b2, w3, b3):
    x = relu(np, input @ w1 + b1)
    x = relu(np, x @ w2 + b2)
    x = softmax(np, x @ w3 + b3)
    return x
