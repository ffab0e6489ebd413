"""contour_integral: complex128 linear solves along a contour, summed with weights.

Follows NPBench's "contour_integral" kernel (npbench/benchmarks/contour_integral).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {
    "S": dict(NR=70, NM=200, slab_per_bc=2, num_int_pts=32),
    "M": dict(NR=120, NM=300, slab_per_bc=2, num_int_pts=32),
}


def _complex(shape, rng):
    return rng.random(shape) + rng.random(shape) * 1j


def initialize(size_preset, rng):
    NR, NM, slab_per_bc, num_int_pts = SIZES[size_preset].values()
    Ham = _complex((slab_per_bc + 1, NR, NR), rng)
    int_pts = _complex((num_int_pts,), rng)
    Y = _complex((NR, NM), rng)
    return NR, NM, slab_per_bc, Ham, int_pts, Y


def kernel(np, NR, NM, slab_per_bc, Ham, int_pts, Y):
    P0 = np.zeros((NR, NM), dtype=np.complex128)
    P1 = np.zeros((NR, NM), dtype=np.complex128)
    for z in int_pts:
        Tz = np.zeros((NR, NR), dtype=np.complex128)
        for n in range(slab_per_bc + 1):
            zz = np.power(z, slab_per_bc / 2 - n)
            Tz += zz * Ham[n]
        if NR == NM:
            X = np.linalg.inv(Tz)
        else:
            X = np.linalg.solve(Tz, Y)
        if abs(z) < 1.0:
            X = -X
        P0 += X
        P1 += z * X

    return P0, P1
