"""The `daybreak` command.

daybreak                 run the demo pipeline (parse, type-check, print, run, compare)
daybreak check FILE      parse and type-check an IR program, print its signature
daybreak fmt FILE        print an IR program in canonical form
daybreak run FILE        run an IR program on generated data
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

from . import compile, ir
from .backends import REGISTRY
from .ir.errors import DaybreakError
from .ir.linearity import require_linear
from .ir.types import Scalar, Vec

# Generated data lives in memory: a hundred million rows is already gigabytes per column.
MAX_ROWS = 100_000_000


def _signature(program: ir.Program) -> str:
    params = ", ".join(f"{p.name}: {p.type}" for p in program.params)
    return f"({params}) -> {program.body.ty}"


def _sample(ty, rows: int, rng: np.random.Generator):
    """Random data for a parameter: vectors of scalars and scalars."""
    if isinstance(ty, Scalar):
        return ty.dtype.type(rng.integers(1, 100) if not ty.is_float else rng.uniform(0, 100))
    if isinstance(ty, Vec) and isinstance(ty.elem, Scalar):
        if ty.elem.is_float:
            return rng.uniform(0, 100, rows).astype(ty.elem.dtype)
        if ty.elem.kind == "bool":
            return rng.random(rows) < 0.5
        return rng.integers(0, 100, rows).astype(ty.elem.dtype)
    raise SystemExit(f"daybreak run: cannot generate data for a parameter of type {ty}")


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def demo(rows: int, backend: str) -> int:
    import pandas as pd

    text = resources.files("daybreak").joinpath("demo.weld").read_text()
    print("The program (daybreak IR, Weld's language):\n")
    print(text)
    program = ir.typecheck(ir.parse(text))
    print(f"Type-checked: {_signature(program)}\n")
    print("Canonical form:\n")
    print(ir.format(ir.parse(text)))

    rng = np.random.default_rng(7)
    price = rng.uniform(1.0, 100.0, rows)
    qty = rng.integers(1, 20, rows)
    store = rng.integers(0, 8, rows)

    t0 = time.perf_counter()
    f = compile(text, backend=backend)
    compile_s = time.perf_counter() - t0
    revenue, by_store, big = f(price, qty, store)
    run_s = _best_of(lambda: f(price, qty, store))
    print(f"\nRan on {rows:,} generated orders with backend={backend!r}:")
    print(f"  compiled in {compile_s * 1e3:.0f} ms, ran in {run_s * 1e3:.1f} ms (best of 3)")
    print(f"  revenue     {float(revenue):,.2f}")
    for key, (rev, count) in by_store:
        print(f"  store {key}     revenue {rev:14,.2f} over {count} orders")
    print(f"  big orders  {len(big):,} (first: {[int(i) for i in big[:5]]})")

    df = pd.DataFrame({"price": price, "qty": qty, "store": store})

    def with_pandas():
        amount = df.price * df.qty
        per_store = amount.groupby(df.store).agg(["sum", "size"])
        return amount.sum(), per_store, np.flatnonzero(amount.to_numpy() > 900.0)

    expect_revenue, expect, expect_big = with_pandas()
    pandas_s = _best_of(with_pandas)
    ok = (
        np.isclose(revenue, expect_revenue)
        and [int(k) for k, _ in by_store] == expect.index.tolist()
        and np.allclose([rev for _, (rev, _) in by_store], expect["sum"])
        and [int(n) for _, (_, n) in by_store] == expect["size"].tolist()
        and np.array_equal(big, expect_big)
    )
    print(
        f"\npandas does the same in {pandas_s * 1e3:.1f} ms (best of 3, same inputs): "
        f"daybreak is {pandas_s / run_s:.1f}x faster, with the same answers: "
        f"{'yes' if ok else 'NO'}"
    )

    # The reference interpreter, the oracle, agrees on a slice (it runs in Python).
    part = slice(0, min(rows, 5000))
    oracle = compile(text, backend="interp")(price[part], qty[part], store[part])
    fast = compile(text, backend=backend)(price[part], qty[part], store[part])
    same = np.isclose(oracle[0], fast[0]) and np.array_equal(oracle[2], fast[2])
    print(
        f"The reference interpreter agrees on the first {part.stop:,} orders: "
        f"{'yes' if same else 'NO'}"
    )
    return 0 if ok and same else 1


def _count(low: int, high: int):
    """An argparse type: an integer from `low` to `high` (argparse reports anything else)."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:,} and {high:,}")
        return value

    return count


class UnreadableFile(Exception):
    """A program file that cannot be read as text (the message says why)."""


def read_program(path: str) -> str:
    """The text of a program file: UTF-8 (Weld programs are ASCII), without NUL bytes."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UnreadableFile(e.strerror or str(e)) from None
    if b"\0" in data:
        raise UnreadableFile("it is a binary file, not program text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFile(
            f"it is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daybreak", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    backends = sorted(REGISTRY)
    d = sub.add_parser("demo", help="run the demo pipeline (the default)")
    d.add_argument("--rows", type=_count(1, MAX_ROWS), default=2_000_000)
    d.add_argument("--backend", choices=backends, default="llvm")
    for name in ("check", "fmt"):
        sub.add_parser(name).add_argument("file")
    r = sub.add_parser("run")
    r.add_argument("file")
    r.add_argument("--rows", type=_count(0, MAX_ROWS), default=10)
    r.add_argument("--seed", type=_count(0, 2**63 - 1), default=0)
    r.add_argument("--backend", choices=backends, default="llvm")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in (None, "demo"):
            return demo(getattr(args, "rows", 2_000_000), getattr(args, "backend", "llvm"))
        program = ir.parse(read_program(args.file))
        if args.command == "fmt":
            print(ir.format(program))
        elif args.command == "check":
            typed = ir.typecheck(program)
            require_linear(typed)
            print(_signature(typed))
        else:
            typed = ir.typecheck(program)
            require_linear(typed)  # a builder used twice is the program's mistake
            rng = np.random.default_rng(args.seed)
            values = [_sample(p.type, args.rows, rng) for p in typed.params]
            print(compile(program, backend=args.backend)(*values))
        return 0
    except UnreadableFile as e:
        print(f"daybreak: cannot read {args.file}: {e}", file=sys.stderr)
        return 1
    except DaybreakError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
