"""Strings (vec[vec[i8]]) cross into native code in Arrow layout, from every accepted form,
with the same results as the interpreter."""

import numpy as np
import pyarrow as pa
import pytest

import daybreak as db

PROG = (
    "|s: vec[vec[i8]]| {result(for(s, merger[i64,+], |b, i, x| merge(b, len(x)))),"
    " tovec(result(for(s, dictmerger[vec[i8],i64,+], |b, i, x| merge(b, {x, 1L})))),"
    " result(for(s, appender[i8], |b, i, x| if(len(x) > 0L, merge(b, lookup(x, 0L)), b)))}"
)
WORDS = ["apple", "", "pear", "apple", "fig", "pear", "apple", "z" * 300]


def forms(words):
    yield "list of str", list(words)
    yield "list of bytes", [w.encode() for w in words]
    yield "pyarrow string", pa.array(words)
    yield "pyarrow large_string", pa.array(words, pa.large_string())
    yield "pyarrow binary", pa.array([w.encode() for w in words], pa.binary())
    yield "pyarrow chunked", pa.chunked_array([words[:3], words[3:]])
    yield "pyarrow slice", pa.array(["x", *words, "y"]).slice(1, len(words))
    yield "numpy bytes", np.array([w.encode() for w in words], dtype="S")


@pytest.mark.parametrize("label,value", list(forms(WORDS)), ids=lambda x: str(x)[:20])
def test_string_forms_agree_with_interp(label, value):
    want = db.compile(PROG, backend="interp")([w.encode() for w in WORDS])
    got = db.compile(PROG, backend="llvm")(value)
    assert got[0] == want[0] == sum(len(w) for w in WORDS)
    assert [(bytes(np.asarray(k, np.int8).tobytes()), int(c)) for k, c in got[1]] == [
        (bytes(np.asarray(k, np.int8).tobytes()), int(c)) for k, c in want[1]
    ]
    np.testing.assert_array_equal(got[2], want[2])


def test_nulls_are_rejected_clearly():
    with pytest.raises((TypeError, ValueError)):
        db.compile(PROG, backend="llvm")(pa.array(["a", None]))


def test_a_million_strings():
    words = [f"w{i % 997}" for i in range(10**6)]
    total, groups, _ = db.compile(PROG, backend="llvm")(pa.array(words))
    assert total == sum(map(len, words))
    assert len(groups) == 997


def test_strings_come_out_as_an_arrow_binary_array():
    """Results of type vec[vec[i8]]: an Arrow binary array on both backends, bytes as they
    were (empty strings, bytes >= 0x80, strings made inside the program)."""
    words = [b"", b"a", bytes(range(256)), "é".encode(), b"zz" * 50]
    text = """|w: vec[vec[i8]]| result(for(w, appender[vec[i8]], |b, i, x|
        merge(merge(b, x), result(for(x, appender[i8], |c, j, y| merge(c, y + 1c))))))"""
    want = []
    for w in words:
        want += [w, bytes((c + 1) % 256 for c in w)]
    for backend in ("llvm", "interp"):
        out = db.compile(text, backend=backend)(words)
        assert isinstance(out, pa.Array) and out.type == pa.binary()
        assert out.to_pylist() == want
    empty = db.compile(text, backend="llvm")([])
    assert isinstance(empty, pa.Array) and len(empty) == 0
