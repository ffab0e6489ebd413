"""The two fast paths of dictmergers in the LLVM backend, against the reference interpreter:
dense mode (integer keys in a small range are an array; dict_dense.py) and partitioned
aggregation (a big table spills merges into partitions; dict_spill.py). Each path switches by
size, so the tests shrink the thresholds to reach every switch with small data, and run the
loops split across threads so that per-thread tables in every mode get merged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
from daybreak.backends.llvm import LLVMBackend, dict_dense, dict_spill
from daybreak.ir.parser import parse
from daybreak.ir.types import Scalar

from .test_llvm_dicts import _normal

GROUP = """|k: vec[{K}], v: vec[i64]|
  let d = result(for(zip(k, v), dictmerger[{K},{V},{OP}], |b, i, x| merge(b, {{x.$0, {VALUE}}})));
  {{tovec(d), len(d), keyexists(d, lookup(k, 0L))}}"""

INT_KEYS = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"]


@pytest.fixture(params=["one thread", "split"])
def backend(request, monkeypatch):
    """A backend of its own (nothing compiled with the small thresholds is shared), with the
    thresholds small: ranges past 256 slots must be half full, tables past 1 KB spill, and
    partitions hold 3 entries a chunk."""
    monkeypatch.setattr(dict_dense, "DENSE_SLOTS", 256)
    monkeypatch.setattr(dict_dense, "DENSE_FILL", 2)
    monkeypatch.setattr(dict_spill, "SPILL_BYTES", 1024)
    monkeypatch.setattr(dict_spill, "CHUNK", 3)
    threads = 1 if request.param == "one thread" else 3
    before = db.config(threads=threads, grain=1)
    yield LLVMBackend()
    db.config(**before)


def run_both(backend, text, *args):
    want = db.compile(text, backend="interp")(*args)
    got = backend.compile(parse(text))(*args)
    assert _normal(got) == _normal(want)
    return got


def _column(kind: str, values) -> np.ndarray:
    info = np.iinfo(Scalar(kind).dtype)
    return np.array([min(max(int(x), info.min), info.max) for x in values], Scalar(kind).dtype)


@pytest.mark.parametrize("kind", INT_KEYS)
@pytest.mark.parametrize("op", ["+", "min", "max"])
def test_a_range_that_widens_both_ways_then_goes_sparse(backend, kind, op):
    info = np.iinfo(Scalar(kind).dtype)
    # In range, above it, below it (negative where the type has negatives), far away (the
    # table turns hashed), then the type's extremes, with repeats throughout.
    keys = [3, 4, 3, 40, 2, -20, 41, 3, 1000, 3, 70_000, info.min, info.max, info.min, 4, -20]
    values = np.arange(len(keys), dtype=np.int64) * 5 - 30
    run_both(
        backend, GROUP.format(K=kind, V="i64", OP=op, VALUE="x.$1"), _column(kind, keys), values
    )


def test_dense_struct_values_and_every_op(backend):
    keys = np.array([5, 9, 5, 6, 9, 5, -1, 200, 5], np.int32)
    values = np.array([1, -2, 3, 4, -5, 6, 7, -8, 9], np.int64)
    for op in ("+", "*", "min", "max"):
        run_both(
            backend,
            GROUP.format(K="i32", V="{i64,f64}", OP=op, VALUE="{x.$1, f64(x.$1)}"),
            keys,
            values,
        )


def test_many_keys_spill_and_flush(backend):
    """Sparse keys: hashed from the start, past the (small) spill size at once, with many
    partitions of several chunks; repeats of each key spread over the whole input."""
    rng = np.random.default_rng(11)
    distinct = rng.integers(-(2**62), 2**62, 700)
    keys = rng.choice(distinct, 3000)
    values = rng.integers(-1000, 1000, 3000)
    for op in ("+", "min", "max"):
        run_both(backend, GROUP.format(K="i64", V="i64", OP=op, VALUE="x.$1"), keys, values)


def test_string_keys_spill(backend):
    words = [b"k%d" % (i * 7919 % 500) for i in range(2500)]
    text = """|w: vec[vec[i8]]|
      let d = result(for(w, dictmerger[vec[i8],i64,+], |b, i, x| merge(b, {x, i})));
      {tovec(d), len(d)}"""
    run_both(backend, text, words)


_KEYS = st.one_of(
    st.lists(st.integers(-40, 40), max_size=200),  # dense
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200),  # sparse
    st.lists(st.sampled_from([0, 1, -1, 2**31, -(2**63), 2**63 - 1, 12345]), max_size=200),
    st.lists(st.integers(0, 3000), min_size=100, max_size=400),  # widens, then maybe sparse
)


@pytest.mark.parametrize("kind", ["i16", "u32", "i64", "u64"])
def test_random_keys(backend, kind):
    @settings(max_examples=30, deadline=None)
    @given(keys=_KEYS, op=st.sampled_from(["+", "min", "max"]))
    def check(keys, op):
        column = _column(kind, keys) if keys else np.zeros(0, Scalar(kind).dtype)
        values = np.arange(len(column), dtype=np.int64) * 3 - 100
        text = GROUP.format(K=kind, V="i64", OP=op, VALUE="x.$1")
        if len(column) == 0:  # keyexists(d, lookup(k, 0L)) needs an element
            text = text.replace("keyexists(d, lookup(k, 0L))", "len(d) == 0L")
        run_both(backend, text, column, values)

    check()


def test_default_thresholds_on_a_big_group_by():
    """The real thresholds: 200,000 rows into 60,000 sparse keys (hashed, spilled) and into
    60,000 dense keys, checked against NumPy."""
    rng = np.random.default_rng(12)
    text = """|k: vec[i64], v: vec[f64]|
      tovec(result(for(zip(k, v), dictmerger[i64,f64,+], |b, i, x| merge(b, x))))"""
    f = db.compile(text, backend="llvm")
    for keys in (rng.integers(0, 60_000, 200_000), rng.integers(0, 60_000, 200_000) * 10**12):
        values = rng.integers(0, 100, len(keys)).astype(np.float64)  # exact sums
        got = f(keys, values)
        unique, inverse = np.unique(keys, return_inverse=True)
        np.testing.assert_array_equal(got["f0"], unique)
        np.testing.assert_array_equal(got["f1"], np.bincount(inverse, weights=values))


PROBE = """|k: vec[{K}], v: vec[i64], p: vec[{K}]|
  let d = result(for(zip(k, v), dictmerger[{K},i64,+], |b, i, x| merge(b, x)));
  result(for(p, appender[{{bool, i64}}], |b, i, x|
    merge(b, {{keyexists(d, x), optlookup(d, x).$1}})))"""


@pytest.mark.parametrize("kind", ["i8", "u16", "i64", "u64"])
def test_reads_of_dense_and_hashed_dicts(backend, kind):
    """keyexists and optlookup of keys present, missing inside the range, below and above it,
    on dicts that stay dense (small range) and that went hashed (a far key)."""
    for keys in ([5, 9, 5, 7, 20, 9], [5, 9, 5, 7, 20, 9, 10**15]):
        probes = [5, 6, 7, 8, 9, 19, 20, 21, 0, 4, -3, 10**15, 10**15 + 1]
        values = np.arange(len(keys), dtype=np.int64) + 1
        run_both(backend, PROBE.format(K=kind), _column(kind, keys), values, _column(kind, probes))
