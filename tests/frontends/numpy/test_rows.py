"""Loops over rows (`frontends/elements/rows.py`): stencils, rolls and slices with offsets become
a nest (rows outside, the last axis inside) whose inputs are contiguous `iter` slices, with no
`/` or `%` per element; values are NumPy's, bit for bit, on random shapes."""

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp
from daybreak.backends.llvm import LLVMBackend, jit
from daybreak.frontends import lazy
from daybreak.ir.printer import format as format_ir
from daybreak.ir.typecheck import typecheck

from .test_kernels import heat, jacobi, shallow_water_step


def _text(*values) -> str:
    program = lazy.build_program([v._lazy_node() for v in values])[0]
    return format_ir(db.optimize(program))


def _inner_bodies(text: str) -> list[str]:
    """The bodies of the loops nested inside the row loop (after its `|b0, i0, x0|`)."""
    return re.split(r"\|b\d+: [^|]*\|", text)[2:]


def _loops(text: str) -> int:
    return text.count("for(")


def test_roll_along_rows_is_a_slice_loop_and_one_edge_column_without_modulo():
    u = dnp.asarray(np.random.default_rng(0).random((40, 64)))
    text = _text(u - dnp.roll(u, 1, axis=1))
    assert "rangeiter(0L" in text and _loops(text) == 2  # rows, then the wide part of each
    assert "%" not in text and "/" not in text
    assert text.count("iter(p0,") == 2  # u and its rolled copy, in the wide part
    assert text.count("lookup(") == 2  # the wrapped column: straight-line, no loop


def test_edge_columns_share_no_loop_body():
    """A row cut into edge, inside, edge has ONE inner loop per row: the one-column edges
    are straight-line code (as loops, LLVM vectorised each into another body copy)."""
    rng = np.random.default_rng(5)
    state = tuple(dnp.asarray(rng.random((33, 70))) for _ in range(3))
    text = _text(*shallow_water_step(dnp, *state))
    row_loops = text.count("rangeiter(0L")
    assert row_loops >= 1 and _loops(text) == 2 * row_loops
    assert "%" not in text


def test_roll_along_columns_reads_another_row():
    u = dnp.asarray(np.random.default_rng(0).random((40, 64)))
    text = _text(u - dnp.roll(u, -1, axis=0))
    assert _loops(text) == 2  # one part per row: the wrapped row is chosen once per row
    assert "%" not in text and "lookup" not in text
    assert "select(" in text.split("for(")[1]  # the row index, outside the inner loop


def test_slices_with_offsets_are_slices():
    u = dnp.array(np.random.default_rng(0).random((30, 50)))
    text = _text(u[1:-1, 2:] - u[:-2, :-2] * 0.5)
    assert _loops(text) == 2 and "lookup" not in text and "%" not in text


def test_stencil_assignment_splits_edges_from_the_inside():
    u = dnp.array(np.random.default_rng(0).random((30, 40))) * 1.0  # pending: a lazy write
    u[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
    text = _text(u)
    assert _loops(text) == 2  # rows; the inside (the edge columns are straight-line)
    assert text.count("lookup(") == 2 and "%" not in text  # each edge column reads u once
    inside = _inner_bodies(text)
    assert len(inside) == 1 and "select(" in inside[0]  # only the inside tests the row


def test_short_rows_keep_the_flat_loop():
    u = dnp.asarray(np.random.default_rng(0).random((300, 4)))
    text = _text(u - dnp.roll(u, 1, axis=1))
    assert _loops(text) == 1


def test_the_row_loop_vectorises():
    u = dnp.asarray(np.random.default_rng(0).random((64, 64)))
    program = lazy.build_program([(dnp.roll(u, 1, axis=1) - dnp.roll(u, -1, axis=0))._lazy_node()])[
        0
    ]
    text, _ = LLVMBackend().lower(typecheck(db.optimize(program)))
    assert re.search(r"<(2|4|8|16) x double>", jit.optimized_ir(text))  # (the CPU's width)


def test_kernels_are_bit_identical_to_numpy():
    rng = np.random.default_rng(5)
    eta, u, v = (rng.uniform(-0.01, 0.01, (33, 70)) for _ in range(3))
    state_np, state_db = (eta, u, v), tuple(dnp.asarray(a) for a in (eta, u, v))
    for _ in range(3):
        state_np = shallow_water_step(np, *state_np)
        state_db = shallow_water_step(dnp, *state_db)
    for got, want in zip(db.evaluate(*state_db), state_np, strict=True):
        np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(jacobi(dnp, 40, 6)), jacobi(np, 40, 6))
    u0 = rng.random((37, 45))
    np.testing.assert_array_equal(np.asarray(heat(dnp, dnp.asarray(u0), 4)), heat(np, u0, 4))


shapes = (
    st.tuples(st.integers(1, 5), st.integers(16, 70))
    | st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(16, 40))
    | st.tuples(st.integers(16, 200))
)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_rolls_slices_and_regions_match_numpy(shape, data):
    a = np.random.default_rng(len(shape)).random(shape)
    shifts = [data.draw(st.integers(-2 * n, 2 * n)) for n in shape]
    lo = [data.draw(st.integers(0, min(3, n - 1))) for n in shape]
    hi = [data.draw(st.integers(lo_k + 1, n)) for lo_k, n in zip(lo, shape, strict=True)]
    region = tuple(slice(a_, b_) for a_, b_ in zip(lo, hi, strict=True))
    axis = data.draw(st.integers(0, len(shape) - 1))

    def kernel(m, x):
        y = m.roll(x, shifts[-1], axis=-1) * 2.0 - m.roll(x, shifts[axis], axis=axis)
        y = y + m.roll(x, tuple(shifts), axis=tuple(range(len(shape))))
        y[region] = x[region] * 3.0 + y[region]
        return y - m.roll(y, 1, axis=-1)

    want = kernel(np, a)
    got = kernel(dnp, dnp.asarray(a))
    np.testing.assert_array_equal(np.asarray(got), want)
