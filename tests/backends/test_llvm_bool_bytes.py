"""Bool inputs whose bytes are not 0/1 (NumPy views, `frombuffer`, ctypes, Arrow buffers): any
nonzero byte is true, on the llvm backend as in the interpreter and in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import daybreak as db

# bytes 0, 1 and others: the bools are [T, F, T, T, F, T]
RAW = np.array([1, 0, 2, 255, 0, 128], dtype=np.uint8)


def _dirty_bools() -> np.ndarray:
    return RAW.view(np.bool_)


def _both(text: str, *args):
    """(llvm's answer, the interpreter's answer); llvm must compile it (strict: no fallback)."""
    before = db.config(strict=True)
    try:
        native = db.compile(text, backend="llvm")
    finally:
        db.config(**before)
    return native(*args), db.compile(text, backend="interp")(*args)


def _same(got, want) -> bool:
    if isinstance(want, np.ndarray):
        # bools byte for byte: a result must not carry the input's other bytes on
        return (
            isinstance(got, np.ndarray)
            and got.dtype == want.dtype
            and np.array_equal(_bytes_of(got), _bytes_of(want))
        )
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return set(got) == set(want) and all(_same(got[k], want[k]) for k in want)
    return got == want


def _bytes_of(array: np.ndarray) -> np.ndarray:
    return array.view(np.uint8) if array.dtype == np.bool_ else array


# program, what NumPy says for the dirty bools `x`
VECTOR_PROGRAMS = {
    "count": (
        "|x: vec[bool]| result(for(x, merger[i64,+], |b, i, e| merge(b, i64(e))))",
        lambda x: np.int64(np.count_nonzero(x)),
    ),
    "not": (
        "|x: vec[bool]| result(for(x, appender[bool], |b, i, e| merge(b, !e)))",
        lambda x: ~x,
    ),
    "widen": (
        "|x: vec[bool]| result(for(x, appender[i64], |b, i, e| merge(b, i64(e))))",
        lambda x: x.astype(np.int64),
    ),
    "copy": (
        "|x: vec[bool]| result(for(x, appender[bool], |b, i, e| merge(b, e)))",
        lambda x: x.view(np.uint8) != 0,
    ),
    "equal to true": (
        "|x: vec[bool]| result(for(x, appender[bool], |b, i, e| merge(b, e == true)))",
        lambda x: x == np.True_,
    ),
    "and": (
        "|x: vec[bool], y: vec[bool]| result(for(zip(x, y), appender[bool],"
        " |b, i, e| merge(b, e.$0 && e.$1)))",
        lambda x: x & x[::-1],
    ),
    "any (max)": (
        "|x: vec[bool]| result(for(x, merger[i64,max], |b, i, e| merge(b, i64(e))))",
        lambda x: np.int64(x.astype(np.int64).max()),
    ),
    "lookup": (
        "|x: vec[bool]| {select(lookup(x, 2L), 10L, 20L), i64(lookup(x, 3L))}",
        lambda x: (np.int64(10 if x[2] else 20), np.int64(x[3])),
    ),
}


@pytest.mark.parametrize("name", list(VECTOR_PROGRAMS))
def test_vec_bool_nonzero_bytes_are_true(name):
    text, numpy_answer = VECTOR_PROGRAMS[name]
    x = _dirty_bools()
    args = (x, x[::-1].copy()) if text.count("vec[bool]") > 1 else (x,)
    native, interp = _both(text, *args)
    assert _same(interp, numpy_answer(x))
    assert _same(native, interp)
    assert np.array_equal(RAW, [1, 0, 2, 255, 0, 128])  # the input is not written


def test_frombuffer_and_arrow_style_buffers():
    text, numpy_answer = VECTOR_PROGRAMS["widen"]
    from_bytes = np.frombuffer(bytes([3, 0, 7, 1]), dtype=np.bool_)
    native, interp = _both(text, from_bytes)
    assert _same(interp, numpy_answer(from_bytes))
    assert _same(native, interp)


def test_nested_vectors_of_bools():
    text = (
        "|x: vec[vec[bool]]| result(for(x, appender[i64], |b, i, row|"
        " merge(b, result(for(row, merger[i64,+], |c, j, e| merge(c, i64(e)))))))"
    )
    rows = [_dirty_bools(), RAW[::-1].copy().view(np.bool_), np.zeros(3, np.bool_)]
    native, interp = _both(text, rows)
    assert _same(interp, np.array([4, 4, 0], np.int64))
    assert _same(native, interp)
    matrix = np.stack([_dirty_bools(), _dirty_bools()])  # rows of a 2-D array
    native, interp = _both(text, matrix)
    assert _same(native, interp) and list(native) == [4, 4]


def test_struct_fields_of_bool():
    text = (
        "|x: vec[{bool, f64}]| result(for(x, merger[f64,+], |b, i, e|"
        " merge(b, select(e.$0, e.$1, 0.0) * f64(i64(e.$0)))))"
    )
    records = np.zeros(len(RAW), dtype=[("flag", np.bool_), ("value", np.float64)])
    records["flag"] = _dirty_bools()
    records["value"] = np.arange(1.0, len(RAW) + 1)
    native, interp = _both(text, records)
    want = records["value"][records["flag"]].sum()
    assert interp == want == 1 + 3 + 4 + 6
    assert native == interp
    assert np.array_equal(records["flag"].view(np.uint8), RAW)  # the input is not written


def test_struct_fields_of_bool_negated():
    text = "|x: vec[{bool, i32}]| result(for(x, appender[bool], |b, i, e| merge(b, !e.$0)))"
    records = np.zeros(len(RAW), dtype=[("flag", np.bool_), ("n", np.int32)])
    records["flag"] = _dirty_bools()
    native, interp = _both(text, records)
    assert _same(interp, ~_dirty_bools())
    assert _same(native, interp)


def test_dict_keys_and_values_of_bool():
    text = (
        "|k: vec[bool], v: vec[bool]| tovec(result(for(zip(k, v), dictmerger[bool,i64,+],"
        " |b, i, e| merge(b, {e.$0, select(e.$1, 1L, 100L)}))))"
    )
    keys, values = _dirty_bools(), _dirty_bools()[::-1].copy()
    native, interp = _both(text, keys, values)
    as_dict = lambda pairs: {bool(k): int(v) for k, v in pairs}  # noqa: E731
    want: dict[bool, int] = {}
    for k, v in zip(keys, values, strict=True):
        want[bool(k)] = want.get(bool(k), 0) + (1 if v else 100)
    assert as_dict(interp) == want
    assert as_dict(native) == want


def test_dict_argument_with_bool_keys_and_values():
    text = (
        "|d: dict[bool, bool], x: vec[bool]| result(for(x, merger[i64,+], |b, i, e|"
        " merge(b, select(lookup(d, e), 1L, 0L))))"
    )
    table = {np.True_: np.False_, np.False_: np.True_}
    native, interp = _both(text, table, _dirty_bools())
    assert native == interp == 2  # the two false bytes map to true
