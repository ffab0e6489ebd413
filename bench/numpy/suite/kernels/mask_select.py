"""mask_select (own): boolean masks and selections.

Quality control of a table of measurements held as columns: combined conditions with & and |,
selection by mask, counts, masked assignment of outliers, np.where, selected means, and
np.nonzero positions.
"""

SIZES = {"S": dict(n=1000000), "M": dict(n=10000000)}


def initialize(size_preset, rng):
    n = SIZES[size_preset]["n"]
    temp = rng.normal(15.0, 10.0, size=n)
    humidity = rng.uniform(0.0, 100.0, size=n)
    wind = rng.gamma(2.0, 3.0, size=n)
    return temp, humidity, wind


def kernel(np, temp, humidity, wind):
    valid = (temp > -40.0) & (temp < 50.0) & (humidity >= 0.0) & (humidity <= 100.0)
    storm = valid & ((wind > 20.0) | (humidity > 95.0))
    n_storm = np.count_nonzero(storm)
    storm_temp = temp[storm].mean()
    t = temp.copy()
    t[~valid] = np.nan
    z = (t - np.nanmean(t)) / np.nanstd(t)
    t[np.abs(z) > 3.0] = np.nan
    feels = np.where(wind > 5.0, t - 0.7 * np.sqrt(wind), t + 0.1 * humidity / 10.0)
    hot_idx = np.nonzero(feels > 35.0)[0]
    calm_humid = humidity[(wind < 1.0) & valid]
    return n_storm, storm_temp, feels, hot_idx, calm_humid.mean(), np.isnan(t).sum()
