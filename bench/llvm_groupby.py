"""Group-by on the LLVM backend (issue #3): sum of a float column by an integer key over
10^7 rows and 10^5 keys, against pandas `groupby().sum()` in the same process run (bar: >= 5x).

Two key columns with the same groups: ids 0..keys-1 (dictmergers take them in dense mode, an
array over the range), and the same ids spread over the whole int64 range (a hash table, which
outgrows the cache and aggregates by radix partitions).

    python bench/llvm_groupby.py [--rows 10000000] [--keys 100000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, machine, table  # noqa: E402

import daybreak as db  # noqa: E402

GROUP_SUM = (
    "|k: vec[i64], v: vec[f64]|"
    " tovec(result(for(zip(k, v), dictmerger[i64,f64,+], |b, i, x| merge(b, x))))"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--keys", type=int, default=10**5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    keys = rng.integers(0, args.keys, args.rows)
    vals = rng.random(args.rows)

    db.config(threads=args.threads)
    f = db.compile(GROUP_SUM, backend="llvm")
    spread = keys * np.int64(0x9E3779B97F4A7C15 - (1 << 64))  # the same groups, sparse keys
    rows = []
    for label, column in (("ids 0..keys-1 (dense)", keys), ("sparse int64 keys (hashed)", spread)):
        frame = pd.DataFrame({"k": column, "v": vals})
        got = f(column, vals)
        want = frame.groupby("k").v.sum()
        assert np.array_equal(got["f0"], want.index.to_numpy())
        assert np.allclose(got["f1"], want.to_numpy(), rtol=1e-9)
        t_pd = best_of(lambda frame=frame: frame.groupby("k").v.sum(), repeat=3)
        t_db = best_of(lambda column=column: f(column, vals), repeat=3)
        rows.append((f"pandas groupby('k').v.sum(), {label}", f"{t_pd * 1e3:.0f}", "1.0"))
        rows.append((f"daybreak llvm, {label}", f"{t_db * 1e3:.0f}", f"{t_pd / t_db:.1f}"))
    print(f"Machine: {machine()}\n")
    print(f"### Group-by sum: {args.rows:,} rows, {args.keys:,} keys, threads = {args.threads}\n")
    print(table(rows, ("what", "ms", "speed-up vs pandas")))


if __name__ == "__main__":
    main()
