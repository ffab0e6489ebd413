"""sort_unique (own): sorting, np.unique with counts and inverse, argsort ranks, searchsorted.

Sensor ids with repeated readings: the distinct ids and how often each occurs, the mean
reading per id through the inverse index, the median of the readings by sorting, ranks by
argsort, and the positions of quantile cut points with np.searchsorted.
"""

import numpy

SIZES = {"S": dict(n=200000, ids=5000), "M": dict(n=2000000, ids=50000)}


def initialize(size_preset, rng):
    n, ids = SIZES[size_preset].values()
    sensor = rng.integers(0, ids, size=n).astype(numpy.int64) * 7 + 3
    reading = rng.normal(20.0, 5.0, size=n)
    return sensor, reading


def kernel(np, sensor, reading):
    uniq, inverse, counts = np.unique(sensor, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=reading, minlength=uniq.size)
    means = sums / counts
    s = np.sort(reading)
    median = 0.5 * (s[(s.size - 1) // 2] + s[s.size // 2])
    order = np.argsort(reading, kind="stable")
    ranks = np.empty_like(order)
    ranks[order] = np.arange(order.size)
    cuts = np.searchsorted(s, np.array([10.0, 15.0, 20.0, 25.0, 30.0]))
    return uniq, counts, means, median, ranks, cuts
