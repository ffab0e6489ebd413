"""Split annotations (daybreak.annotations) on black-box functions: unannotated vs annotated.

    python bench/split/run.py                          # 2^26 chain, 2^24 options, best of 5
    python bench/split/run.py --log2n 22 --log2n-bs 20 --repeat 3      # quick
    python bench/split/run.py --only chain --threads 1 2 4 --json split.json

Three workloads, each timed with 1 and 2 threads (`--threads`), best of N in rounds (every
peer once per round); ratios are unannotated / annotated time (> 1: annotated is faster):

- vdAdd chain (the SOSP'19 paper's): `vdAdd(n, a, b, r)`, then `vdAdd(n, r, b, r)` seven times,
  from tests/annotations/data/vml.c compiled here with `-O3 -march=native`. Peers: the plain
  (unannotated, sequential) functions; "no block": the annotated ones called one at a time
  (split and parallel, but each call streams the whole arrays); the annotated ones in
  `pipeline()`.
- Black-Scholes via C: call and put prices as a chain of 30 VML calls, plain vs `pipeline()`,
  both checked against NumPy's Black-Scholes (allclose, rtol 1e-9).
- Black-Scholes via annotated NumPy: the same formula with NumPy ufuncs (and SciPy's erf),
  each wrapped by `annotate(ufunc, "S", "S", returns="S")` (by position: ufuncs have no
  Python signature; a scalar operand is "broadcast"), plain NumPy vs `pipeline()`.

"agree" compares every peer's result with the plain one: "identical" is bit for bit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy

import daybreak as db
from daybreak.annotations import annotate, pipeline, splittable
from daybreak.annotations.c_functions import load
from daybreak.annotations.executor import piece_bytes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import best_in_rounds, machine, table  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "tests" / "annotations" / "data"
RATE, VOL = 0.1, 0.2
RSIG = RATE + VOL * VOL / 2
INV_SQRT2 = 1.0 / math.sqrt(2.0)


# ----------------------------------------------------------------------------------------------
# The library.


def compile_vml(folder: str, compiler: str | None) -> tuple[str, str]:
    """vml.c compiled into `folder`: (the library's path, the compiler's version line)."""
    compiler = compiler or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("no C compiler: install cc/gcc or pass --cc")
    out = os.path.join(folder, "libvml.so")
    flags = ["-O3", "-march=native", "-shared", "-fPIC"]
    subprocess.run([compiler, *flags, str(DATA / "vml.c"), "-o", out, "-lm"], check=True)
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True)
    return out, (version.stdout.splitlines() or ["?"])[0]


def load_vml(path: str) -> tuple:
    """(annotated, plain): the header with and without its split annotations."""
    header = (DATA / "vml.h").read_text(encoding="utf-8")
    plain = re.sub(r"^[ \t]*//[ \t]*@splittable.*\n", "", header, flags=re.MULTILINE)
    return load(path, header), load(path, plain)


def agreement(results: dict, reference: str) -> str:
    """How every peer's result compares with the reference peer's."""
    want = [numpy.asarray(w) for w in results[reference]]
    worst, identical = 0.0, True
    for peer, got in results.items():
        for g, w in zip(got, want, strict=True):
            g = numpy.asarray(g)
            if g.shape != w.shape:
                return f"NO ({peer}: shape {g.shape})"
            identical &= bool(numpy.array_equal(g.view(numpy.uint64), w.view(numpy.uint64)))
            scale = max(float(numpy.max(numpy.abs(w))) if w.size else 0.0, 1e-300)
            worst = max(worst, float(numpy.max(numpy.abs(g - w))) / scale if w.size else 0.0)
    if identical:
        return "identical"
    return f"max rel diff {worst:.1e}" if worst <= 1e-12 else f"NO (max rel diff {worst:.1e})"


# ----------------------------------------------------------------------------------------------
# vdAdd chain.


def add_chain(lib, n, a, b, r) -> None:
    lib.vdAdd(n, a, b, r)
    for _ in range(7):
        lib.vdAdd(n, r, b, r)


def bench_chain(annotated, plain, log2n: int, opts) -> list[dict]:
    n = 1 << log2n
    rng = numpy.random.default_rng(42)
    a, b = rng.random(n), rng.random(n)
    outs = {"plain": numpy.empty(n), "no block": numpy.empty(n), "pipeline": numpy.empty(n)}

    def in_block(n, a, b, r):
        with pipeline():
            add_chain(annotated, n, a, b, r)

    peers = {
        "plain": lambda: add_chain(plain, n, a, b, outs["plain"]),
        "no block": lambda: add_chain(annotated, n, a, b, outs["no block"]),
        "pipeline": lambda: in_block(n, a, b, outs["pipeline"]),
    }
    return run_threads(peers, lambda: {k: [v] for k, v in outs.items()}, opts)


# ----------------------------------------------------------------------------------------------
# Black-Scholes as VML calls.


def bs_vml(lib, n, price, strike, t, w) -> None:
    """Call and put prices into w.call, w.put; the other fields of `w` are temporaries."""
    lib.vdSqrt(n, t, w.vs)
    lib.vdScale(n, w.vs, VOL, w.vs)  # vs = vol sqrt(t)
    lib.vdInv(n, w.vs, w.ivs)
    lib.vdDiv(n, price, strike, w.d1)
    lib.vdLog(n, w.d1, w.d1)
    lib.vdScale(n, t, RSIG, w.tmp)
    lib.vdAdd(n, w.d1, w.tmp, w.d1)
    lib.vdMul(n, w.d1, w.ivs, w.d1)  # d1 = (log(S/K) + rsig t) / vs
    lib.vdSub(n, w.d1, w.vs, w.d2)  # d2 = d1 - vs
    for d, cdf in ((w.d1, w.n1), (w.d2, w.n2)):  # N(d) = 0.5 + 0.5 erf(d / sqrt 2)
        lib.vdScale(n, d, INV_SQRT2, cdf)
        lib.vdErf(n, cdf, cdf)
        lib.vdScale(n, cdf, 0.5, cdf)
        lib.vdAddScalar(n, cdf, 0.5, cdf)
    lib.vdScale(n, t, -RATE, w.ek)
    lib.vdExp(n, w.ek, w.ek)
    lib.vdMul(n, w.ek, strike, w.ek)  # ek = exp(-rate t) K
    lib.vdMul(n, price, w.n1, w.call)
    lib.vdMul(n, w.ek, w.n2, w.tmp)
    lib.vdSub(n, w.call, w.tmp, w.call)  # call = S N(d1) - ek N(d2)
    for cdf in (w.n1, w.n2):  # 1 - N(d)
        lib.vdScale(n, cdf, -1.0, cdf)
        lib.vdAddScalar(n, cdf, 1.0, cdf)
    lib.vdMul(n, w.ek, w.n2, w.put)
    lib.vdMul(n, price, w.n1, w.tmp)
    lib.vdSub(n, w.put, w.tmp, w.put)  # put = ek (1 - N(d2)) - S (1 - N(d1))


BS_TEMPS = ("vs", "ivs", "d1", "d2", "n1", "n2", "tmp", "ek", "call", "put")


def numpy_reference(price, strike, t):
    from scipy.special import erf

    vs = VOL * numpy.sqrt(t)
    d1 = (numpy.log(price / strike) + RSIG * t) / vs
    d2 = d1 - vs
    n1 = 0.5 + 0.5 * erf(d1 * INV_SQRT2)
    n2 = 0.5 + 0.5 * erf(d2 * INV_SQRT2)
    ek = numpy.exp(-RATE * t) * strike
    return price * n1 - ek * n2, ek * (1 - n2) - price * (1 - n1)


def bs_inputs(n: int):
    rng = numpy.random.default_rng(42)
    return rng.uniform(10.0, 50.0, n), rng.uniform(10.0, 50.0, n), rng.uniform(0.1, 2.0, n)


def bench_bs_c(annotated, plain, log2n: int, opts) -> list[dict]:
    n = 1 << log2n
    price, strike, t = bs_inputs(n)
    work = {k: SimpleNamespace(**{f: numpy.empty(n) for f in BS_TEMPS}) for k in ("p", "a")}

    def in_block():
        with pipeline():
            bs_vml(annotated, n, price, strike, t, work["a"])

    peers = {"plain": lambda: bs_vml(plain, n, price, strike, t, work["p"]), "pipeline": in_block}
    rows = run_threads(
        peers,
        lambda: {
            "plain": [work["p"].call, work["p"].put],
            "pipeline": [work["a"].call, work["a"].put],
        },
        opts,
    )
    want = numpy_reference(price, strike, t)
    close = all(
        numpy.allclose(got, w, rtol=1e-9)
        for k in ("p", "a")
        for got, w in zip((work[k].call, work[k].put), want, strict=True)
    )
    for row in rows:
        row["agree"] += "; NumPy allclose" if close else "; NOT allclose to NumPy"
    return rows


# ----------------------------------------------------------------------------------------------
# Black-Scholes with (annotated) NumPy ufuncs.


def numpy_functions(annotated: bool) -> SimpleNamespace:
    """The ufuncs the formula uses, plain or annotated; `*_s`: with a scalar operand."""
    from scipy.special import erf

    unary = {"sqrt": numpy.sqrt, "log": numpy.log, "exp": numpy.exp, "erf": erf}
    unary["inv"] = numpy.reciprocal
    binary = {"add": numpy.add, "sub": numpy.subtract, "mul": numpy.multiply, "div": numpy.divide}
    scalar = {  # name -> (ufunc, specs by position)
        "add_s": (numpy.add, ("S", "broadcast")),
        "mul_s": (numpy.multiply, ("S", "broadcast")),
        "rsub_s": (numpy.subtract, ("broadcast", "S")),
    }
    if not annotated:
        return SimpleNamespace(**unary, **binary, **{k: f for k, (f, _) in scalar.items()})
    found = {k: annotate(f, "S", returns="S") for k, f in unary.items()}
    found |= {k: annotate(f, "S", "S", returns="S") for k, f in binary.items()}
    found |= {k: annotate(f, *specs, returns="S") for k, (f, specs) in scalar.items()}
    return SimpleNamespace(**found)


def bs_numpy(f, price, strike, t):
    """Black-Scholes with the functions of `numpy_functions` (the same operations, in the
    same order, as bs_vml)."""
    vs = f.mul_s(f.sqrt(t), VOL)
    d1 = f.mul(f.add(f.log(f.div(price, strike)), f.mul_s(t, RSIG)), f.inv(vs))
    d2 = f.sub(d1, vs)
    n1 = f.add_s(f.mul_s(f.erf(f.mul_s(d1, INV_SQRT2)), 0.5), 0.5)
    n2 = f.add_s(f.mul_s(f.erf(f.mul_s(d2, INV_SQRT2)), 0.5), 0.5)
    ek = f.mul(f.exp(f.mul_s(t, -RATE)), strike)
    call = f.sub(f.mul(price, n1), f.mul(ek, n2))
    put = f.sub(f.mul(ek, f.rsub_s(1.0, n2)), f.mul(price, f.rsub_s(1.0, n1)))
    return call, put


def bench_bs_numpy(log2n: int, opts) -> list[dict]:
    n = 1 << log2n
    price, strike, t = bs_inputs(n)
    plain, annotated = numpy_functions(False), numpy_functions(True)
    results = {}

    def run_plain():
        results["plain"] = bs_numpy(plain, price, strike, t)

    def run_pipeline():
        with pipeline():
            call, put = bs_numpy(annotated, price, strike, t)
        results["pipeline"] = (call.value(), put.value())

    rows = run_threads({"plain": run_plain, "pipeline": run_pipeline}, lambda: results, opts)
    want = numpy_reference(price, strike, t)
    close = all(
        numpy.allclose(got, w, rtol=1e-9)
        for k in results
        for got, w in zip(results[k], want, strict=True)
    )
    for row in rows:
        row["agree"] += "; NumPy allclose" if close else "; NOT allclose to NumPy"
    return rows


# ----------------------------------------------------------------------------------------------
# NumPy code between two annotated calls (on the first one's pending result): captured into
# the chain, and run per piece by NumPy's calls or by daybreak.numpy as the engine (fused).


@splittable(a="S", returns="S")
def shift(a):
    return a + 1.0


@splittable(a="S", returns="sum")
def add_up(a):
    return float(a.sum())


def between(np_, y):
    return np_.exp(y) * 2.0 + np_.sin(y) * np_.cos(y) - np_.sqrt(y)


def bench_numpy_between(log2n: int, opts) -> list[dict]:
    import daybreak.numpy  # noqa: F401 - registers daybreak.numpy as the engine
    from daybreak.annotations import graph

    x = numpy.random.default_rng(5).random(1 << log2n)
    engine = graph.ENGINE[0]
    results = {}

    def run_plain():
        results["plain"] = (float(between(numpy, x + 1.0).sum()),)

    def run_with(which):
        def run():
            graph.register_engine(engine if which == "engine" else None)
            try:
                with pipeline():
                    total = add_up(between(numpy, shift(x)))
                results[which] = (float(total),)
            finally:
                graph.register_engine(engine)

        return run

    peers = {"plain": run_plain, "engine": run_with("engine"), "numpy per piece": run_with("np")}
    rows = run_threads(peers, lambda: results, opts)
    for row in rows:
        row["agree"] = (
            "sums within 1e-12"
            if all(
                abs(r[0] - results["plain"][0]) <= 1e-12 * abs(results["plain"][0])
                for r in results.values()
            )
            else "sums DIFFER"
        )
    return rows


# ----------------------------------------------------------------------------------------------
# A pandas cleaning chain under DataFrameSplit: row-wise steps a data team writes as
# functions, each annotated `df: S -> S` (a filter: -> unknown).


def orders_frame(n: int):
    import pandas

    rng = numpy.random.default_rng(7)
    price = rng.normal(20.0, 8.0, n)
    price[rng.random(n) < 0.05] = numpy.nan
    return pandas.DataFrame(
        {
            "price": price,
            "qty": rng.integers(-2, 20, n),
            "discount": rng.random(n) * 0.3,
            "weight": rng.gamma(2.0, 1.5, n),
        }
    )


def fill_prices(df):
    return df.assign(price=df["price"].fillna(df["price"].abs().clip(upper=100.0).mean()))


def drop_returns(df):
    return df[df["qty"] > 0]


def add_revenue(df):
    net = df["price"] * (1.0 - df["discount"])
    return df.assign(revenue=net * df["qty"], log_weight=numpy.log1p(df["weight"]))


def flag_heavy(df):
    return df.assign(heavy=(df["log_weight"] > 1.5) & (df["revenue"] > 100.0))


def clean_chain(steps, df):
    return steps.flag(steps.revenue(steps.returns(steps.fill(df))))


def bench_pandas(log2n: int, opts) -> list[dict]:
    """The chain on the whole frame (plain pandas) and piece by piece (`pipeline()`). The
    pieces fill missing prices with their own piece's mean in the annotated run, so the
    fill step uses a constant computed first, outside the chain, in both runs."""
    import pandas

    df = orders_frame(1 << log2n)
    fill_value = float(df["price"].abs().clip(upper=100.0).mean())

    def fill(d):
        return d.assign(price=d["price"].fillna(fill_value))

    plain = SimpleNamespace(fill=fill, returns=drop_returns, revenue=add_revenue, flag=flag_heavy)
    annotated = SimpleNamespace(
        fill=splittable(d="S", returns="S")(fill),
        returns=splittable(df="S", returns="unknown")(drop_returns),
        revenue=splittable(df="S", returns="S")(add_revenue),
        flag=splittable(df="S", returns="S")(flag_heavy),
    )
    frames = {}

    def run_plain():
        frames["plain"] = clean_chain(plain, df)

    def run_pipeline():
        with pipeline():
            out = clean_chain(annotated, df)
        frames["pipeline"] = out.value()

    def as_numbers():  # (for `agreement`: every column as float64)
        return {k: (f.astype(numpy.float64).to_numpy(),) for k, f in frames.items()}

    rows = run_threads({"plain": run_plain, "pipeline": run_pipeline}, as_numbers, opts)
    same = True
    try:
        pandas.testing.assert_frame_equal(frames["pipeline"], frames["plain"])
    except AssertionError:
        same = False
    for row in rows:
        row["agree"] += "; frames equal" if same else "; frames DIFFER"
    return rows


# ----------------------------------------------------------------------------------------------


def run_threads(peers: dict, results, opts) -> list[dict]:
    """Per thread count: every peer once (results checked), then best of `opts.repeat`."""
    rows = []
    for threads in opts.threads:
        db.config(threads=threads)
        for fn in peers.values():
            fn()
        agree = agreement(results(), "plain")
        best = best_in_rounds({k: (lambda f=f: f()) for k, f in peers.items()}, (), opts.repeat)
        rows.append({"threads": threads, "seconds": best, "agree": agree})
    return rows


def render(title: str, rows: list[dict]) -> str:
    peers = list(rows[0]["seconds"])
    others = [p for p in peers if p != "plain"]
    header = (
        "threads",
        *(f"{p} (ms)" for p in peers),
        *(f"plain / {p}" for p in others),
        "results agree",
    )
    body = []
    for row in rows:
        s = row["seconds"]
        body.append(
            (
                row["threads"],
                *(f"{s[p] * 1e3:.1f}" for p in peers),
                *(f"**{s['plain'] / s[p]:.2f}x**" for p in others),
                row["agree"],
            )
        )
    return f"### {title}\n\n{table(body, header)}\n"


WORKLOADS = ("chain", "bs-c", "bs-numpy", "numpy-between", "pandas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=26, help="vdAdd chain: 2^k doubles")
    parser.add_argument("--log2n-bs", type=int, default=24, help="Black-Scholes: 2^k options")
    parser.add_argument("--log2n-pandas", type=int, default=22, help="pandas chain: 2^k rows")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=5, help="best of N")
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, default=None)
    parser.add_argument("--cc", help="the C compiler (default: cc, else gcc)")
    parser.add_argument("--json", metavar="FILE", help="save the results as JSON")
    opts = parser.parse_args()

    old = db.config()
    chosen = opts.only or WORKLOADS
    report: dict = {"args": vars(opts), "date": time.strftime("%Y-%m-%d"), "workloads": {}}
    with tempfile.TemporaryDirectory() as folder:
        path, compiler = compile_vml(folder, opts.cc)
        annotated, plain = load_vml(path)
        report["machine"] = f"{machine()}; piece bytes {piece_bytes()}; {compiler}"
        print(f"split annotations on {report['machine']}, {report['date']}")
        print(f"best of {opts.repeat}; ratio = unannotated / annotated time (> 1: faster)\n")
        runs = {
            "chain": (
                f"vdAdd chain: 8 calls, n = 2^{opts.log2n} doubles",
                lambda: bench_chain(annotated, plain, opts.log2n, opts),
            ),
            "bs-c": (
                f"Black-Scholes via C (30 VML calls), n = 2^{opts.log2n_bs} options",
                lambda: bench_bs_c(annotated, plain, opts.log2n_bs, opts),
            ),
            "bs-numpy": (
                f"Black-Scholes via annotated NumPy ufuncs, n = 2^{opts.log2n_bs} options",
                lambda: bench_bs_numpy(opts.log2n_bs, opts),
            ),
            "numpy-between": (
                f"NumPy between two annotated calls (exp, sin, cos, sqrt on the pending result), "
                f"2^{opts.log2n_bs} doubles",
                lambda: bench_numpy_between(opts.log2n_bs, opts),
            ),
            "pandas": (
                f"pandas cleaning chain (4 row-wise steps, DataFrameSplit), "
                f"2^{opts.log2n_pandas} rows",
                lambda: bench_pandas(opts.log2n_pandas, opts),
            ),
        }
        try:
            for name in chosen:
                title, bench = runs[name]
                start = time.perf_counter()
                rows = bench()
                print(render(title, rows), flush=True)
                report["workloads"][name] = {
                    "title": title,
                    "rows": rows,
                    "wall_seconds": time.perf_counter() - start,
                }
        finally:
            db.config(**old)
    if opts.json:
        with open(opts.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"saved {opts.json}")


if __name__ == "__main__":
    main()
