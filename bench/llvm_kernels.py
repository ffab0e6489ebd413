"""LLVM backend benchmarks (issue #3), every peer in the same process run.

    python bench/llvm_kernels.py [--log2n 26] [--threads 2]

1. A memory-bound fused loop, sum(a*b + c) over 2^26 f64, as a fraction of the machine's
   memory bandwidth measured in the same run by a NumPy copy (bar: >= 80%).
2. Compile time of a typical map-reduce program: cold (new program, warm process), from the
   disk cache (new process), and from the in-memory cache (bar: < 50 ms cold, < 1 ms cached).
3. Thread scaling of loops that fill appenders (a map and a filter over 2^25 f64), 1 thread
   against all threads, with NumPy's map in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, machine, table  # noqa: E402

import daybreak as db  # noqa: E402

FUSED = "|a: vec[f64], b: vec[f64], c: vec[f64]| result(for(zip(a, b, c), merger[f64,+], |s, i, x| merge(s, x.$0 * x.$1 + x.$2)))"  # noqa: E501


def memory_bound(log2n: int, threads: int) -> str:
    n = 1 << log2n
    rng = np.random.default_rng(0)
    a, b, c = (rng.random(n) for _ in range(3))
    dst = np.empty(n)
    db.config(threads=threads)
    f = db.compile(FUSED, backend="llvm")
    got = f(a, b, c)
    assert np.isclose(got, np.dot(a, b) + c.sum(), rtol=1e-9)
    t_copy = best_of(lambda: np.copyto(dst, a))
    t_db = best_of(lambda: f(a, b, c))
    t_np = best_of(lambda: (a * b + c).sum(), repeat=3)
    copy_bw = 2 * a.nbytes / t_copy  # read + write
    db_bw = 3 * a.nbytes / t_db  # three inputs read once
    rows = [
        ("NumPy copy (bandwidth probe)", f"{t_copy * 1e3:.1f}", f"{copy_bw / 1e9:.1f}", "1.00"),
        (
            "daybreak llvm sum(a*b+c)",
            f"{t_db * 1e3:.1f}",
            f"{db_bw / 1e9:.1f}",
            f"{db_bw / copy_bw:.2f}",
        ),
        (
            "NumPy (a*b+c).sum()",
            f"{t_np * 1e3:.1f}",
            f"{3 * a.nbytes / t_np / 1e9:.1f}",
            f"{3 * a.nbytes / t_np / copy_bw:.2f}",
        ),
    ]
    head = f"### Memory-bound fused loop: n = 2^{log2n} f64, threads = {threads}\n\n"
    ratio, fraction = t_np / t_db, db_bw / copy_bw
    note = f"\n\ndaybreak is {ratio:.1f}x NumPy; bandwidth fraction {fraction:.0%} (bar: 80%)."
    return head + table(rows, ("what", "ms", "GB/s", "fraction of copy bandwidth")) + note


MAP_REDUCE = "|v: vec[f64], w: vec[f64]| let s = result(for(zip(v, w), merger[f64,+], |b, i, x| merge(b, x.$0 * x.$1 + {k}.0))); let m = result(for(v, appender[f64], |b, i, x| if(x > {k}.5, merge(b, x), b))); {{s, m}}"  # noqa: E501

CHILD = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    import daybreak as db
    prog = db.ir.parse(sys.argv[1])
    db.compile("|x: i64| x + 1L", backend="llvm")  # process warm-up: LLVM and the JIT
    t = time.perf_counter(); db.compile(prog, backend="llvm"); t = time.perf_counter() - t
    print(t, db.stats()["cache_disk_hits"])
    """
)


def compile_times() -> str:
    db.compile("|x: i64| x + 1L", backend="llvm")  # warm the process (LLVM init, JIT)
    colds = []
    for k in range(5):
        prog = db.ir.parse(MAP_REDUCE.format(k=100 + k + int(time.time()) % 100000 * 10))
        t = time.perf_counter()
        db.compile(prog, backend="llvm")
        colds.append(time.perf_counter() - t)
    prog = db.ir.parse(MAP_REDUCE.format(k=1))
    db.compile(prog, backend="llvm")
    hit = best_of(lambda: db.compile(prog, backend="llvm"), repeat=20)
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DAYBREAK_CACHE_DIR": folder}
        text = MAP_REDUCE.format(k=7)
        runs = [
            subprocess.run(
                [sys.executable, "-c", CHILD, text],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            for _ in range(3)
        ]
    disk = min(float(r[0]) for r in runs[1:])
    rows = [
        ("cold (new program, LLVM O3 + codegen)", f"{min(colds) * 1e3:.1f}", "< 50"),
        ("disk cache (new process, no LLVM optimisation)", f"{disk * 1e3:.1f}", ""),
        ("in-memory cache (same Program)", f"{hit * 1e3:.3f}", "< 1"),
    ]
    return "### Compile time of a map-reduce program (two loops, two outputs)\n\n" + table(
        rows, ("path", "ms", "bar (ms)")
    )


MAP = "|v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 2.0 + 1.0)))"
FILTER = (
    "|v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| if(x > 0.5, merge(b, x), b)))"  # noqa: E501
)


def appender_scaling(threads: int) -> str:
    v = np.random.default_rng(1).random(1 << 25)
    rows = [("NumPy v * 2.0 + 1.0", "", f"{best_of(lambda: v * 2.0 + 1.0) * 1e3:.1f}", "")]
    for name, text in (("map (threads fill one buffer in place)", MAP), ("filter", FILTER)):
        f = db.compile(text, backend="llvm")
        times = {}
        for count in (1, threads):
            db.config(threads=count)
            times[count] = best_of(lambda f=f: f(v))
        rows.append(
            (
                name,
                f"{times[1] * 1e3:.1f}",
                f"{times[threads] * 1e3:.1f}",
                f"{times[1] / times[threads]:.2f}",
            )
        )
    head = f"### Loops that fill appenders: n = 2^25 f64, 1 vs {threads} threads\n\n"
    return head + table(rows, ("what", "1 thread (ms)", f"{threads} threads (ms)", "scaling"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log2n", type=int, default=26)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    print(memory_bound(args.log2n, args.threads))
    print()
    print(compile_times())
    print()
    print(appender_scaling(args.threads))


if __name__ == "__main__":
    main()
