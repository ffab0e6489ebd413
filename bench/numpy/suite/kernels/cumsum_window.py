"""cumsum_window (own): moving averages and drawdowns from cumulative sums along an axis.

Price paths in rows: log returns by np.diff, a moving average through np.cumsum, running
maximum (np.maximum.accumulate) for the drawdown, and the cumulative product of gross returns.
"""

import numpy

SIZES = {"S": dict(paths=64, steps=8192, window=50), "M": dict(paths=512, steps=16384, window=200)}


def initialize(size_preset, rng):
    paths, steps, window = SIZES[size_preset].values()
    shocks = rng.normal(0.0002, 0.01, size=(paths, steps))
    prices = 100.0 * numpy.exp(numpy.cumsum(shocks, axis=1))
    return prices, window


def kernel(np, prices, window):
    logret = np.diff(np.log(prices), axis=1)
    c = np.cumsum(prices, axis=1)
    moving = (c[:, window:] - c[:, :-window]) / window
    peak = np.maximum.accumulate(prices, axis=1)
    drawdown = (prices - peak) / peak
    growth = np.cumprod(1.0 + logret, axis=1)
    vol = np.sqrt(np.cumsum(logret**2, axis=1) / np.arange(1, logret.shape[1] + 1))
    return moving, drawdown.min(axis=1), growth[:, -1], vol
