"""nussinov: RNA folding dynamic program, pure scalar Python loops over an int32 table.

Follows NPBench's "nussinov" kernel (npbench/benchmarks/polybench/nussinov).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=60), "M": dict(N=120)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    seq = numpy.fromfunction(lambda i: (i + 1) % 4, (N,), dtype=numpy.int32)
    return N, seq


def match(b1, b2):
    if b1 + b2 == 3:
        return 1
    else:
        return 0


def kernel(np, N, seq):
    table = np.zeros((N, N), np.int32)

    for i in range(N - 1, -1, -1):
        for j in range(i + 1, N):
            if j - 1 >= 0:
                table[i, j] = max(table[i, j], table[i, j - 1])
            if i + 1 < N:
                table[i, j] = max(table[i, j], table[i + 1, j])
            if j - 1 >= 0 and i + 1 < N:
                if i < j - 1:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1] + match(seq[i], seq[j]))
                else:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1])
            for k in range(i + 1, j):
                table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])

    return table
