"""Common NumPy one-liners as other people's scripts write them, NumPy against daybreak.

Each idiom is one line of NumPy (a norm, a gather, a join, a masked count, a softmax over
rows, ...) over inputs of `--size` elements (vectors) or about that many (matrices). Every
call gets fresh copies of the inputs, as a script's new data would be: NumPy's own arrays
for NumPy, `daybreak.numpy.asarray` of them for daybreak (made outside the timed region).
The timed region is the line and `numpy.asarray` of its result.

Two regimes, both per idiom in one process: `early` — the best of `--repeat` calls right
after `--warmup` calls (what a line that runs a handful of times sees: tier 0, background
compiles), and `warm` (with `--warm`) — the best of `--repeat` calls after enough calls
that the line's program, if any, compiled (waits for the compiles in between). Ratios are
NumPy's time over daybreak's (> 1: daybreak is faster); every result is compared with
NumPy's (values, shape, dtype); daybreak's counters over the timed calls say which tier ran.

    python bench/numpy/idioms.py
    python bench/numpy/idioms.py --size 100000 --warm --only norm,gather
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("DAYBREAK_CACHE", "0")

import numpy  # noqa: E402

import daybreak as db  # noqa: E402
import daybreak.numpy as dnp  # noqa: E402
from daybreak.frontends import scheduler  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import machine, table  # noqa: E402

# name -> the line, a function of the module (`numpy` or `daybreak.numpy`) and the inputs:
# vectors a, b of n values, matrices A, B of about n values, positions i of n / 10
IDIOMS = {
    "norm of a difference": lambda np, a, b, A, B, i: np.linalg.norm(a - b),
    "sqrt of summed squares": lambda np, a, b, A, B, i: np.sqrt(np.sum((a - b) ** 2)),
    "where": lambda np, a, b, A, B, i: np.where(a > 0.5, a, b),
    "clip": lambda np, a, b, A, B, i: np.clip(a * 2 - 1, -0.5, 0.5),
    "masked sum": lambda np, a, b, A, B, i: a[a > 0.3].sum(),
    "count of a mask": lambda np, a, b, A, B, i: np.count_nonzero(a > 0.5),
    "sum of a mask": lambda np, a, b, A, B, i: (a > 0.5).sum(),
    "any along an axis": lambda np, a, b, A, B, i: (A > 0.999).any(axis=0),
    "isnan any": lambda np, a, b, A, B, i: np.isnan(a).any(),
    "mean along rows": lambda np, a, b, A, B, i: A.mean(axis=1),
    "mean along columns": lambda np, a, b, A, B, i: A.mean(axis=0),
    "std": lambda np, a, b, A, B, i: np.std(a),
    "rows normalised": lambda np, a, b, A, B, i: A / A.sum(axis=1, keepdims=True),
    "columns standardised": lambda np, a, b, A, B, i: (A - A.mean(axis=0)) / A.std(axis=0),
    "softmax over rows": lambda np, a, b, A, B, i: (lambda e: e / e.sum(axis=1, keepdims=True))(
        np.exp(A - A.max(axis=1, keepdims=True))
    ),
    "sigmoid": lambda np, a, b, A, B, i: 1 / (1 + np.exp(-a)),
    "exp sum": lambda np, a, b, A, B, i: np.exp(-a * a).sum(),
    "argmax of a product": lambda np, a, b, A, B, i: np.argmax(a * b),
    "max along rows": lambda np, a, b, A, B, i: np.max(A, axis=1),
    "diff": lambda np, a, b, A, B, i: np.diff(a),
    "cumsum": lambda np, a, b, A, B, i: np.cumsum(a),
    "roll": lambda np, a, b, A, B, i: np.roll(a, 3) - a,
    "five-point stencil": lambda np, a, b, A, B, i: (
        0.25 * (A[:-2, 1:-1] + A[2:, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:])
    ),
    "transpose add": lambda np, a, b, A, B, i: A + A.T,
    "reshape mean": lambda np, a, b, A, B, i: a.reshape(-1, 10).mean(axis=1),
    "concatenate": lambda np, a, b, A, B, i: np.concatenate([a, b]),
    "stack as columns": lambda np, a, b, A, B, i: np.stack([a, b], axis=1),
    "pad": lambda np, a, b, A, B, i: np.pad(A, 1),
    "gather": lambda np, a, b, A, B, i: a[i],
    "take": lambda np, a, b, A, B, i: np.take(a, i),
    "convolve": lambda np, a, b, A, B, i: np.convolve(a[: a.size // 10], np.ones(5) / 5, "valid"),
    "ufunc into out=": lambda np, a, b, A, B, i: np.add(a, b, out=numpy.empty(a.size)),
    "in-place operators": lambda np, a, b, A, B, i: (
        lambda x: (x.__imul__(2.0), x.__iadd__(b), x)[2]
    )(a * 1.0),
    "astype of a rounding": lambda np, a, b, A, B, i: np.round(a * 100).astype(np.int32),
    "integer test": lambda np, a, b, A, B, i: ((a * 1000).astype(np.int64) % 7 == 3).sum(),
    "bincount": lambda np, a, b, A, B, i: np.bincount((a * 100).astype(np.int64)),
    "histogram": lambda np, a, b, A, B, i: np.histogram(a, bins=50)[0],
    "nonzero": lambda np, a, b, A, B, i: np.nonzero(a > 0.9)[0],
    "sort": lambda np, a, b, A, B, i: np.sort(a),
    "unique": lambda np, a, b, A, B, i: np.unique((a * 100).astype(np.int64)),
    "allclose": lambda np, a, b, A, B, i: np.allclose(a, a + 1e-12),
    "nan_to_num of a division": lambda np, a, b, A, B, i: np.nan_to_num(a / (b - 0.5)),
    "mask assignment": lambda np, a, b, A, B, i: (lambda x: (x.__setitem__(x > 0.5, 0.0), x)[1])(
        a * 1.0
    ),
    "triu": lambda np, a, b, A, B, i: np.triu(A),
    "trace": lambda np, a, b, A, B, i: np.trace(A),
    "outer": lambda np, a, b, A, B, i: np.outer(A[0], A[1]),
    "matrix-vector product": lambda np, a, b, A, B, i: A @ A[0],
    "einsum of rows": lambda np, a, b, A, B, i: np.einsum("ij,ij->i", A, B),
    "meshgrid distance": lambda np, a, b, A, B, i: (lambda X, Y: np.sqrt(X**2 + Y**2))(
        *np.meshgrid(A[0], A[1])
    ),
    "linspace times data": lambda np, a, b, A, B, i: np.sin(np.linspace(0, 10, a.size)) * a,
}


def inputs(n: int, seed: int = 0) -> tuple:
    rng = numpy.random.default_rng(seed)
    m = max(int(math.isqrt(n)), 2)
    return (
        rng.random(n),
        rng.random(n),
        rng.random((m, m)),
        rng.random((m, m)),
        (rng.integers(0, n, max(n // 10, 1))),
    )


def one_call(np, line, data) -> tuple[float, object]:
    """(seconds, result as NumPy data) of one call on fresh copies of `data`."""
    if np is dnp:
        args = [dnp.asarray(x.copy()) for x in data[:4]] + [data[4]]
    else:
        args = [x.copy() for x in data[:4]] + [data[4]]
    start = time.perf_counter()
    found = line(np, *args)
    found = numpy.asarray(found)
    return time.perf_counter() - start, found


def agree(got, want) -> str:
    got, want = numpy.asarray(got), numpy.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"no ({got.dtype}{got.shape} vs {want.dtype}{want.shape})"
    if want.dtype.kind in "fc":
        same = numpy.allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    else:
        same = numpy.array_equal(got, want)
    return "yes" if same else "no (values)"


# Calls in a row that compile nothing before a line counts as warm: cold code records one
# epoch of its calls in every few (`sites.sampled_out`: 8 of every 64), so a line's program
# may compile only after a few dozen calls.
QUIET = 72


def measure(name: str, data, warmup: int, repeat: int, warm: bool) -> dict:
    line = IDIOMS[name]
    for _ in range(warmup):
        one_call(dnp, line, data)
    if warm:
        wait = scheduler.wait_for_compiles
        quiet = 0  # calls in a row that compiled nothing
        for _ in range(300):  # until QUIET calls in a row compile nothing (or 300 calls)
            before = db.stats()["compiles"]
            one_call(dnp, line, data)
            wait()
            quiet = quiet + 1 if db.stats()["compiles"] == before else 0
            if quiet >= QUIET:
                break
    numpy_s = min(one_call(numpy, line, data)[0] for _ in range(repeat))
    db.stats(reset=True)
    timed = [one_call(dnp, line, data) for _ in range(repeat)]
    stats = db.stats()
    daybreak_s = min(t for t, _ in timed)
    return {
        "name": name,
        "numpy_ms": numpy_s * 1e3,
        "daybreak_ms": daybreak_s * 1e3,
        "ratio": numpy_s / daybreak_s,
        "agree": agree(timed[-1][1], one_call(numpy, line, data)[1]),
        "native": stats["runs"] / repeat,
        "library": stats["library_runs"] / repeat,
        "fallbacks": sum(stats["fallbacks"].values()) / repeat,
        "reason": next(iter(stats["fallbacks"]), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm", action="store_true", help="also after the compiles")
    parser.add_argument("--only", default="", help="comma-separated idiom names")
    parser.add_argument("--threads", type=int, default=None)
    opts = parser.parse_args()
    if opts.threads:
        db.config(threads=opts.threads)
    names = [n for n in IDIOMS if not opts.only or n in opts.only.split(",")]
    data = inputs(opts.size)
    print(f"NumPy idioms, {opts.size:,} elements, {machine()}, NumPy {numpy.__version__}")
    numpy.seterr(all="ignore")
    regimes = [("early", False)] + ([("warm", True)] if opts.warm else [])
    for regime, warm in regimes:
        rows, ratios = [], []
        for name in names:
            r = measure(name, data, opts.warmup, opts.repeat, warm)
            ratios.append(r["ratio"])
            rows.append(
                (
                    name,
                    f"{r['numpy_ms']:.3f}",
                    f"{r['daybreak_ms']:.3f}",
                    f"{r['ratio']:.2f}x",
                    r["agree"],
                    f"{r['native']:g} / {r['library']:g}",
                    f"{r['fallbacks']:g} {r['reason']}".strip(),
                )
            )
        header = (
            "idiom",
            "NumPy ms",
            "daybreak ms",
            "ratio",
            "agree",
            "native / library runs per call",
            "fallbacks per call",
        )
        print(
            f"\n{regime}: best of {opts.repeat} calls"
            + (" after the compiles" if warm else f" after {opts.warmup}")
        )
        print(table(rows, header))
        mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        below = sum(r < 0.8 for r in ratios)
        print(f"geometric mean {mean:.2f}x; below 0.8x: {below} of {len(ratios)}")


if __name__ == "__main__":
    main()
