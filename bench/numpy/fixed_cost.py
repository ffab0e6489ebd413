"""daybreak's fixed cost per call (issue #9): one small pipeline, `float((a * 2 + 1).sum())`,
repeated at 10^3, 10^4, 10^5 and 10^6 elements, against NumPy. Prints the per-call time of
each and the ratio (NumPy / daybreak: > 1 is faster), and daybreak's counters per call (native
runs, library runs, compiles), which say which tier served the steady state.

    python bench/numpy/fixed_cost.py
    python bench/numpy/fixed_cost.py --sizes 1000,1000000 --seconds 2 --threads 2

`a` is `daybreak.numpy.asarray` of the same random data NumPy gets, made once outside the
timed loop. Each size runs in one process: the first call (the compile or the tier-0 library
run) is reported separately; then the calls a loop makes before its program is compiled (the
scheduler compiles a structure once native code would have saved the compile's cost: up to
~1,000 calls at 10^5 elements), counted and timed until the calls run native code and no
compile is pending (at most `--settle` seconds); then calls are timed in batches for about
`--seconds` each and the best batch's mean is reported: the cached program's cost. Its fixed
cost is that less the native run's own time (`db.stats()["run_seconds"]` per run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("DAYBREAK_CACHE", "0")

import numpy  # noqa: E402

import daybreak as db  # noqa: E402
import daybreak.numpy as dnp  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import machine  # noqa: E402


def pipeline(np, a) -> float:
    return float((a * 2 + 1).sum())


def per_call(fn, a, seconds: float) -> float:
    """Best mean seconds per call over batches that take ~seconds/5 each."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.05:
        fn(a)
        calls += 1
    batch = max(1, int(calls * (seconds / 5) / max(time.perf_counter() - start, 1e-9)))
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(batch):
            fn(a)
        best = min(best, (time.perf_counter() - t) / batch)
    return best


def settle(fn, a, seconds: float, batch: int = 50) -> tuple[int, float]:
    """Call `fn(a)` in batches until a batch runs native code only with no compile pending,
    or runs neither tier (NumPy directly: small sizes), or `seconds` pass: (the calls made,
    their mean seconds; the counters are read between batches, not timed)."""
    calls, spent = 0, 0.0
    while spent < seconds:
        before = db.stats()
        start = time.perf_counter()
        for _ in range(batch):
            fn(a)
        spent += time.perf_counter() - start
        calls += batch
        after = db.stats()
        runs = after["runs"] - before["runs"]
        library = after["library_runs"] - before["library_runs"]
        if (runs == batch and after["compiles"] == before["compiles"]) or runs + library == 0:
            wait_for_compiles()
            break
    return calls, spent / max(calls, 1)


def wait_for_compiles() -> None:
    try:
        from daybreak.frontends import scheduler
    except ImportError:
        return
    wait = getattr(scheduler, "wait_for_compiles", None)
    if wait is not None:
        wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--seconds", type=float, default=1.5, help="timing per size and peer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--settle", type=float, default=10.0, help="longest wait for native code, seconds"
    )
    opts = parser.parse_args()
    db.config(threads=opts.threads)

    print(
        f"fixed cost of `float((a * 2 + 1).sum())`, {machine()}, threads = {opts.threads}, "
        f"NumPy {numpy.__version__}, {time.strftime('%Y-%m-%d %H:%M')}, load average "
        f"{os.getloadavg()[0]:.1f}, daybreak from "
        f"{os.path.dirname(os.path.dirname(os.path.abspath(db.__file__)))}\n"
    )
    print(
        "| elements | NumPy µs/call | daybreak µs/call | ratio (NumPy / daybreak) | daybreak "
        "fixed cost µs/call | daybreak first call ms | calls before native code: count, "
        "µs/call | daybreak per call: native runs / library runs / compiles | agree |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|---|")
    rng = numpy.random.default_rng(42)
    for n in (int(s) for s in opts.sizes.split(",")):
        data = rng.random(n)
        a = dnp.asarray(data)
        want = pipeline(numpy, data)
        db.stats(reset=True)
        t = time.perf_counter()
        got = pipeline(dnp, a)
        first = time.perf_counter() - t
        settling = settle(lambda x: pipeline(dnp, x), a, opts.settle)
        np_s = per_call(lambda x: pipeline(numpy, x), data, opts.seconds)
        db.stats(reset=True)
        calls = [0]

        def counted(x, calls=calls):
            calls[0] += 1
            return pipeline(dnp, x)

        db_s = per_call(counted, a, opts.seconds)
        stats = db.stats()
        k = max(calls[0], 1)
        tiers = (
            f"{stats.get('runs', 0) / k:.2f} / {stats.get('library_runs', 0) / k:.2f} / "
            f"{stats.get('compiles', 0) / k:.2f}"
        )
        runs = stats.get("runs", 0)
        fixed = db_s - (stats.get("run_seconds", 0.0) / runs if runs else 0.0)
        agree = "yes" if abs(got - want) <= 1e-9 * abs(want) else f"no ({got} vs {want})"
        label = f"10^{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)
        print(
            f"| {label} | {np_s * 1e6:.1f} | {db_s * 1e6:.1f} | "
            f"{np_s / db_s:.2f}x | {fixed * 1e6:.1f} | {first * 1e3:.1f} | "
            f"{settling[0]}, {settling[1] * 1e6:.0f} | {tiers} | {agree} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
