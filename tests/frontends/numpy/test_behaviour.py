"""Materialisation, errors, fallbacks, fusion and the compile cache of daybreak.numpy."""

import math

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler
from daybreak.ir.errors import UnsupportedError
from daybreak.optimizer.explain import data_passes


def test_shape_dtype_len_known_without_computing():
    before = db.stats()["runs"]
    x = dnp.asarray(np.zeros((3, 4), np.int16))
    y = (x + 1.5)[:, None]
    assert (y.shape, y.ndim, y.size, y.dtype, len(y)) == ((3, 1, 4), 3, 12, np.float64, 3)
    assert db.stats()["runs"] == before


def test_materialisation_protocols():
    x = dnp.asarray(np.array([1.5, -2.0, 3.0]))
    y = x * 2
    assert repr(y) == repr(np.array([3.0, -4.0, 6.0]))
    assert str(y) == str(np.array([3.0, -4.0, 6.0]))
    assert y.tolist() == [3.0, -4.0, 6.0]
    assert list(y) == [3.0, -4.0, 6.0]
    assert float(y.sum()) == 5.0 and int(y.max()) == 6 and bool(y.min() < 0)
    assert isinstance(np.asarray(y), np.ndarray) and np.asarray(y).dtype == np.float64
    assert [10, 11, 12, 13][dnp.asarray(np.array([1, 5, 3])).argmax()] == 11  # __index__
    mask = np.asarray(x > 0)
    assert mask.dtype == np.bool_ and mask.tolist() == [True, False, True]
    with pytest.raises(ValueError):
        bool(x > 0)
    with pytest.raises(TypeError):
        len(x.sum())


def test_isinstance_and_numpy_delegation():
    assert isinstance(dnp.asarray(np.arange(3.0)), dnp.ndarray)
    assert isinstance(np.arange(3), dnp.ndarray)
    assert dnp.pi == np.pi and dnp.float64 is np.float64 and dnp.newaxis is None
    assert dnp.random.default_rng is not None
    dnp.random.seed(0)
    assert dnp.random.rand(5).shape == (5,)


def test_eager_path_for_small_computed_inputs():
    db.config(eager_below=100)
    x = dnp.asarray(np.arange(10.0))
    assert type(x) is np.ndarray  # small: NumPy's own array
    y = dnp.exp(x)
    assert type(y) is np.ndarray
    np.testing.assert_array_equal(y, np.exp(np.arange(10.0)))


def test_error_parity_at_the_call():
    x = dnp.asarray(np.ones(3))
    with pytest.raises(ValueError, match="could not be broadcast"):
        x + dnp.asarray(np.ones(4))
    with pytest.raises(TypeError):
        dnp.asarray(np.ones(3, bool)) - dnp.asarray(np.ones(3, bool))
    with pytest.raises(OverflowError):
        dnp.asarray(np.ones(3, np.int8)) + 1000
    with pytest.raises(np.exceptions.AxisError):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="zero-size"):
        dnp.asarray(np.ones(0)).min()
    with pytest.raises(ValueError, match="negative integer powers"):
        dnp.asarray(np.arange(3)) ** -1
    i = dnp.asarray(np.arange(3))
    with pytest.raises(np._core._exceptions._UFuncOutputCastingError):
        i += 1.5


def test_in_place_rebinds_aliases():
    x = dnp.asarray(np.arange(4.0))
    alias = x
    x += 1
    x *= 2
    assert alias is x
    assert alias.tolist() == [2.0, 4.0, 6.0, 8.0]
    y = dnp.zeros(4)
    dnp.add(x, 1, out=y)
    assert y.tolist() == [3.0, 5.0, 7.0, 9.0]


@pytest.mark.allow_fallbacks("numpy: ufunc nextafter")  # on purpose: not in the IR
def test_fallback_is_counted_and_strict_raises():
    db.stats(reset=True)
    x = dnp.asarray(np.array([3.0, 4.0]))
    h = dnp.nextafter(x, 0.0)  # not in the IR
    np.testing.assert_array_equal(h, np.nextafter([3.0, 4.0], 0.0))
    assert any("nextafter" in reason for reason in db.stats()["fallbacks"])
    db.config(strict=True)
    with pytest.raises(UnsupportedError):
        dnp.nextafter(x, 0.0)
    with pytest.raises(UnsupportedError):
        np.median(x)  # a NumPy function daybreak does not know


def test_numpy_and_scipy_calls_stay_lazy():
    special = pytest.importorskip("scipy.special")
    x = dnp.linspace(-2, 2, 7)  # (a reduction of the user's memory is NumPy's, at once)
    for value in (np.exp(x), special.erf(x), np.sum(x), np.where(x > 0, x, 0.0), np.mean(x)):
        assert type(value) is dnp.ndarray
    np.testing.assert_allclose(special.erf(x), special.erf(np.linspace(-2, 2, 7)), rtol=1e-12)


def _loops(text: str) -> int:
    after = text.split("== after (")[1]
    return int(after.split(" pass")[0])


def test_five_chained_calls_and_a_sum_are_one_loop():
    x = dnp.asarray(np.random.default_rng(1).random(1000))
    y = dnp.sqrt(dnp.exp(x) * 2.0 + 1.0) - x
    y = dnp.maximum(y, 0.5)
    assert _loops(db.explain(y.sum())) == 1
    assert _loops(db.explain(y)) == 1  # and it allocates only the result
    r = np.random.default_rng(1).random(1000)
    np.testing.assert_allclose(
        float(y.sum()), np.maximum(np.sqrt(np.exp(r) * 2 + 1) - r, 0.5).sum()
    )


def test_evaluate_shares_one_program(monkeypatch):
    programs = []

    def counting_compile(program):
        programs.append(program)
        return db.compile(program)

    monkeypatch.setattr(scheduler, "_compiler", counting_compile)
    x = dnp.array(np.arange(1000.0))
    y = dnp.exp(x / 1000.0)
    total, big, doubled = db.evaluate(y.sum(), y.max(), y * 2)
    assert len(programs) == 1
    assert data_passes(db.optimize(programs[0])) == 1  # horizontally fused
    assert len(programs[0].params) == 3  # x (once, though read by three roots), 1000.0, 2
    ref = np.exp(np.arange(1000.0) / 1000.0)
    np.testing.assert_allclose(total, ref.sum())
    np.testing.assert_allclose(big, ref.max(), rtol=1e-15)
    np.testing.assert_allclose(doubled, ref * 2, rtol=1e-15)
    program = y.sum()
    assert "1 pass over the data" in db.explain(program)


def test_programs_do_not_depend_on_sizes():
    def kernel(n):
        v = dnp.asarray(np.arange(float(n)))
        m = dnp.asarray(np.ones((n, 3)))
        return float(((v[:, None] * m + 1.0).sum(axis=1) ** 2).mean())

    kernel(50)
    db.stats(reset=True)
    assert kernel(77) == pytest.approx(np.mean((3 * (np.arange(77.0) + 1)) ** 2))
    assert db.stats()["compiles"] == 0 and db.stats()["cache_misses"] == 0


def test_creation_matches_numpy():
    for make in (
        lambda m: m.zeros((3, 2), dtype=np.int32),
        lambda m: m.ones(5),
        lambda m: m.full((2, 3), 2.5, dtype=np.float32),
        lambda m: m.arange(7),
        lambda m: m.arange(1.0, 2.0, 0.1),
        lambda m: m.arange(10, 0, -3),
        lambda m: m.linspace(0.0, 1.0, 11),
        lambda m: m.linspace(-3, 7, 10, False),
        lambda m: m.zeros_like(np.ones((2, 2), np.uint8)),
        lambda m: m.full_like(np.ones(3), 7, dtype=np.int64),
        lambda m: m.array([[1, 2], [3, 4]], dtype=np.int16),
    ):
        got, want = np.asarray(make(dnp)), make(np)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "make",
    [lambda m, like: m.empty(like.shape), lambda m, like: m.empty_like(like)],
    ids=["empty", "empty_like"],
)
def test_empty_filled_row_by_row_is_never_written_first(make, monkeypatch):
    """`p = np.empty_like(x)` written row by row (level_loop's, row_normalize's): the
    library makes the buffer without writing it (NumPy's `empty`; zeros were a pass over
    the whole buffer before the first row), and every row holds what was written."""
    from daybreak.frontends.elements import eager

    from .helpers import defaults_outside_tests

    x = np.random.default_rng(2).random((300, 400))
    with defaults_outside_tests():  # (the library computes `p`; strict mode compiles it)
        _fill_row_by_row(make, x, monkeypatch, eager)


def _fill_row_by_row(make, x, monkeypatch, eager) -> None:
    p = make(dnp, x)
    made = []
    real_fresh = eager.fresh_array
    monkeypatch.setattr(eager, "fresh_array", lambda *a: made.append(a) or real_fresh(*a))
    want = make(np, x)
    for k in range(x.shape[0]):
        p[k] = x[k] * 2.0 + k
        want[k] = x[k] * 2.0 + k
    np.testing.assert_array_equal(np.asarray(p), want)
    assert made == []  # (the first row's write computed `p`: no fill was written)


def test_size_of_results():
    x = dnp.asarray(np.ones((2, 3, 4)))
    assert x.sum(axis=(0, 2)).shape == (3,)
    assert x.mean(axis=-1, keepdims=True).shape == (2, 3, 1)
    assert math.isclose(float(x.std()), 0.0)
