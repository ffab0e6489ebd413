"""Issue #5's NumPy workloads, run with NumPy, daybreak.numpy, numexpr and Numba in one process
run. Prints one markdown table per workload: first call (compilation included) and the best
steady-state time of each peer, speed-ups over NumPy, and each result's difference from NumPy's.

    python bench/numpy/run.py                   # WORKLOADS.md sizes, 2 threads, best of 3
    python bench/numpy/run.py --small           # quick: 2^20 elements, 2^10 bodies, 2^10 grid
    python bench/numpy/run.py --only nbody --steps 2 --repeat 5

The kernels are the plain NumPy functions of the workload files, called with `numpy` or with
`daybreak.numpy` as their module; the daybreak peer wraps the inputs with `np.asarray` and
materialises every output with one `db.evaluate` (both timed). daybreak's disk cache is off,
so its first call really compiles.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

os.environ["DAYBREAK_CACHE"] = "0"  # the first call must compile, not load from disk

import numpy  # noqa: E402

import daybreak as db  # noqa: E402
import daybreak.numpy as dnp  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import black_scholes  # noqa: E402
import haversine  # noqa: E402
import nbody  # noqa: E402
import shallow_water  # noqa: E402
from common import best_in_rounds, machine  # noqa: E402

# name -> (module, kernel, numexpr peer or None, log2 size, log2 size with --small, what n is)
WORKLOADS = {
    "black_scholes": (
        black_scholes,
        black_scholes.black_scholes,
        black_scholes.numexpr_black_scholes,
        24,
        20,
        "options",
    ),
    "haversine": (haversine, haversine.haversine, haversine.numexpr_haversine, 24, 20, "points"),
    "nbody": (nbody, nbody.nbody, nbody.numexpr_nbody, 12, 12, "bodies"),
    "shallow_water": (
        shallow_water,
        shallow_water.shallow_water,
        None,
        12,
        10,
        "grid side (n x n)",
    ),
}
STEPPED = {"nbody", "shallow_water"}


def daybreak_peer(kernel):
    """The same kernel on daybreak.numpy: inputs wrapped, all outputs in one program."""

    def run(*inputs):
        outputs = kernel(dnp, *(dnp.asarray(a) for a in inputs))
        values = db.evaluate(*outputs)
        return values if len(outputs) > 1 else (values,)

    return run


def peers(name: str, steps: int | None) -> dict:
    """Each peer as a maker: () -> the function to time (making it may compile)."""
    module, kernel, numexpr_kernel, *_ = WORKLOADS[name]
    extra = {"steps": steps} if name in STEPPED and steps is not None else {}
    kernel = functools.partial(kernel, **extra)
    found = {
        "NumPy": lambda: functools.partial(kernel, numpy),
        "daybreak.numpy": lambda: daybreak_peer(kernel),
    }
    if numexpr_kernel is not None:
        found["numexpr"] = lambda: functools.partial(numexpr_kernel, **extra)
    found["Numba parallel fastmath"] = lambda: module.make_numba(**extra)
    return found


def differences(outputs, reference) -> tuple[float, float]:
    """Max abs difference over all outputs, and the same relative to the largest |value|."""
    worst_abs = worst_rel = 0.0
    for got, want in zip(outputs, reference, strict=True):
        got, want = numpy.asarray(got), numpy.asarray(want)
        diff = float(numpy.max(numpy.abs(got - want)))
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(float(numpy.max(numpy.abs(want))), 1e-300))
    return worst_abs, worst_rel


def bench(name: str, log2n: int, opts) -> str:
    module = WORKLOADS[name][0]
    n = 1 << log2n
    inputs = module.make_inputs(n, numpy.random.default_rng(42))
    makers = peers(name, opts.steps)
    functions, first, results, notes = {}, {}, {}, []
    for peer, make in makers.items():
        before = db.stats(reset=True)
        start = time.perf_counter()
        functions[peer] = make()
        results[peer] = functions[peer](*inputs)
        first[peer] = time.perf_counter() - start
        if peer == "daybreak.numpy":
            stats = db.stats()
            notes.append(
                f"daybreak's first call: {stats['compiles']} compile(s), "
                f"{stats['compile_seconds'] * 1e3:.0f} ms compiling; fallbacks: "
                f"{dict(stats['fallbacks']) or 'none'}"
            )
        del before
    best = best_in_rounds(functions, inputs, opts.repeat)
    numpy_best, numpy_first = best["NumPy"], first["NumPy"]
    rows = []
    for peer in functions:
        abs_diff, rel_diff = differences(results[peer], results["NumPy"])
        rows.append(
            f"| {peer} | {first[peer] * 1e3:.0f} | {best[peer] * 1e3:.1f} | "
            f"{numpy_best / best[peer]:.2f}x | {numpy_first / first[peer]:.2f}x | "
            f"{abs_diff:.1e} | {rel_diff:.1e} |"
        )
    steps = f", {opts.steps or module.STEPS} steps" if name in STEPPED else ""
    head = (
        f"### {name}: n = 2^{log2n} = {n} {WORKLOADS[name][5]}{steps}, "
        f"threads = {opts.threads}, best of {opts.repeat}\n\n"
        "| peer | first call (ms) | best (ms) | speed-up vs NumPy | first-call speed-up "
        "vs NumPy first call | max abs diff vs NumPy | max rel diff (to max abs value) |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    return "\n".join([head, *rows, "", *notes, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick sizes (see WORKLOADS)")
    parser.add_argument("--log2n", type=int, help="override every workload's log2 size")
    parser.add_argument("--steps", type=int, help="time steps of nbody and shallow_water")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), default=None)
    opts = parser.parse_args()

    db.config(threads=opts.threads)
    import numba
    import numexpr

    numba.set_num_threads(min(opts.threads, numba.config.NUMBA_NUM_THREADS))
    numexpr.set_num_threads(opts.threads)
    print(f"daybreak.numpy workloads on {machine()}, {time.strftime('%Y-%m-%d')}\n")
    for name in opts.only or WORKLOADS:
        _, _, _, full, small, _ = WORKLOADS[name]
        log2n = opts.log2n if opts.log2n is not None else small if opts.small else full
        print(bench(name, log2n, opts), flush=True)


if __name__ == "__main__":
    main()
