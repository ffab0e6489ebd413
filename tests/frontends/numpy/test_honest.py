"""The frontend tests bite: with daybreak's own path broken, representative checks of the
differential, indexing, shape and kernel tests FAIL instead of quietly comparing NumPy with
NumPy.

Mutations: every ufunc falls back (the ufunc table finds nothing), which strict mode turns
into `UnsupportedError`; and every result is NumPy's eager answer (no fallback counted, no
program run), which `assert_same`'s check of native runs turns into an AssertionError. The
same checks pass unmutated, so it is the mutation that fails them."""

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends.numpy import ufuncs
from daybreak.ir.errors import UnsupportedError

from . import test_differential as differential
from . import test_indexing as indexing
from . import test_kernels as kernels
from . import test_shapes as shapes
from .helpers import allowed_fallbacks, assert_same

A = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
B = np.arange(4.0) - 1.5
I8 = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)


def _inner(test):
    """The body of a hypothesis test, to call with chosen examples (no markers, no search)."""
    return test.hypothesis.inner_test


CHECKS = {
    "binary add": lambda: _inner(differential.test_binary_ufuncs)(pair=(A, B), name="add"),
    "binary less, ints": lambda: _inner(differential.test_binary_ufuncs)(
        pair=(I8, I8[0]), name="less"
    ),
    "operator with a scalar": lambda: _inner(differential.test_operators_with_python_scalars)(
        A, 2.5, "*", False
    ),
    "unary exp": lambda: _inner(differential.test_unary_ufuncs)(a=A, name="exp"),
    "where and astype": lambda: _inner(differential.test_where_and_astype)(
        (A, B), np.dtype(np.int32)
    ),
    "newaxis broadcasting": lambda: _inner(differential.test_newaxis_broadcasting)((3, 4)),
    "mask assignment": indexing.test_mask_assignment_stays_lazy_and_fuses,
    "in-place slice operator": indexing.test_in_place_operator_on_a_slice,
    "roll of an expression": lambda: assert_same(
        lambda m, x: m.roll(shapes.maybe_expression(m, x, "expression") * 2.0, 1, axis=1), A
    ),
    "mandelbrot": kernels.test_mandelbrot,
    "heat stencil": lambda: kernels.test_heat_equation_stencil(np.random.default_rng(7)),
}


@pytest.fixture
def no_ufuncs(monkeypatch):
    """Every ufunc misses the table, so every ufunc call falls back to NumPy (and no call
    finds what an earlier one decided: `apply_ufunc` remembers its plans)."""
    monkeypatch.setattr(ufuncs, "lookup", lambda ufunc: None)
    monkeypatch.setattr(ufuncs, "_PLANS", {})


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_checks_pass_as_they_are(name):
    CHECKS[name]()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_checks_fail_when_every_ufunc_falls_back(name, no_ufuncs):
    with pytest.raises(UnsupportedError):
        CHECKS[name]()


EAGER_CHECKS = [
    "binary add",
    "operator with a scalar",
    "unary exp",
    "where and astype",
    "newaxis broadcasting",
]


@pytest.mark.parametrize("name", EAGER_CHECKS)
def test_checks_fail_when_numpy_answers_without_a_fallback(name):
    """With every size "small", daybreak answers eagerly with NumPy: no fallback is counted,
    so only the check of native runs can tell."""
    db.config(eager_below=10**9)
    with pytest.raises(AssertionError, match="without running a compiled program"):
        CHECKS[name]()


def test_an_allow_list_admits_only_its_reasons(no_ufuncs):
    x = dnp.asarray(A)
    with allowed_fallbacks("numpy: ufunc add") as seen:
        assert_same(lambda m, v: m.add(v, 1.0), A)  # NumPy did it: excused, and counted
        assert db.config()["strict"] is False
    assert seen == {"numpy: ufunc add": 1}
    assert db.config()["strict"] is True  # strict again outside
    with pytest.raises(AssertionError, match="not in the allow-list"):
        with allowed_fallbacks("numpy: ufunc nextafter"):
            np.asarray(dnp.exp(x))
    with pytest.raises(AssertionError, match="not in the allow-list"):  # subtract is not
        with allowed_fallbacks(r"^numpy: ufunc add$"):
            np.asarray(dnp.add(x, 1.0) - x)
    with allowed_fallbacks("nextafter"), allowed_fallbacks(r"ufunc (add|subtract)$") as inner:
        np.asarray(dnp.add(x, 1.0) - x)  # the innermost scope judges what happens in it
    assert inner == {"numpy: ufunc add": 1, "numpy: ufunc subtract": 1}
    with pytest.raises(UnsupportedError):
        dnp.add(x, 1.0)


def test_strict_is_the_default_here():
    assert db.config()["strict"] is True
    with pytest.raises(UnsupportedError):
        dnp.nextafter(dnp.asarray(B), 0.0)  # a gap, not in any allow-list


@pytest.mark.allow_fallbacks("numpy: ufunc nextafter")
def test_the_marker_allows_its_reasons():
    assert db.config()["strict"] is False
    np.testing.assert_array_equal(dnp.nextafter(dnp.asarray(B), 0.0), np.nextafter(B, 0.0))
