"""resnet: one ResNet basic block (three direct convolutions, batch norms, relus).

Follows NPBench's "resnet" kernel (npbench/benchmarks/deep_learning/resnet).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=8, W=20, H=20, C1=32, C2=8), "M": dict(N=8, W=28, H=28, C1=64, C2=16)}


def initialize(size_preset, rng):
    N, W, H, C1, C2 = SIZES[size_preset].values()
    input = rng.random((N, H, W, C1), dtype=numpy.float32)
    conv1 = rng.random((1, 1, C1, C2), dtype=numpy.float32)
    conv2 = rng.random((3, 3, C2, C2), dtype=numpy.float32)
    conv3 = rng.random((1, 1, C2, C1), dtype=numpy.float32)
    return input, conv1, conv2, conv3


def relu(np, x):
    return np.maximum(x, 0)


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


def batchnorm2d(np, x, eps=1e-5):
    mean = np.mean(x, axis=0, keepdims=True)
    std = np.std(x, axis=0, keepdims=True)
    return (x - mean) / np.sqrt(std + eps)


def kernel(np, input, conv1, conv2, conv3):
    padded = np.zeros((input.shape[0], input.shape[1] + 2, input.shape[2] + 2, conv1.shape[3]))
    padded[:, 1:-1, 1:-1, :] = conv2d(np, input, conv1)
    x = batchnorm2d(np, padded)
    x = relu(np, x)

    x = conv2d(np, x, conv2)
    x = batchnorm2d(np, x)
    x = relu(np, x)
    x = conv2d(np, x, conv3)
    x = batchnorm2d(np, x)
    return relu(np, x + input)
