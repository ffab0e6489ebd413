"""scalar_diag (own): a scalar recurrence along the diagonal (np.tanh and np.exp of scalars,
read and written one element at a time), then a row scaling of the whole matrix.
"""

SIZES = {"S": dict(N=4000), "M": dict(N=8000)}


def initialize(size_preset, rng):
    N = SIZES[size_preset]["N"]
    return (rng.normal(size=(N, N)),)


def kernel(np, a):
    n = a.shape[0]
    d = np.zeros(n)
    s = 0.0
    for i in range(n):
        s = 0.9 * s + np.tanh(a[i, i])
        d[i] = np.exp(-abs(s))
        a[i, i] = s
    return a * d[:, None], s
