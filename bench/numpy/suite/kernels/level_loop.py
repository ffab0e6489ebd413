"""level_loop (own): a Python loop over vertical levels of a 3-D column model.

Hydrostatic pressure integrated downward level by level, a convective adjustment where a
level is unstable (np.where on each 2-D slice), and a cumulative mass by np.cumsum over
levels at the end.
"""

import numpy

SIZES = {"S": dict(nz=40, ny=200, nx=200), "M": dict(nz=80, ny=400, nx=400)}


def initialize(size_preset, rng):
    nz, ny, nx = SIZES[size_preset].values()
    theta = 290.0 + 3.0 * numpy.arange(nz)[:, None, None] + rng.normal(0.0, 2.0, size=(nz, ny, nx))
    dz = rng.uniform(90.0, 110.0, size=nz)
    return theta, dz


def kernel(np, theta, dz):
    g = 9.81
    nz = theta.shape[0]
    rho = 1.2 * np.exp(-np.cumsum(dz)[:, None, None] / 8000.0) * (290.0 / theta)
    p = np.empty_like(theta)
    p[0] = 1000.0 + 0.0 * theta[0]
    for k in range(1, nz):
        p[k] = p[k - 1] - g * rho[k] * dz[k] / 100.0
    th = theta.copy()
    for k in range(1, nz):
        unstable = th[k] < th[k - 1]
        mix = 0.5 * (th[k] + th[k - 1])
        th[k] = np.where(unstable, mix, th[k])
        th[k - 1] = np.where(unstable, mix, th[k - 1])
    mass = np.cumsum(rho * dz[:, None, None], axis=0)
    return p, th, mass[-1]
