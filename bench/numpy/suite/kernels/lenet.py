"""lenet: LeNet-5 forward pass (two direct convolutions, max pooling, three dense layers).

Follows NPBench's "lenet" kernel (npbench/benchmarks/deep_learning/lenet), float32, NHWC.
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

from resnet import conv2d, relu  # (NPBench's lenet and resnet share them; imported by name)

SIZES = {"S": dict(N=8, H=36, W=36), "M": dict(N=16, H=64, W=64)}


def initialize(size_preset, rng):
    N, H, W = SIZES[size_preset].values()
    H_pool2 = ((H - 4) // 2 - 4) // 2
    W_pool2 = ((W - 4) // 2 - 4) // 2
    C_before_fc1 = 16 * H_pool2 * W_pool2
    f32 = numpy.float32
    return (
        rng.random((N, H, W, 1), dtype=f32),
        rng.random((5, 5, 1, 6), dtype=f32),
        rng.random((6,), dtype=f32),
        rng.random((5, 5, 6, 16), dtype=f32),
        rng.random((16,), dtype=f32),
        rng.random((C_before_fc1, 120), dtype=f32),
        rng.random((120,), dtype=f32),
        rng.random((120, 84), dtype=f32),
        rng.random((84,), dtype=f32),
        rng.random((84, 10), dtype=f32),
        rng.random((10,), dtype=f32),
        N,
        C_before_fc1,
    )


def maxpool2d(np, x):
    output = np.empty([x.shape[0], x.shape[1] // 2, x.shape[2] // 2, x.shape[3]], dtype=x.dtype)
    for i in range(x.shape[1] // 2):
        for j in range(x.shape[2] // 2):
            output[:, i, j, :] = np.max(x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, :], axis=(1, 2))
    return output


def kernel(np, input, conv1, conv1bias, conv2, conv2bias, fc1w, fc1b, fc2w, fc2b, fc3w, fc3b,
           N, C_before_fc1):  # fmt: skip
    x = relu(np, conv2d(np, input, conv1) + conv1bias)
    x = maxpool2d(np, x)
    x = relu(np, conv2d(np, x, conv2) + conv2bias)
    x = maxpool2d(np, x)
    x = np.reshape(x, (N, C_before_fc1))
    x = relu(np, x @ fc1w + fc1b)
    x = relu(np, x @ fc2w + fc2b)
    return x @ fc3w + fc3b
