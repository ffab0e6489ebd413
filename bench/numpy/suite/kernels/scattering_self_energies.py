"""scattering_self_energies: complex128, eight nested Python loops of tiny matrix products.

Follows NPBench's "scattering_self_energies" kernel (npbench/benchmarks/scattering_self_energies).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {
    "S": dict(Nkz=2, NE=4, Nqz=2, Nw=2, N3D=2, NA=10, NB=3, Norb=4),
    "M": dict(Nkz=3, NE=10, Nqz=3, Nw=3, N3D=3, NA=12, NB=4, Norb=4),
}


def rng_complex(shape, rng):
    return rng.random(shape) + rng.random(shape) * 1j


def initialize(size_preset, rng):
    Nkz, NE, Nqz, Nw, N3D, NA, NB, Norb = SIZES[size_preset].values()
    neigh_idx = numpy.ndarray([NA, NB], dtype=numpy.int32)
    for i in range(NA):
        neigh_idx[i] = numpy.positive(numpy.arange(i - NB / 2, i + NB / 2) % NA)
    dH = rng_complex([NA, NB, N3D, Norb, Norb], rng)
    G = rng_complex([Nkz, NE, NA, Norb, Norb], rng)
    D = rng_complex([Nqz, Nw, NA, NB, N3D, N3D], rng)
    Sigma = numpy.zeros([Nkz, NE, NA, Norb, Norb], dtype=numpy.complex128)
    return neigh_idx, dH, G, D, Sigma


def kernel(np, neigh_idx, dH, G, D, Sigma):
    for k in range(G.shape[0]):
        for E in range(G.shape[1]):
            for q in range(D.shape[0]):
                for w in range(D.shape[1]):
                    for i in range(D.shape[-2]):
                        for j in range(D.shape[-1]):
                            for a in range(neigh_idx.shape[0]):
                                for b in range(neigh_idx.shape[1]):
                                    if E - w >= 0:
                                        dHG = G[k, E - w, neigh_idx[a, b]] @ dH[a, b, i]
                                        dHD = dH[a, b, j] * D[q, w, a, b, i, j]
                                        Sigma[k, E, a] += dHG @ dHD
    return Sigma
