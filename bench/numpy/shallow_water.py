"""Shallow Water (WORKLOADS.md): Euler steps of the non-conservative shallow water equations
on a periodic n x n grid; spatial derivatives by central differences with `np.roll`.

>>> import numpy
>>> eta, u, v = make_inputs(8, numpy.random.default_rng(0))
>>> [a.shape for a in shallow_water(numpy, eta, u, v, steps=1)]
[(8, 8), (8, 8), (8, 8)]
"""

from __future__ import annotations

import numpy

GRAVITY = 9.81
DEPTH = 100.0  # mean water depth H (m)
DRAG = 1e-4  # linear bottom friction
DX = 1000.0  # grid spacing (m)
DT = 1.0  # time step (s): well inside the CFL limit dx / sqrt(g H) ~ 32 s
STEPS = 3


def make_inputs(n: int, rng) -> tuple:
    """Surface height eta: a Gaussian bump plus noise (m); velocities u, v: small noise (m/s)."""
    axis = numpy.linspace(-1.0, 1.0, n)
    bump = numpy.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) * 20.0)
    eta = bump + rng.uniform(-0.01, 0.01, (n, n))
    return eta, rng.uniform(-0.01, 0.01, (n, n)), rng.uniform(-0.01, 0.01, (n, n))


def d_dx(np, a):
    return (np.roll(a, -1, axis=1) - np.roll(a, 1, axis=1)) / (2 * DX)


def d_dy(np, a):
    return (np.roll(a, -1, axis=0) - np.roll(a, 1, axis=0)) / (2 * DX)


def shallow_water(np, eta, u, v, steps=STEPS):
    for _ in range(steps):
        du_dt = -GRAVITY * d_dx(np, eta) - u * d_dx(np, u) - v * d_dy(np, u) - DRAG * u
        dv_dt = -GRAVITY * d_dy(np, eta) - u * d_dx(np, v) - v * d_dy(np, v) - DRAG * v
        deta_dt = -d_dx(np, u * (DEPTH + eta)) - d_dy(np, v * (DEPTH + eta))
        eta = eta + deta_dt * DT
        u = u + du_dt * DT
        v = v + dv_dt * DT
    return eta, u, v


def make_numba(steps=STEPS):
    """What a Numba user writes: one parallel loop over the rows per step, neighbours by
    periodic indices."""
    import numba

    @numba.njit(parallel=True, fastmath=True)
    def step(eta, u, v):
        n, m = eta.shape
        c = 1.0 / (2 * DX)
        new_eta, new_u, new_v = numpy.empty_like(eta), numpy.empty_like(u), numpy.empty_like(v)
        for i in numba.prange(n):
            up, down = (i + 1) % n, (i - 1) % n
            for j in range(m):
                right, left = (j + 1) % m, (j - 1) % m
                u0, v0 = u[i, j], v[i, j]
                du_dx = (u[i, right] - u[i, left]) * c
                du_dy = (u[up, j] - u[down, j]) * c
                dv_dx = (v[i, right] - v[i, left]) * c
                dv_dy = (v[up, j] - v[down, j]) * c
                deta_dx = (eta[i, right] - eta[i, left]) * c
                deta_dy = (eta[up, j] - eta[down, j]) * c
                flux_x = (
                    u[i, right] * (DEPTH + eta[i, right]) - u[i, left] * (DEPTH + eta[i, left])
                ) * c
                flux_y = (v[up, j] * (DEPTH + eta[up, j]) - v[down, j] * (DEPTH + eta[down, j])) * c
                new_u[i, j] = u0 + (-GRAVITY * deta_dx - u0 * du_dx - v0 * du_dy - DRAG * u0) * DT
                new_v[i, j] = v0 + (-GRAVITY * deta_dy - u0 * dv_dx - v0 * dv_dy - DRAG * v0) * DT
                new_eta[i, j] = eta[i, j] + (-flux_x - flux_y) * DT
        return new_eta, new_u, new_v

    def numba_shallow_water(eta, u, v):
        for _ in range(steps):
            eta, u, v = step(eta, u, v)
        return eta, u, v

    return numba_shallow_water
