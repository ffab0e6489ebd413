"""int_hash (own): integer work, a few rounds of xorshift-multiply hashing on uint64 keys.

Shifts, xors, wrapping multiplies and masks over an unsigned array, then bucket counts by
np.bincount of the hash modulo a prime and the collisions per bucket.
"""

import numpy

SIZES = {"S": dict(n=1000000, buckets=10007), "M": dict(n=8000000, buckets=100003)}


def initialize(size_preset, rng):
    n, buckets = SIZES[size_preset].values()
    keys = rng.integers(0, 2**62, size=n, dtype=numpy.uint64)
    return keys, buckets


def kernel(np, keys, buckets):
    h = keys.copy()
    for _ in range(3):
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(32)
    bucket = (h % np.uint64(buckets)).astype(np.int64)
    counts = np.bincount(bucket, minlength=buckets)
    low = (h & np.uint64(0xFFFF)).astype(np.int64)
    parity = np.bitwise_xor.reduce(low)
    return h, counts, counts.max(), (counts > 1).sum(), parity
