"""azimint_naive: azimuthal integration, a Python loop over bins with boolean masks and selections.

Follows NPBench's "azimint_naive" kernel (npbench/benchmarks/azimint_naive).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {"S": dict(N=100000, npt=400), "M": dict(N=400000, npt=1000)}


def initialize(size_preset, rng):
    N, npt = SIZES[size_preset].values()
    data, radius = rng.random((N,)), rng.random((N,))
    return data, radius, npt


def kernel(np, data, radius, npt):
    rmax = radius.max()
    res = np.zeros(npt, dtype=np.float64)
    for i in range(npt):
        r1 = rmax * i / npt
        r2 = rmax * (i + 1) / npt
        mask_r12 = np.logical_and((r1 <= radius), (radius < r2))
        values_r12 = data[mask_r12]
        res[i] = values_r12.mean()
    return res
