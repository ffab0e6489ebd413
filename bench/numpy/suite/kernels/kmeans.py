"""kmeans (own): Lloyd's k-means, distances by broadcasting, argmin along an axis, and a Python
loop over clusters with boolean masks for the new centres.
"""

SIZES = {"S": dict(n=4000, d=8, k=8, iters=10), "M": dict(n=40000, d=16, k=16, iters=15)}


def initialize(size_preset, rng):
    n, d, k, iters = SIZES[size_preset].values()
    centres = rng.uniform(-10.0, 10.0, size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = centres[labels] + rng.normal(0.0, 1.5, size=(n, d))
    init = X[rng.choice(n, size=k, replace=False)].copy()
    return X, init, iters


def kernel(np, X, init, iters):
    C = init.copy()
    k = C.shape[0]
    for it in range(iters):
        d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(d2, axis=1)
        for j in range(k):
            members = X[labels == j]
            if members.shape[0] > 0:
                C[j] = members.mean(axis=0)
    inertia = d2[np.arange(X.shape[0]), labels].sum()
    return C, labels, inertia
