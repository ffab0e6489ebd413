"""Haversine (WORKLOADS.md): great-circle distance in miles from one fixed point to n points.

>>> import numpy
>>> lat, lon = make_inputs(3, numpy.random.default_rng(0))
>>> haversine(numpy, lat, lon)[0].shape
(3,)
"""

from __future__ import annotations

import math

import numpy

LAT1, LON1 = 0.70984286, 1.23892197  # radians
MILES = 3959.0  # the Earth's radius


def make_inputs(n: int, rng) -> tuple:
    """Random latitudes and longitudes, in radians."""
    return rng.uniform(-math.pi / 2, math.pi / 2, n), rng.uniform(-math.pi, math.pi, n)


def haversine(np, lat2, lon2):
    dlat = lat2 - LAT1
    dlon = lon2 - LON1
    a = np.sin(dlat / 2) ** 2 + np.cos(LAT1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    miles = 2 * np.arcsin(np.sqrt(a)) * MILES
    return (miles,)


def numexpr_haversine(lat2, lon2):
    import numexpr as ne

    v = {
        "lat2": lat2,
        "lon2": lon2,
        "lat1": LAT1,
        "lon1": LON1,
        "radius": MILES,
        "cos_lat1": math.cos(LAT1),
    }
    a = ne.evaluate(
        "sin((lat2 - lat1) / 2) ** 2 + cos_lat1 * cos(lat2) * sin((lon2 - lon1) / 2) ** 2",
        local_dict=v,
    )
    return (ne.evaluate("2 * arcsin(sqrt(a)) * radius", local_dict={"a": a, "radius": MILES}),)


def make_numba():
    import numba

    @numba.njit(parallel=True, fastmath=True)
    def numba_haversine(lat2, lon2):
        out = numpy.empty(lat2.shape[0])
        cos_lat1 = math.cos(LAT1)
        for i in numba.prange(lat2.shape[0]):
            a = (
                math.sin((lat2[i] - LAT1) / 2) ** 2
                + cos_lat1 * math.cos(lat2[i]) * math.sin((lon2[i] - LON1) / 2) ** 2
            )
            out[i] = 2 * math.asin(math.sqrt(a)) * MILES
        return (out,)

    return numba_haversine
