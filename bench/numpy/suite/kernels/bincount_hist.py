"""bincount_hist (own): integer histograms with np.bincount, integer arithmetic on keys.

Particle hits on a detector grid: integer cell coordinates from positions (floor, astype),
a flattened cell key, counts and energy sums per cell by np.bincount, the 2-D histogram
reshaped, the busiest cells by argsort, and a 1-D histogram of the counts themselves.
"""

SIZES = {"S": dict(n=1000000, nx=256, ny=256), "M": dict(n=10000000, nx=1024, ny=1024)}


def initialize(size_preset, rng):
    n, nx, ny = SIZES[size_preset].values()
    x = rng.normal(0.5, 0.15, size=n)
    y = rng.normal(0.5, 0.2, size=n)
    energy = rng.exponential(1.0, size=n)
    return x, y, energy, nx, ny


def kernel(np, x, y, energy, nx, ny):
    ix = np.floor(x * nx).astype(np.int64)
    iy = np.floor(y * ny).astype(np.int64)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    key = ix[inside] * ny + iy[inside]
    counts = np.bincount(key, minlength=nx * ny)
    esum = np.bincount(key, weights=energy[inside], minlength=nx * ny)
    grid = counts.reshape(nx, ny)
    mean_e = esum / np.maximum(counts, 1)
    busiest = np.argsort(counts, kind="stable")[-10:]
    occupancy = np.bincount(np.minimum(counts, 63), minlength=64)
    return grid, mean_e, busiest, occupancy, (counts % 2 == 1).sum()
