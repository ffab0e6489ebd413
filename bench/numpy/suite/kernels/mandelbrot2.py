"""mandelbrot2: complex128 iteration on the points not yet diverged, compacted every step.

Follows NPBench's "mandelbrot2" kernel (npbench/benchmarks/mandelbrot2), itself adapted from
thesamovar's "fast fractals with Python and NumPy".
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {
    "S": dict(xmin=-2.0, xmax=0.5, xn=300, ymin=-1.25, ymax=1.25, yn=300, maxiter=60),
    "M": dict(xmin=-2.0, xmax=0.5, xn=600, ymin=-1.25, ymax=1.25, yn=600, maxiter=100),
}


def initialize(size_preset, rng):
    p = SIZES[size_preset]
    return p["xmin"], p["xmax"], p["ymin"], p["ymax"], p["xn"], p["yn"], p["maxiter"], 2.0


def kernel(np, xmin, xmax, ymin, ymax, xn, yn, itermax, horizon=2.0):
    Xi, Yi = np.mgrid[0:xn, 0:yn]
    X = np.linspace(xmin, xmax, xn, dtype=np.float64)[Xi]
    Y = np.linspace(ymin, ymax, yn, dtype=np.float64)[Yi]
    C = X + Y * 1j
    N_ = np.zeros(C.shape, dtype=np.int64)
    Z_ = np.zeros(C.shape, dtype=np.complex128)
    Xi.shape = Yi.shape = C.shape = xn * yn

    Z = np.zeros(C.shape, np.complex128)
    for i in range(itermax):
        if not len(Z):
            break

        # Compute for relevant points only
        np.multiply(Z, Z, Z)
        np.add(Z, C, Z)

        # Failed convergence
        I = abs(Z) > horizon
        N_[Xi[I], Yi[I]] = i + 1
        Z_[Xi[I], Yi[I]] = Z[I]

        # Keep going with those who have not diverged yet
        np.logical_not(I, I)
        Z = Z[I]
        Xi, Yi = Xi[I], Yi[I]
        C = C[I]
    return Z_.T, N_.T
