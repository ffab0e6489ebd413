"""Black-Scholes (WORKLOADS.md) through daybreak's LLVM backend against NumPy + SciPy, numexpr
and Numba, all in one process run. Prints a markdown table of best-of-N wall times.

    python bench/llvm_math.py                # n = 2^24, 2 threads, best of 5
    python bench/llvm_math.py --log2n 20 --repeat 3

The daybreak program is written directly in the IR: one loop over zip(price, strike, t)
producing both outputs (call and put) into a struct of two pre-sized appenders.
First-call times (compile + one run) are reported separately from the steady-state times;
daybreak's disk cache is turned off so that its first call really compiles.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ["DAYBREAK_CACHE"] = "0"  # measure compilation, not a cache hit

import daybreak as db  # noqa: E402

# The NumPy, numexpr and Numba peers are those of the NumPy workload (bench/numpy/).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from black_scholes import (  # noqa: E402
    RATE,
    SQRT2,
    VOL,
    make_numba,
    numexpr_black_scholes,
)
from black_scholes import black_scholes as numpy_kernel  # noqa: E402
from common import best_in_rounds, first_call  # noqa: E402


def numpy_black_scholes(price, strike, t):
    return numpy_kernel(np, price, strike, t)


BLACK_SCHOLES_IR = f"""
|price: vec[f64], strike: vec[f64], t: vec[f64]|
  let rate = {RATE!r};
  let vol = {VOL!r};
  let rsig = rate + vol * vol * 0.5;
  let n = len(price);
  result(for(zip(price, strike, t), {{appender[f64](n), appender[f64](n)}}, |b, i, x|
    let p = x.$0;
    let s = x.$1;
    let vs = vol * sqrt(x.$2);
    let d1 = (log(p / s) + rsig * x.$2) / vs;
    let d2 = d1 - vs;
    let n1 = 0.5 + 0.5 * erf(d1 / {SQRT2!r});
    let n2 = 0.5 + 0.5 * erf(d2 / {SQRT2!r});
    let e = exp(-rate * x.$2);
    {{merge(b.$0, p * n1 - e * s * n2), merge(b.$1, e * s * (1.0 - n2) - p * (1.0 - n1))}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    n = 1 << opts.log2n
    rng = np.random.default_rng(42)
    price = rng.uniform(10.0, 50.0, n)
    strike = rng.uniform(10.0, 50.0, n)
    t = rng.uniform(0.1, 2.0, n)
    args = (price, strike, t)

    db.config(threads=opts.threads)
    import numba
    import numexpr

    numba.set_num_threads(min(opts.threads, numba.config.NUMBA_NUM_THREADS))
    numexpr.set_num_threads(opts.threads)

    contenders = {
        "daybreak llvm (IR)": lambda: db.compile(BLACK_SCHOLES_IR, backend="llvm"),
        "NumPy + scipy.special.erf": lambda: numpy_black_scholes,
        "numexpr (+ SciPy erf)": lambda: numexpr_black_scholes,
        "Numba parallel fastmath": make_numba,
    }
    reference = numpy_black_scholes(*args)
    db.stats(reset=True)
    functions, firsts, errors = {}, {}, {}
    for name, make in contenders.items():
        firsts[name], functions[name] = first_call(make, args)
        call, put = functions[name](*args)
        errors[name] = max(
            float(np.max(np.abs(call - reference[0]) / (1.0 + np.abs(reference[0])))),
            float(np.max(np.abs(put - reference[1]) / (1.0 + np.abs(reference[1])))),
        )
    best = best_in_rounds(functions, args, opts.repeat)
    rows = [(name, best[name], firsts[name], errors[name]) for name in contenders]

    ours = rows[0][1]
    print(
        f"Black-Scholes, n = 2^{opts.log2n} = {n}, threads = {opts.threads}, "
        f"best of {opts.repeat}\n"
    )
    print("| implementation | best (ms) | time / daybreak | first call (ms) | max diff vs NumPy |")
    print("|---|---:|---:|---:|---:|")
    for name, best, first, error in rows:
        cells = f"{best * 1e3:.1f} | {best / ours:.2f} | {first * 1e3:.0f} | {error:.1e}"
        print(f"| {name} | {cells} |")
    compile_ms = db.stats()["compile_seconds"] * 1e3
    print(
        f"\ndaybreak's first call includes {compile_ms:.0f} ms of compilation (typecheck, "
        "lowering, LLVM O3, code generation); NumPy's first call includes importing SciPy."
    )


if __name__ == "__main__":
    main()
