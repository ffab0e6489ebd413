"""logreg_gd (own): logistic regression by gradient descent, a Python loop of matrix-vector
products mixed with elementwise work (sigmoid, log-loss, L2 penalty).
"""

import numpy

SIZES = {"S": dict(n=20000, d=50, iters=30), "M": dict(n=60000, d=100, iters=40)}


def initialize(size_preset, rng):
    n, d, iters = SIZES[size_preset].values()
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = (X @ w_true + rng.normal(0.0, 0.5, size=n) > 0).astype(numpy.float64)
    return X, y, iters


def kernel(np, X, y, iters, lr=0.1, lam=1e-3):
    n, d = X.shape
    w = np.zeros(d)
    b = 0.0
    losses = np.empty(iters)
    for it in range(iters):
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        losses[it] = -np.mean(
            y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)
        ) + 0.5 * lam * np.dot(w, w)
        g = p - y
        w = w - lr * (X.T @ g / n + lam * w)
        b = b - lr * g.mean()
    return w, b, losses
