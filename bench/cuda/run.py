"""CUDA backend benchmarks (issue #15), every peer in the same process run, on the device.

    python bench/cuda/run.py                 # on a machine with an NVIDIA GPU and CuPy
    python bench/cuda/run.py --emulate       # no GPU: the same programs, tiny, emulated on
                                             # CPU threads against NumPy (checks, no speeds)

1. Memory-bound `sum(a*b+c)` over 2^28 f64, as a fraction of the device's copy bandwidth
   measured in the same run (`cupy.copyto`) (bar: >= 80%).
2. Black-Scholes and Haversine at 2^26 (WORKLOADS.md), against CuPy written elementwise as a
   user writes it, and a Numba CUDA kernel when numba-cuda is there (bar: >= 3x CuPy on
   Black-Scholes).
3. A group-by sum of 10^8 rows (1000 keys), against cuDF if it is installed, else CuPy's
   sort-based group-by (bar: no slower than cuDF).

Inputs are CuPy arrays: the programs read and write device memory only, and every timed call
ends with the device synchronised.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import best_of, table  # noqa: E402

import daybreak as db  # noqa: E402

FUSED = """|a: vec[f64], b: vec[f64], c: vec[f64]|
  result(for(zip(a, b, c), merger[f64,+], |s, i, x| merge(s, x.$0 * x.$1 + x.$2)))"""

RATE, VOL = 0.1, 0.2
BLACK_SCHOLES = f"""|price: vec[f64], strike: vec[f64], t: vec[f64]|
  result(for(zip(price, strike, t), {{appender[f64], appender[f64]}}, |b, i, x|
    let vs = {VOL} * sqrt(x.$2);
    let d1 = (log(x.$0 / x.$1) + {RATE + VOL * VOL / 2} * x.$2) / vs;
    let d2 = d1 - vs;
    let n1 = 0.5 + 0.5 * erf(d1 / {math.sqrt(2.0)});
    let n2 = 0.5 + 0.5 * erf(d2 / {math.sqrt(2.0)});
    let e = exp(0.0 - {RATE} * x.$2);
    {{merge(b.$0, x.$0 * n1 - e * x.$1 * n2),
     merge(b.$1, e * x.$1 * (1.0 - n2) - x.$0 * (1.0 - n1))}}))"""

LAT1, LON1, MILES = 0.70984286, 1.23892197, 3959.0
HAVERSINE = f"""|lat2: vec[f64], lon2: vec[f64]|
  result(for(zip(lat2, lon2), appender[f64], |b, i, x|
    let s1 = sin((x.$0 - {LAT1}) / 2.0);
    let s2 = sin((x.$1 - {LON1}) / 2.0);
    let a = s1 * s1 + {math.cos(LAT1)} * cos(x.$0) * s2 * s2;
    merge(b, 2.0 * asin(sqrt(a)) * {MILES})))"""

GROUP_SUM = """|k: vec[i64], v: vec[f64]|
  tovec(result(for(zip(k, v), dictmerger[i64,f64,+], |b, i, x| merge(b, x))))"""


def black_scholes_xp(xp, price, strike, t):
    """Black-Scholes as a CuPy user writes it (cupyx's erf; NumPy's via SciPy)."""
    if xp is np:
        from scipy.special import erf
    else:
        from cupyx.scipy.special import erf
    rsig = RATE + VOL * VOL / 2
    vs = VOL * xp.sqrt(t)
    d1 = (xp.log(price / strike) + rsig * t) / vs
    d2 = d1 - vs
    n1 = 0.5 + 0.5 * erf(d1 / math.sqrt(2.0))
    n2 = 0.5 + 0.5 * erf(d2 / math.sqrt(2.0))
    e = xp.exp(-RATE * t)
    return price * n1 - e * strike * n2, e * strike * (1 - n2) - price * (1 - n1)


def haversine_xp(xp, lat2, lon2):
    a = (
        xp.sin((lat2 - LAT1) / 2) ** 2
        + math.cos(LAT1) * xp.cos(lat2) * xp.sin((lon2 - LON1) / 2) ** 2
    )
    return 2 * xp.arcsin(xp.sqrt(a)) * MILES


def group_sum_xp(xp, k, v):
    """Group-by sum by sorting (what CuPy offers without cuDF)."""
    order = xp.argsort(k, kind="stable")
    ks, vs = k[order], v[order]
    starts = xp.concatenate([xp.zeros(1, dtype=bool), ks[1:] != ks[:-1]]).nonzero()[0]
    starts = xp.concatenate([xp.zeros(1, dtype=starts.dtype), starts])
    return ks[starts], xp.add.reduceat(vs, starts)


def group_sum_cudf(k, v):
    import cudf

    out = cudf.DataFrame({"k": k, "v": v}).groupby("k", sort=True).v.sum()
    return out.index.values, out.values


def numba_black_scholes():
    """A Numba CUDA kernel, one thread per option; None without numba-cuda or a device."""
    try:
        from numba import cuda
    except ImportError:
        return None
    if not cuda.is_available():
        return None

    @cuda.jit
    def kernel(price, strike, t, call, put):
        i = cuda.grid(1)
        if i < price.size:
            vs = VOL * math.sqrt(t[i])
            d1 = (math.log(price[i] / strike[i]) + (RATE + VOL * VOL / 2) * t[i]) / vs
            d2 = d1 - vs
            n1 = 0.5 + 0.5 * math.erf(d1 / math.sqrt(2.0))
            n2 = 0.5 + 0.5 * math.erf(d2 / math.sqrt(2.0))
            e = math.exp(-RATE * t[i])
            call[i] = price[i] * n1 - e * strike[i] * n2
            put[i] = e * strike[i] * (1 - n2) - price[i] * (1 - n1)

    def run(xp, price, strike, t):
        call, put = xp.empty_like(price), xp.empty_like(price)
        kernel[(price.size + 255) // 256, 256](price, strike, t, call, put)
        return call, put

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulate", action="store_true", help="no GPU: emulate, tiny sizes")
    parser.add_argument("--log2n-sum", type=int, default=28)
    parser.add_argument("--log2n", type=int, default=26)
    parser.add_argument("--rows", type=int, default=10**8)
    opts = parser.parse_args()
    if opts.emulate:
        xp, backend, sync = np, "cuda-emu", (lambda: None)
        opts.log2n_sum, opts.log2n, opts.rows = 14, 12, 20_000
        print("emulated on CPU threads (cuda-emu) against NumPy: agreement only, no speeds\n")
    else:
        import cupy as xp

        backend = "cuda"
        sync = xp.cuda.Device().synchronize
        props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
        print(f"device: {props['name'].decode()}, CuPy {xp.__version__}\n")
    db.config(strict=True)  # a program that does not run on the device is an error here

    def timed(fn):
        return best_of(lambda: (fn(), sync()))

    rng = np.random.default_rng(0)
    run = (xp, backend, timed, rng, opts)
    rows = [memory_bound(*run), black_scholes(*run), haversine(*run), group_by(*run)]
    print(table(rows, ("workload", "daybreak ms", "peer (peer time / daybreak)", "note")))


def memory_bound(xp, backend, timed, rng, opts) -> tuple:
    n = 1 << opts.log2n_sum
    a, b, c = (xp.asarray(rng.random(n)) for _ in range(3))
    f = db.compile(FUSED, backend=backend)
    assert math.isclose(float(f(a, b, c)), float((a * b + c).sum()), rel_tol=1e-9)
    dst = xp.empty_like(a)
    t_copy = timed(lambda: xp.copyto(dst, a))
    t_db = timed(lambda: f(a, b, c))
    copy_bw, db_bw = 2 * a.nbytes / t_copy, 3 * a.nbytes / t_db
    return (
        f"sum(a*b+c), 2^{opts.log2n_sum} f64",
        f"{t_db * 1e3:.2f}",
        f"copy {t_copy * 1e3:.2f} ms",
        f"{db_bw / copy_bw:.2f} of copy bandwidth ({db_bw / 1e9:.0f} GB/s)",
    )


def black_scholes(xp, backend, timed, rng, opts) -> tuple:
    n = 1 << opts.log2n
    price, strike = (xp.asarray(rng.uniform(10.0, 50.0, n)) for _ in range(2))
    t = xp.asarray(rng.uniform(0.1, 2.0, n))
    f = db.compile(BLACK_SCHOLES, backend=backend)
    got, want = f(price, strike, t), black_scholes_xp(xp, price, strike, t)
    assert all(xp.allclose(g, w, rtol=1e-9, atol=1e-9) for g, w in zip(got, want, strict=True))
    t_db = timed(lambda: f(price, strike, t))
    t_xp = timed(lambda: black_scholes_xp(xp, price, strike, t))
    peers = [f"{xp.__name__} {t_xp * 1e3:.2f} ms ({t_xp / t_db:.2f}x)"]
    numba_bs = numba_black_scholes() if not opts.emulate else None
    if numba_bs is not None:
        t_nb = timed(lambda: numba_bs(xp, price, strike, t))
        peers.append(f"Numba CUDA {t_nb * 1e3:.2f} ms ({t_nb / t_db:.2f}x)")
    return (f"Black-Scholes, 2^{opts.log2n}", f"{t_db * 1e3:.2f}", "; ".join(peers), "")


def haversine(xp, backend, timed, rng, opts) -> tuple:
    n = 1 << opts.log2n
    lat, lon = (xp.asarray(rng.uniform(-1.5, 1.5, n)) for _ in range(2))
    f = db.compile(HAVERSINE, backend=backend)
    assert xp.allclose(f(lat, lon), haversine_xp(xp, lat, lon), rtol=1e-9)
    t_db = timed(lambda: f(lat, lon))
    t_xp = timed(lambda: haversine_xp(xp, lat, lon))
    peer = f"{xp.__name__} {t_xp * 1e3:.2f} ms ({t_xp / t_db:.2f}x)"
    return (f"Haversine, 2^{opts.log2n}", f"{t_db * 1e3:.2f}", peer, "")


def group_by(xp, backend, timed, rng, opts) -> tuple:
    k = xp.asarray(rng.integers(0, 1000, opts.rows))
    v = xp.asarray(rng.random(opts.rows))
    f = db.compile(GROUP_SUM, backend=backend)
    entries = f(k, v)
    keys, sums = group_sum_xp(xp, k, v)
    assert xp.array_equal(entries["f0"], keys) and xp.allclose(entries["f1"], sums, rtol=1e-9)
    t_db = timed(lambda: f(k, v))
    try:
        t_peer, peer = timed(lambda: group_sum_cudf(k, v)), "cuDF"
    except ImportError:
        t_peer, peer = timed(lambda: group_sum_xp(xp, k, v)), f"{xp.__name__} sort-based"
    return (
        f"group-by sum, {opts.rows:.0e} rows, 1000 keys",
        f"{t_db * 1e3:.2f}",
        f"{peer} {t_peer * 1e3:.2f} ms ({t_peer / t_db:.2f}x)",
        "",
    )


if __name__ == "__main__":
    main()
