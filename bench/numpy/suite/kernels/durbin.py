"""durbin: Toeplitz solver, a scalar recurrence with flips and dots.

Follows NPBench's "durbin" kernel (npbench/benchmarks/polybench/durbin).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

# The recurrence amplifies rounding: NumPy itself, with np.dot replaced by np.sum(a * b) (another
# summation order), differs from NumPy's BLAS dot by 1.3e-7 of the largest |value| at preset S,
# more than the suite's default atol (1e-8 of the largest |value|) on the elements near zero.
# Agreement is checked with this tolerance instead (atol relative to the largest |value|).
TOLERANCE = dict(rtol=1e-6, atol=1e-6)

SIZES = {"S": dict(N=3000), "M": dict(N=8000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    r = numpy.fromfunction(lambda i: N + 1 - i, (N,))
    return (r,)


def kernel(np, r):
    y = np.empty_like(r)
    alpha = -r[0]
    beta = 1.0
    y[0] = -r[0]

    for k in range(1, r.shape[0]):
        beta *= 1.0 - alpha * alpha
        alpha = -(r[k] + np.dot(np.flip(r[:k]), y[:k])) / beta
        y[:k] += alpha * np.flip(y[:k])
        y[k] = alpha

    return y
