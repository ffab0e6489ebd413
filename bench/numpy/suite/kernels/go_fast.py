"""go_fast: a scalar Python loop over the diagonal (np.tanh of scalars), then a + trace.

Follows NPBench's "go_fast" kernel (npbench/benchmarks/go_fast).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {"S": dict(N=4000), "M": dict(N=8000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    return (rng.random((N, N)),)


def kernel(np, a):
    trace = 0.0
    for i in range(a.shape[0]):
        trace += np.tanh(a[i, i])
    return a + trace


def numba_kernel():
    import numba

    @numba.njit
    def go_fast(a):
        trace = 0.0
        for i in range(a.shape[0]):
            trace += numpy.tanh(a[i, i])
        return a + trace

    return go_fast
