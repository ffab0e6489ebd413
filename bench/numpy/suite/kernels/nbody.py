"""nbody: leapfrog N-body with energies, a Python time loop; pairwise matrices, masks, @, triu.

Follows NPBench's "nbody" kernel (npbench/benchmarks/nbody).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

import numpy

SIZES = {
    "S": dict(N=50, tEnd=4.0, dt=0.02, softening=0.1, G=1.0),
    "M": dict(N=150, tEnd=3.0, dt=0.01, softening=0.1, G=1.0),
}


def initialize(size_preset, rng):
    N, tEnd, dt, softening, G = SIZES[size_preset].values()
    mass = 20.0 * numpy.ones((N, 1)) / N
    pos = rng.random((N, 3))
    vel = rng.random((N, 3))
    Nt = int(numpy.ceil(tEnd / dt))
    return mass, pos, vel, N, Nt, dt, G, softening


def getAcc(np, pos, mass, G, softening):
    x = pos[:, 0:1]
    y = pos[:, 1:2]
    z = pos[:, 2:3]
    dx = x.T - x
    dy = y.T - y
    dz = z.T - z
    inv_r3 = dx**2 + dy**2 + dz**2 + softening**2
    inv_r3[inv_r3 > 0] = inv_r3[inv_r3 > 0] ** (-1.5)
    ax = G * (dx * inv_r3) @ mass
    ay = G * (dy * inv_r3) @ mass
    az = G * (dz * inv_r3) @ mass
    a = np.hstack((ax, ay, az))
    return a


def getEnergy(np, pos, vel, mass, G):
    KE = 0.5 * np.sum(mass * vel**2)
    x = pos[:, 0:1]
    y = pos[:, 1:2]
    z = pos[:, 2:3]
    dx = x.T - x
    dy = y.T - y
    dz = z.T - z
    inv_r = np.sqrt(dx**2 + dy**2 + dz**2)
    inv_r[inv_r > 0] = 1.0 / inv_r[inv_r > 0]
    PE = G * np.sum(np.triu(-(mass * mass.T) * inv_r, 1))
    return KE, PE


def kernel(np, mass, pos, vel, N, Nt, dt, G, softening):
    vel -= np.mean(mass * vel, axis=0) / np.mean(mass)
    acc = getAcc(np, pos, mass, G, softening)
    KE = np.ndarray(Nt + 1, dtype=np.float64)
    PE = np.ndarray(Nt + 1, dtype=np.float64)
    KE[0], PE[0] = getEnergy(np, pos, vel, mass, G)
    t = 0.0
    for i in range(Nt):
        vel += acc * dt / 2.0
        pos += vel * dt
        acc = getAcc(np, pos, mass, G, softening)
        vel += acc * dt / 2.0
        t += dt
        KE[i + 1], PE[i + 1] = getEnergy(np, pos, vel, mass, G)
    return KE, PE
