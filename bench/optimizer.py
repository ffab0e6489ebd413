"""Optimizer benchmarks (issue #4): the same pipelines with the passes on and off, on llvm.

    python bench/optimizer.py [--log2n 24] [--threads 2]

Each workload is compiled twice by the LLVM backend: with every pass, and with every pass
off (`db.config(passes_off=...)`). Printed: the best-of-5 times, the loops over the data left
(explain's count) and the bytes the loops move, estimated from the program: every top-level
loop reads each vector it iterates over and writes each vector it appends to; a filter is
assumed to keep every element (an upper bound on what it writes).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, machine, table  # noqa: E402

import daybreak as db  # noqa: E402
from daybreak.ir import nodes as N  # noqa: E402
from daybreak.ir.types import Appender, Struct, Vec  # noqa: E402
from daybreak.optimizer import PASS_NAMES, data_passes, optimize  # noqa: E402

WORKLOADS = {
    "map chain (5 maps + sum)": """|v: vec[f64]|
        let a = map(v, |x| x + 1.0);
        let b = map(a, |x| x * 2.0);
        let c = map(b, |x| x - 3.0);
        let d = map(c, |x| x * x);
        let e = map(d, |x| x / 4.0);
        result(for(e, merger[f64,+], |s, i, x| merge(s, x)))""",
    "map + filter + reduce": """|v: vec[f64]|
        let t = map(v, |x| x * 2.0 + 1.0);
        let f = filter(t, |x| x > 1.5);
        result(for(f, merger[f64,+], |s, i, x| merge(s, x * x)))""",
    "multi-output (sum, max, x*2)": """|v: vec[f64]|
        {result(for(v, merger[f64,+], |b, i, e| merge(b, e))),
         result(for(v, merger[f64,max], |b, i, e| merge(b, e))),
         map(v, |e| e * 2.0)}""",
    "map, filter, two reductions and a map": """|v: vec[f64]|
        let t = map(v, |x| x * 2.0);
        let f = filter(t, |x| x > 1.0);
        {result(for(f, merger[f64,+], |s, i, x| merge(s, x))),
         result(for(f, merger[f64,max], |s, i, x| merge(s, x))), map(v, |x| x + 1.0)}""",
}


def _elem_bytes(t) -> int:
    if isinstance(t, Struct):
        return sum(_elem_bytes(f) for f in t.fields)
    if isinstance(t, Vec):
        return 16  # a descriptor: pointer and length
    return t.dtype.itemsize


def _appended_bytes(t) -> int:
    if isinstance(t, Appender):
        return _elem_bytes(t.elem)
    if isinstance(t, Struct) and t.is_builder:
        return sum(_appended_bytes(f) for f in t.fields)
    return 0


def bytes_moved(program: N.Program, n: int) -> int:
    """Estimated bytes the top-level loops of a typed program read and write for inputs of
    n elements."""
    total = 0

    def visit(e: N.Expr) -> None:
        nonlocal total
        if isinstance(e, N.For):
            for it in e.iters:
                if it.data is not None:
                    total += n * _elem_bytes(it.data.ty.elem)
            total += n * _appended_bytes(e.builder.ty)
            for c in e.children():
                if c is not e.func:
                    visit(c)
            return
        for c in e.children():
            visit(c)

    visit(program.body)
    return total


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.allclose(a, b, rtol=1e-9))


def run(log2n: int, threads: int) -> str:
    n = 1 << log2n
    v = np.random.default_rng(0).standard_normal(n)
    db.config(threads=threads)
    rows = []
    for name, text in WORKLOADS.items():
        program = db.ir.parse(text)
        timings, passes, moved, outputs = [], [], [], []
        for off in (frozenset(PASS_NAMES), frozenset()):
            before = db.config(passes_off=off)
            try:
                f = db.compile(program, backend="llvm")
                outputs.append(f(v))
                timings.append(best_of(lambda f=f: f(v)))
                optimized = optimize(program)
            finally:
                db.config(**before)
            passes.append(data_passes(optimized))
            moved.append(bytes_moved(optimized, n))
        assert _same(outputs[0], outputs[1]), name
        rows.append((
            name,
            f"{timings[0] * 1e3:.1f}",
            f"{timings[1] * 1e3:.1f}",
            f"{timings[0] / timings[1]:.2f}x",
            f"{passes[0]} -> {passes[1]}",
            f"{moved[0] / 1e6:.0f} -> {moved[1] / 1e6:.0f}",
        ))
    head = (f"### Optimizer on vs off (llvm): n = 2^{log2n} f64, threads = {threads}, "
            f"{machine()}\n\n")
    header = ("pipeline", "passes off (ms)", "passes on (ms)", "speed-up", "loops over data",
              "MB moved (est.)")
    return head + table(rows, header)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=24)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(run(args.log2n, args.threads))


if __name__ == "__main__":
    main()
