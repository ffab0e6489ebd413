"""Optimizer benchmarks (issue #4): the same pipelines with the passes on and off, on llvm;
and how long `optimize()` itself takes (golden pipeline programs, a 2,000-let chain).

    python bench/optimizer.py [--log2n 24] [--threads 2] [--repeat 5] [--old DIR]

`--old DIR` also times a copy of an older optimizer package (e.g. `git archive HEAD optimizer
| tar -x -C DIR`) on the same programs, for before/after numbers.

Each workload is compiled twice by the LLVM backend: with every pass, and with every pass
off (`db.config(passes_off=...)`). Printed: the best-of-5 times, the loops over the data left
(explain's count) and the bytes the loops move, estimated from the program: every top-level
loop reads each vector it iterates over and writes each vector it appends to; a filter is
assumed to keep every element (an upper bound on what it writes).
"""

from __future__ import annotations

import argparse
import glob
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
    "zip of maps (v*2 + w*3)": """|v: vec[f64], w: vec[f64]|
        let p = map(v, |x| x * 2.0);
        let q = map(w, |x| x * 3.0);
        result(for(zip(p, q), appender[f64], |b, i, x| merge(b, x.$0 + x.$1)))""",
    "nested zips ((v+w)*v - w)": """|v: vec[f64], w: vec[f64]|
        let s = result(for(zip(v, w), appender[f64], |b, i, x| merge(b, x.$0 + x.$1)));
        let p = result(for(zip(s, v), appender[f64], |b, i, x| merge(b, x.$0 * x.$1)));
        result(for(zip(p, w), appender[f64], |b, i, x| merge(b, x.$0 - x.$1)))""",
    "slices of a map (y[1:] - y[:-1])": """|v: vec[f64], w: vec[f64]|
        let y = map(v, |x| x * 2.0 + 1.0);
        let n = len(v);
        result(for(zip(iter(y, 1L, n, 1L), iter(y, 0L, n - 1L, 1L)), appender[f64],
                   |b, i, x| merge(b, x.$0 - x.$1)))""",
    "broadcast from two maps (m[i/k] * c[i%k])": """|v: vec[f64], w: vec[f64]|
        let m = map(v, |x| x * 3.0);
        let c = map(w, |x| x + 1.0);
        let k = 64L;
        result(for(rangeiter(0L, len(v), 1L), appender[f64], |b, i, x|
            merge(b, lookup(m, i / k) * lookup(c, i % k))))""",
    "{y, sum(y)}": """|v: vec[f64], w: vec[f64]|
        let y = map(v, |x| x * 2.0);
        {y, result(for(y, merger[f64,+], |s, i, x| merge(s, x)))}""",
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


def run(log2n: int, threads: int, repeat: int = 5) -> str:
    n = 1 << log2n
    rng = np.random.default_rng(0)
    v, w = rng.standard_normal(n), rng.standard_normal(n)
    db.config(threads=threads)
    rows = []
    for name, text in WORKLOADS.items():
        program = db.ir.parse(text)
        args = (v, w)[: len(program.params)]
        timings, passes, moved, outputs = [], [], [], []
        for off in (frozenset(PASS_NAMES), frozenset()):
            before = db.config(passes_off=off)
            try:
                f = db.compile(program, backend="llvm")
                outputs.append(f(*args))
                timings.append(best_of(lambda f=f, a=args: f(*a), repeat=repeat))
                optimized = optimize(program, passes_off=off)
            finally:
                db.config(**before)
            passes.append(data_passes(optimized))
            moved.append(bytes_moved(optimized, n))
        assert _same(outputs[0], outputs[1]), name
        rows.append(
            (
                name,
                f"{timings[0] * 1e3:.1f}",
                f"{timings[1] * 1e3:.1f}",
                f"{timings[0] / timings[1]:.2f}x",
                f"{passes[0]} -> {passes[1]}",
                f"{moved[0] / 1e6:.0f} -> {moved[1] / 1e6:.0f}",
            )
        )
    head = (
        f"### Optimizer on vs off (llvm): n = 2^{log2n} f64, threads = {threads}, {machine()}\n\n"
    )
    header = (
        "pipeline",
        "passes off (ms)",
        "passes on (ms)",
        "speed-up",
        "loops over data",
        "MB moved (est.)",
    )
    return head + table(rows, header)


# ----------------------------------------------------------------------------------------------
# How long the optimizer itself takes.

ROOT = os.path.join(os.path.dirname(__file__), "..")
GOLDEN = os.path.join(ROOT, "tests", "optimizer", "golden", "pipeline")


def _load_optimizer(folder: str):
    """`optimize` from a copy of the optimizer package in `folder` (as `daybreak.optimizer`,
    so its relative imports resolve there); the current package is put back afterwards."""
    import importlib.util

    saved = {k: m for k, m in sys.modules.items() if k.startswith("daybreak.optimizer")}
    for k in saved:
        del sys.modules[k]
    try:
        spec = importlib.util.spec_from_file_location(
            "daybreak.optimizer",
            os.path.join(folder, "__init__.py"),
            submodule_search_locations=[folder],
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["daybreak.optimizer"] = module
        spec.loader.exec_module(module)
        return module.optimize
    finally:
        for k in [k for k in sys.modules if k.startswith("daybreak.optimizer")]:
            del sys.modules[k]
        sys.modules.update(saved)


def optimizer_times(repeat: int, old: str | None) -> str:
    sys.path.insert(0, ROOT)
    from tests.optimizer.large_chain import chain

    programs = {
        os.path.basename(p)[:-5]: open(p).read()
        for p in sorted(glob.glob(os.path.join(GOLDEN, "*.weld")))
    }
    optimizers = {"now": optimize}
    if old:
        optimizers = {"before": _load_optimizer(old), **optimizers}
    rows = []
    cases = [(name, text, repeat) for name, text in programs.items()]
    cases.append(("chain of 2,000 lets / 300 loops", chain(2000, 300), 1))
    for name, text, reps in cases:
        program = db.ir.typecheck(db.ir.parse(text))
        row = [name, str(data_passes(program))]
        for opt in optimizers.values():
            out = opt(program)
            row.append(f"{best_of(lambda o=opt, p=program: o(p), repeat=reps, warmup=0) * 1e3:.1f}")
            row.append(str(data_passes(out)))
        rows.append(tuple(row))
    header = ["program", "loops before"]
    for label in optimizers:
        header += [f"optimize() {label} (ms)", f"loops after ({label})"]
    return f"### optimize() time: best of {repeat} (the chain: 1 run), {machine()}\n\n" + table(
        rows, tuple(header)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=24)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--old", help="a copy of an older optimizer package to time as well")
    parser.add_argument("--only", choices=("run", "optimizer"))
    args = parser.parse_args()
    if args.only != "optimizer":
        print(run(args.log2n, args.threads, args.repeat))
        print()
    if args.only != "run":
        print(optimizer_times(args.repeat, args.old))


if __name__ == "__main__":
    main()
