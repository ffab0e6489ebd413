"""mandelbrot1: complex128 iteration with boolean-mask selections and masked assignment.

Follows NPBench's "mandelbrot1" kernel (npbench/benchmarks/mandelbrot1).
NPBench, BSD-3-Clause, (c) ETH Zurich SPCL.
"""

SIZES = {
    "S": dict(xmin=-1.75, xmax=0.25, xn=200, ymin=-1.0, ymax=1.0, yn=200, maxiter=100),
    "M": dict(xmin=-1.75, xmax=0.25, xn=400, ymin=-1.0, ymax=1.0, yn=400, maxiter=150),
}


def initialize(size_preset, rng):
    p = SIZES[size_preset]
    return p["xmin"], p["xmax"], p["ymin"], p["ymax"], p["xn"], p["yn"], p["maxiter"], 2.0


def kernel(np, xmin, xmax, ymin, ymax, xn, yn, maxiter, horizon=2.0):
    X = np.linspace(xmin, xmax, xn, dtype=np.float64)
    Y = np.linspace(ymin, ymax, yn, dtype=np.float64)
    C = X + Y[:, None] * 1j
    N = np.zeros(C.shape, dtype=np.int64)
    Z = np.zeros(C.shape, dtype=np.complex128)
    for n in range(maxiter):
        I = np.less(abs(Z), horizon)
        N[I] = n
        Z[I] = Z[I] ** 2 + C[I]
    N[N == maxiter - 1] = 0
    return Z, N
