"""axis_stats (own): reductions along axes of a 3-D field.

A (time, lat, lon) temperature field: climatology (mean over time), anomalies, the standard
deviation over time, zonal means (over lon), extrema and their positions over time, a
weighted area mean with cos(latitude) weights, and the trend of the global mean by least
squares (np.polyfit-free: sums of products).
"""

import numpy

SIZES = {"S": dict(nt=120, nlat=90, nlon=180), "M": dict(nt=365, nlat=180, nlon=360)}


def initialize(size_preset, rng):
    nt, nlat, nlon = SIZES[size_preset].values()
    lat = numpy.linspace(-89.0, 89.0, nlat)
    base = 30.0 * numpy.cos(numpy.deg2rad(lat))[None, :, None]
    trend = 0.01 * numpy.arange(nt)[:, None, None]
    field = base + rng.normal(0.0, 2.0, size=(nt, nlat, nlon)) + trend
    return field, lat


def kernel(np, field, lat):
    clim = field.mean(axis=0)
    anom = field - clim
    sd = field.std(axis=0)
    zonal = field.mean(axis=2)
    tmax = field.max(axis=0)
    when = field.argmax(axis=0)
    w = np.cos(np.deg2rad(lat))
    area = (field.mean(axis=2) * w).sum(axis=1) / w.sum()
    t = np.arange(field.shape[0], dtype=np.float64)
    tc = t - t.mean()
    slope = np.sum(tc * (area - area.mean())) / np.sum(tc * tc)
    extreme = (np.abs(anom) > 2.5 * sd).sum(axis=0)
    return clim, sd, zonal, tmax, when, area, slope, extreme
