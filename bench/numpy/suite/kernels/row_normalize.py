"""row_normalize (own): a Python loop over rows, each row standardised and clipped.

Spectra in rows: per row, subtract the baseline (a low percentile), divide by the norm,
clip, and record the peak position; written row by row into a preallocated output, the way
such loops are written before anyone vectorises them.
"""

import numpy

SIZES = {"S": dict(rows=1000, cols=2000), "M": dict(rows=5000, cols=4000)}


def initialize(size_preset, rng):
    rows, cols = SIZES[size_preset].values()
    wave = numpy.linspace(0.0, 20.0, cols)
    spectra = (
        rng.uniform(0.5, 2.0, size=(rows, 1)) * numpy.sin(wave)[None, :] ** 2
        + rng.normal(0.0, 0.1, size=(rows, cols))
        + rng.uniform(0.0, 3.0, size=(rows, 1))
    )
    return (spectra,)


def kernel(np, spectra):
    n = spectra.shape[0]
    out = np.empty_like(spectra)
    peaks = np.zeros(n, dtype=np.int64)
    for i in range(n):
        row = spectra[i]
        base = row.min()
        row = row - base
        norm = np.sqrt(np.sum(row * row))
        row = row / norm
        out[i] = np.clip(row, 0.0, 0.05)
        peaks[i] = np.argmax(row)
    return out, peaks
