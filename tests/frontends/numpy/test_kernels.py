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
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(
        (lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_softmax_last_axis(rng):
    x = rng.normal(size=(50, 30)).astype(np.float32)
    want = softmax(np, x)
    got = softmax(dnp, dnp.asarray(x))
    # max per row, sum per row, the normalised values; exp(x - max) is never stored
    assert "(3 passes over the data)" in db.explain(got).split("== after")[1]
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)


def test_black_scholes_with_scipy_erf(rng):
    n = 2000
    args = (rng.uniform(10, 100, n), rng.uniform(10, 100, n), rng.uniform(0.1, 2, n), 0.03,
            rng.uniform(0.1, 0.5, n))
    want = black_scholes(np, *args)
    wrapped = [dnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    got = db.evaluate(*black_scholes(dnp, *wrapped))
    for g, w in zip(got, want, strict=True):
        assert np.asarray(g).dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-9)
    assert db.stats()["fallbacks"] == {} or not any(
        "erf" in reason for reason in db.stats()["fallbacks"])


def test_haversine(rng):
    n = 3000
    coords = [rng.uniform(-90, 90, n), rng.uniform(-180, 180, n), rng.uniform(-90, 90, n),
              rng.uniform(-180, 180, n)]
    want = haversine(np, *coords)
    got = haversine(dnp, *coords)  # NumPy arrays in: the dnp calls make them lazy
    assert type(got) is dnp.ndarray
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    mean = dnp.mean(got)
    assert "1 pass over the data" in db.explain(mean)
    np.testing.assert_allclose(float(mean), want.mean(), rtol=1e-10)
