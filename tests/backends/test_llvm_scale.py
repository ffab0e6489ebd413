"""The LLVM backend at scale: 10^7-element inputs and dictionaries with 10^6 keys, checked
against NumPy and pandas (the interpreter would take minutes here)."""

import numpy as np
import pandas as pd
import pytest

import daybreak as db


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(42)
    return rng.random(10**7), rng.integers(0, 10**6, 10**7)


@pytest.mark.parametrize("threads", [1, 2])
def test_ten_million_elements(big, threads):
    v, _ = big
    prog = (
        "|v: vec[f64]| {result(for(v, merger[f64,+], |b, i, x| merge(b, x * 2.0))),"
        " result(for(v, appender[i64], |b, i, x| if(x < 0.0001, merge(b, i), b))),"
        " result(for(v, merger[f64,max], |b, i, x| merge(b, x)))}"
    )
    before = db.config(threads=threads)
    try:
        total, small, top = db.compile(prog, backend="llvm")(v)
    finally:
        db.config(**before)
    assert np.isclose(total, 2 * v.sum(), rtol=1e-9)
    np.testing.assert_array_equal(small, np.flatnonzero(v < 0.0001))
    assert top == v.max()


def test_dictionary_with_a_million_keys(big):
    v, keys = big
    prog = (
        "|k: vec[i64], v: vec[f64]| tovec(result(for(zip(k, v), dictmerger[i64,{i64,f64},+],"
        " |b, i, x| merge(b, {x.$0, {1L, x.$1}}))))"
    )
    out = db.compile(prog, backend="llvm")(keys, v)
    expect = pd.DataFrame({"k": keys, "v": v}).groupby("k").v.agg(["size", "sum"])
    assert len(out) == len(expect) > 990_000
    got_keys = np.fromiter((k for k, _ in out), np.int64, len(out))
    np.testing.assert_array_equal(got_keys, expect.index.to_numpy())  # sorted by key
    counts = np.fromiter((c for _, (c, _) in out), np.int64, len(out))
    np.testing.assert_array_equal(counts, expect["size"].to_numpy())
