"""Property: for every built-in split type, split -> function -> merge equals the function, at
random sizes (empty and single-element included) and random piece boundaries."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daybreak.annotations import (
    ArraySplit,
    Concat,
    DataFrameSplit,
    Reduce,
    SizeSplit,
    Unknown,
    split_type,
)


def _boundaries(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    """Piece ranges covering [0, n) at the given cut points (at least one piece)."""
    points = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(itertools.pairwise(points)) or [(0, 0)]


def _through_pieces(split, value, fn, cuts):
    ranges = _boundaries(split.elements(value), cuts)
    return split.merge([fn(split.split(value, a, b)) for a, b in ranges])


sizes = st.integers(0, 40)
cuts = st.lists(st.integers(0, 50), max_size=6)


@settings(max_examples=60)
@given(n=sizes, cols=st.integers(1, 4), axis=st.sampled_from([0, 1, -1]), cuts=cuts)
def test_array_split_roundtrip(n, cols, axis, cuts):
    a = np.arange(n * cols, dtype=np.float64).reshape((n, cols) if axis == 0 else (cols, n))
    s = ArraySplit(axis)
    got = _through_pieces(s, a, lambda p: np.sqrt(p) * 2, cuts)
    np.testing.assert_array_equal(got, np.sqrt(a) * 2)


@settings(max_examples=60)
@given(n=sizes, cuts=cuts)
def test_dataframe_split_roundtrip(n, cuts):
    keys = pd.Series([f"k{i % 3}" for i in range(n)], dtype=str)
    df = pd.DataFrame({"x": np.arange(n, dtype=float), "k": keys})
    df.index = df.index * 10  # labels that are not positions survive
    fn = lambda d: d.assign(y=d.x * 2 + 1, s=d.k.str.upper())  # noqa: E731
    pd.testing.assert_frame_equal(_through_pieces(DataFrameSplit(), df, fn, cuts), fn(df))
    series = df.x
    pd.testing.assert_series_equal(
        _through_pieces(DataFrameSplit(), series, lambda s: s.abs() - 1, cuts), series.abs() - 1
    )


@settings(max_examples=60)
@given(n=sizes, cuts=cuts)
def test_size_split_roundtrip(n, cuts):
    assert _through_pieces(SizeSplit(), n, lambda k: k, cuts) == n


@settings(max_examples=60)
@given(values=st.lists(st.integers(-1000, 1000), max_size=40), cuts=cuts)
def test_reductions_merge_pieces(values, cuts):
    a = np.array(values, dtype=np.int64)
    ranges = _boundaries(len(a), cuts)
    pieces = [a[x:y] for x, y in ranges]
    assert Reduce("sum").merge([int(p.sum()) for p in pieces]) == int(a.sum())
    assert Reduce("prod").merge([len(p) + 1 for p in pieces]) == int(
        np.prod([len(p) + 1 for p in pieces])
    )
    nonempty = [p for p in pieces if p.size]
    if nonempty:
        assert Reduce("min").merge([int(p.min()) for p in nonempty]) == int(a.min())
        assert Reduce("max").merge([int(p.max()) for p in nonempty]) == int(a.max())
    np.testing.assert_array_equal(Concat().merge(pieces), a)


@settings(max_examples=60)
@given(values=st.lists(st.integers(-50, 50), max_size=40), cuts=cuts)
def test_unknown_sizes_concatenate(values, cuts):
    a = np.array(values, dtype=np.int64)
    keep = lambda p: p[p % 3 == 0]  # noqa: E731 - a filter: sizes depend on the data
    np.testing.assert_array_equal(_through_pieces(Unknown(), a, keep, cuts), keep(a))
    lst = list(values)
    assert _through_pieces(Unknown(), lst, lambda p: [v for v in p if v > 0], cuts) == [
        v for v in lst if v > 0
    ]


@settings(max_examples=40)
@given(text=st.text(max_size=30), cuts=cuts)
def test_user_defined_split_type(text, cuts):
    words = split_type(
        elements=len, split=lambda s, a, b: s[a:b], merge="".join, name="StringSplit"
    )
    assert _through_pieces(words, text, str.upper, cuts) == text.upper()
    assert repr(words) == "StringSplit"


def test_a_type_without_merge_says_so():
    t = split_type(elements=len, split=lambda v, a, b: v[a:b])
    with pytest.raises(TypeError, match="no merge function"):
        t.merge([[1]])


def test_array_split_checks_its_axis():
    with pytest.raises(ValueError, match="axis=2"):
        ArraySplit(2).elements(np.zeros((3, 3)))


def test_types_refuse_what_they_do_not_do():
    from daybreak.annotations import Broadcast

    with pytest.raises(TypeError, match="Broadcast does not merge"):
        Broadcast().merge([1, 2])
    with pytest.raises(TypeError, match="does not split"):
        Reduce("sum").split(np.zeros(3), 0, 1)
    with pytest.raises(TypeError, match="does not count"):
        Concat().elements(np.zeros(3))
