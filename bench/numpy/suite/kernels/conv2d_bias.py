"""conv2d_bias: direct 2-D convolution, a Python loop over output pixels (NHWC, float32).

Follows NPBench's "conv2d_bias" kernel (npbench/benchmarks/deep_learning/conv2d_bias).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {
    "S": dict(N=8, C_in=3, C_out=16, K=3, H=32, W=32),
    "M": dict(N=8, C_in=3, C_out=8, K=5, H=64, W=64),
}


def initialize(size_preset, rng):
    N, C_in, C_out, K, H, W = SIZES[size_preset].values()
    input = rng.random((N, H, W, C_in), dtype=numpy.float32)
    weights = rng.random((K, K, C_in, C_out), dtype=numpy.float32)
    bias = rng.random((C_out,), dtype=numpy.float32)
    return input, weights, bias


def conv2d(np, input, weights):
    K = weights.shape[0]
    N = input.shape[0]
    H_out = input.shape[1] - K + 1
    W_out = input.shape[2] - K + 1
    C_out = weights.shape[3]
    output = np.empty((N, H_out, W_out, C_out), dtype=np.float32)
    for i in range(H_out):
        for j in range(W_out):
            output[:, i, j, :] = np.sum(
                input[:, i : i + K, j : j + K, :, np.newaxis] * weights[np.newaxis, :, :, :],
                axis=(1, 2, 3),
            )
    return output


def kernel(np, input, weights, bias):
    return conv2d(np, input, weights) + bias
