"""Kernels written the way NumPy users write them, run with `import numpy as np` and with
`import daybreak.numpy as np`: the answers must agree."""

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp

special = pytest.importorskip("scipy.special")


def softmax(np, x):
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def black_scholes(np, price, strike, t, rate, vol):
    sqrt_t = np.sqrt(t)
    d1 = (np.log(price / strike) + (rate + 0.5 * vol * vol) * t) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    cdf1 = 0.5 * (1.0 + special.erf(d1 / np.sqrt(2.0)))
    cdf2 = 0.5 * (1.0 + special.erf(d2 / np.sqrt(2.0)))
    discount = np.exp(-rate * t)
    call = price * cdf1 - strike * discount * cdf2
    put = strike * discount * (1.0 - cdf2) - price * (1.0 - cdf1)
    return call, put


def haversine(np, lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_softmax_last_axis(rng):
    x = rng.normal(size=(50, 30)).astype(np.float32)
    want = softmax(np, x)
    got = softmax(dnp, dnp.array(x))
    # max per row, sum per row, the normalised values; exp(x - max) is never stored
    assert "(3 passes over the data)" in db.explain(got).split("== after")[1]
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)


def test_black_scholes_with_scipy_erf(rng):
    n = 2000
    args = (
        rng.uniform(10, 100, n),
        rng.uniform(10, 100, n),
        rng.uniform(0.1, 2, n),
        0.03,
        rng.uniform(0.1, 0.5, n),
    )
    want = black_scholes(np, *args)
    wrapped = [dnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    got = db.evaluate(*black_scholes(dnp, *wrapped))
    for g, w in zip(got, want, strict=True):
        assert np.asarray(g).dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-9)
    assert db.stats()["fallbacks"] == {} or not any(
        "erf" in reason for reason in db.stats()["fallbacks"]
    )


def test_haversine(rng):
    n = 3000
    coords = [
        rng.uniform(-90, 90, n),
        rng.uniform(-180, 180, n),
        rng.uniform(-90, 90, n),
        rng.uniform(-180, 180, n),
    ]
    want = haversine(np, *coords)
    got = haversine(dnp, *coords)  # NumPy arrays in: the dnp calls make them lazy
    assert type(got) is dnp.ndarray
    mean = dnp.mean(got)
    assert "1 pass over the data" in db.explain(mean)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    np.testing.assert_allclose(float(mean), want.mean(), rtol=1e-10)


def mandelbrot(np, width, height, max_iter):
    """Escape counts on a grid, complex-free: real and imaginary parts as float arrays."""
    cr = np.linspace(-2.0, 0.6, width)[None, :] + np.zeros((height, 1))
    ci = np.linspace(-1.2, 1.2, height)[:, None] + np.zeros((1, width))
    zr = np.zeros((height, width))
    zi = np.zeros((height, width))
    count = np.zeros((height, width), dtype=np.int64)
    for _ in range(max_iter):
        zr2, zi2 = zr * zr, zi * zi
        inside = zr2 + zi2 <= 4.0
        zi = np.where(inside, 2.0 * zr * zi + ci, zi)
        zr = np.where(inside, zr2 - zi2 + cr, zr)
        count += inside
    return count


def jacobi(np, n, steps):
    """Laplace's equation on a square, hot top edge, by Jacobi iteration with slices."""
    u = np.zeros((n, n))
    u[0, :] = 1.0
    for _ in range(steps):
        u[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
    return u


def heat(np, u, steps, alpha=0.1):
    """Explicit heat-equation steps: a 5-point stencil on the interior, fixed edges."""
    u = u.copy()
    for _ in range(steps):
        lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
        u[1:-1, 1:-1] = u[1:-1, 1:-1] + alpha * lap
    return u


def azimuthal_integration(np, image, center, bin_width):
    """Mean intensity in rings around `center` (radii from a grid; sums by bincount)."""
    ny, nx = image.shape
    y, x = np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64)
    r = np.sqrt((x[None, :] - center[0]) ** 2 + (y[:, None] - center[1]) ** 2)
    bins = (r / bin_width).astype(np.int64)
    sums = np.bincount(bins.ravel(), weights=image.ravel())
    counts = np.bincount(bins.ravel())
    return sums / np.maximum(counts, 1)


def mlp(np, x, w1, b1, w2, b2):
    """A 2-layer perceptron: relu(x @ W1 + b1) @ W2 + b2, then softmax."""
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return softmax(np, hidden @ w2 + b2)


def nbody_step(np, mass, x, y, z, vx, vy, vz, dt=1e-3):
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    dz = z[None, :] - z[:, None]
    r = np.sqrt(dx**2 + dy**2 + dz**2)
    r = np.where(np.eye(len(x), dtype=bool), 1.0, r)
    force = mass[:, None] * mass[None, :] / r**2
    vx = vx + (force * dx / r).sum(axis=1) / mass * dt
    vy = vy + (force * dy / r).sum(axis=1) / mass * dt
    vz = vz + (force * dz / r).sum(axis=1) / mass * dt
    return x + vx * dt, y + vy * dt, z + vz * dt, vx, vy, vz


def shallow_water_step(np, eta, u, v, g=9.81, depth=100.0, dx=1000.0, dt=1.0):
    def d_dx(a):
        return (np.roll(a, -1, axis=1) - np.roll(a, 1, axis=1)) / (2 * dx)

    def d_dy(a):
        return (np.roll(a, -1, axis=0) - np.roll(a, 1, axis=0)) / (2 * dx)

    du = -g * d_dx(eta) - u * d_dx(u) - v * d_dy(u)
    dv = -g * d_dy(eta) - u * d_dx(v) - v * d_dy(v)
    deta = -d_dx(u * (depth + eta)) - d_dy(v * (depth + eta))
    return eta + deta * dt, u + du * dt, v + dv * dt


def test_mandelbrot():
    want = mandelbrot(np, 60, 40, 20)
    got = mandelbrot(dnp, 60, 40, 20)
    assert np.asarray(got).dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(got), want)


def test_jacobi_with_slice_assignment():
    db.stats(reset=True)
    want = jacobi(np, 24, 15)
    got = jacobi(dnp, 24, 15)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)
    assert db.stats()["fallbacks"] == {}


def test_heat_equation_stencil(rng):
    u0 = rng.random((30, 20))
    want = heat(np, u0, 10)
    got = heat(dnp, dnp.asarray(u0), 10)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)


def test_azimuthal_integration_bincount_compiles(rng):
    """bincount with weights (it was a counted fallback): strict mode, no fallback."""
    db.stats(reset=True)
    image = rng.random((50, 70))
    want = azimuthal_integration(np, image, (31.5, 20.25), 2.0)
    got = azimuthal_integration(dnp, dnp.asarray(image), (31.5, 20.25), 2.0)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    assert db.stats()["fallbacks"] == {}


def test_mlp_forward_uses_blas_without_fallbacks(rng):
    db.stats(reset=True)
    x = rng.normal(size=(64, 20))
    w1, b1 = rng.normal(size=(20, 32)), rng.normal(size=32)
    w2, b2 = rng.normal(size=(32, 10)), rng.normal(size=10)
    want = mlp(np, x, w1, b1, w2, b2)
    got = mlp(dnp, dnp.asarray(x), w1, b1, w2, b2)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    assert db.stats()["fallbacks"] == {}


def test_nbody_step(rng):
    n = 40
    state = (
        [rng.uniform(0.5, 1.5, n)]
        + [rng.uniform(-1, 1, n) for _ in range(3)]
        + [rng.uniform(-0.1, 0.1, n) for _ in range(3)]
    )
    want = nbody_step(np, *state)
    got = db.evaluate(*nbody_step(dnp, *(dnp.asarray(a) for a in state)))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12)


def test_shallow_water_step_with_roll(rng):
    db.stats(reset=True)
    eta, u, v = (rng.uniform(-0.01, 0.01, (24, 32)) for _ in range(3))
    state_np, state_db = (eta, u, v), tuple(dnp.asarray(a) for a in (eta, u, v))
    for _ in range(2):
        state_np = shallow_water_step(np, *state_np)
        state_db = shallow_water_step(dnp, *state_db)
    for g, w in zip(db.evaluate(*state_db), state_np, strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12, atol=1e-18)
    assert db.stats()["fallbacks"] == {}
