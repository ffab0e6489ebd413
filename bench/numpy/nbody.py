"""nBody (WORKLOADS.md): n bodies under gravity, all pairs by broadcasting, a few Euler steps.

>>> import numpy
>>> state = make_inputs(8, numpy.random.default_rng(0))
>>> [a.shape for a in nbody(numpy, *state, steps=1)][:2]
[(8,), (8,)]
"""

from __future__ import annotations

import math

import numpy

G = 1.0  # units where the gravitational constant is 1
DT = 1e-3
STEPS = 3


def make_inputs(n: int, rng) -> tuple:
    """mass (0.5-1.5), positions in the unit cube, small random velocities."""
    mass = rng.uniform(0.5, 1.5, n)
    x, y, z = (rng.uniform(-1.0, 1.0, n) for _ in range(3))
    vx, vy, vz = (rng.uniform(-0.1, 0.1, n) for _ in range(3))
    return mass, x, y, z, vx, vy, vz


def nbody(np, mass, x, y, z, vx, vy, vz, steps=STEPS):
    n = mass.shape[0]
    self_pairs = np.eye(n, dtype=bool)
    for _ in range(steps):
        dx = x[None, :] - x[:, None]  # dx[i, j] = x[j] - x[i]
        dy = y[None, :] - y[:, None]
        dz = z[None, :] - z[:, None]
        r = np.sqrt(dx**2 + dy**2 + dz**2)
        r = np.where(self_pairs, 1.0, r)  # a body exerts no force on itself (dx = 0 there)
        force = G * mass[:, None] * mass[None, :] / r**2
        vx = vx + (force * dx / r).sum(axis=1) / mass * DT
        vy = vy + (force * dy / r).sum(axis=1) / mass * DT
        vz = vz + (force * dz / r).sum(axis=1) / mass * DT
        x = x + vx * DT
        y = y + vy * DT
        z = z + vz * DT
    return x, y, z, vx, vy, vz


def numexpr_nbody(mass, x, y, z, vx, vy, vz, steps=STEPS):
    """The n x n work in numexpr (it broadcasts and sums along an axis); the O(n) in NumPy."""
    import numexpr as ne

    n = mass.shape[0]
    self_pairs = numpy.eye(n, dtype=bool)
    for _ in range(steps):
        v = {
            "xi": x[:, None],
            "xj": x[None, :],
            "yi": y[:, None],
            "yj": y[None, :],
            "zi": z[:, None],
            "zj": z[None, :],
            "mi": mass[:, None],
            "mj": mass[None, :],
            "eye": self_pairs,
            "G": G,
        }
        v["r"] = ne.evaluate(
            "where(eye, 1.0, sqrt((xj - xi)**2 + (yj - yi)**2 + (zj - zi)**2))", local_dict=v
        )
        v["f"] = ne.evaluate("G * mi * mj / r**3", local_dict=v)
        vx = vx + ne.evaluate("sum(f * (xj - xi), axis=1)", local_dict=v) / mass * DT
        vy = vy + ne.evaluate("sum(f * (yj - yi), axis=1)", local_dict=v) / mass * DT
        vz = vz + ne.evaluate("sum(f * (zj - zi), axis=1)", local_dict=v) / mass * DT
        x, y, z = x + vx * DT, y + vy * DT, z + vz * DT
    return x, y, z, vx, vy, vz


def make_numba(steps=STEPS):
    """What a Numba user writes: for each body (in parallel), a loop over all the others."""
    import numba

    @numba.njit(parallel=True, fastmath=True)
    def accelerate(mass, x, y, z, vx, vy, vz):
        n = mass.shape[0]
        new_vx, new_vy, new_vz = numpy.empty(n), numpy.empty(n), numpy.empty(n)
        for i in numba.prange(n):
            fx = fy = fz = 0.0
            for j in range(n):
                if i == j:
                    continue
                dx, dy, dz = x[j] - x[i], y[j] - y[i], z[j] - z[i]
                r = math.sqrt(dx * dx + dy * dy + dz * dz)
                f = G * mass[i] * mass[j] / (r * r * r)
                fx += f * dx
                fy += f * dy
                fz += f * dz
            new_vx[i] = vx[i] + fx / mass[i] * DT
            new_vy[i] = vy[i] + fy / mass[i] * DT
            new_vz[i] = vz[i] + fz / mass[i] * DT
        return new_vx, new_vy, new_vz

    def numba_nbody(mass, x, y, z, vx, vy, vz):
        for _ in range(steps):
            vx, vy, vz = accelerate(mass, x, y, z, vx, vy, vz)
            x, y, z = x + vx * DT, y + vy * DT, z + vz * DT
        return x, y, z, vx, vy, vz

    return numba_nbody
