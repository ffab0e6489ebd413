"""azimint_hist: azimuthal integration with two np.histogram calls (one weighted).

Follows NPBench's "azimint_hist" kernel (npbench/benchmarks/azimint_hist).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {"S": dict(N=1000000, npt=1000), "M": dict(N=10000000, npt=1000)}


def initialize(size_preset, rng):
    N, npt = SIZES[size_preset].values()
    data, radius = rng.random((N,)), rng.random((N,))
    return data, radius, npt


def kernel(np, data, radius, npt):
    histu = np.histogram(radius, npt)[0]
    histw = np.histogram(radius, npt, weights=data)[0]
    return histw / histu
