"""Issue #9's gaps: what daybreak does not compile must give NumPy's answer (or NumPy's error)
through a counted fallback, and be an UnsupportedError under `strict=True` -- never an
internal error. What it compiles must not count a fallback.

Each case is a function of the module (`numpy` or `daybreak.numpy`), run with both; the
results are compared (values, dtype, shape, type), or the exceptions' types.
"""

import operator

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends.elements.dtypes import why_unsupported
from daybreak.frontends.elements.expr import Apply, Leaf
from daybreak.frontends.elements.rows import moving
from daybreak.ir.errors import UnsupportedError

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix

X = np.arange(12.0).reshape(3, 4)
XI = np.arange(12).reshape(3, 4)
Z = np.arange(6) * (1 + 2j)
MASKED = np.ma.masked_array(X, mask=X > 6)


@pytest.fixture(autouse=True)
def fallbacks_counted():
    """Fallbacks are counted here, not errors (each case turns strict=True on to check that it
    is an UnsupportedError then)."""
    before = db.config(strict=False)
    yield
    db.config(**before)


def fresh(m, a):
    """A copy of `a` as module `m` holds it (a lazy array for daybreak)."""
    return dnp.asarray(a.copy()) if m is dnp else a.copy()


def plain(value):
    """Results as NumPy objects: lazy arrays computed, tuples and lists item by item."""
    if isinstance(value, tuple | list):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dnp.ndarray) and not isinstance(value, np.ndarray):
        return value.value()
    return value


def assert_same(got, want):
    got = plain(got)
    if isinstance(want, tuple | list):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)
        return
    if isinstance(want, np.ndarray | np.generic):
        assert type(got) is type(want), (type(got), type(want))
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        if isinstance(want, np.ma.MaskedArray):
            np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want))
            got, want = got.filled(0), want.filled(0)
        if want.dtype.kind in "fc":
            np.testing.assert_array_equal(got, want)  # NaN equal to NaN
        else:
            assert np.asarray(got).tolist() == np.asarray(want).tolist()
        return
    assert type(got) is type(want) and got == want, (got, want)


def fallbacks() -> dict:
    return dict(db.stats()["fallbacks"])


def new_reasons(before: dict) -> list[str]:
    after = fallbacks()
    return [r for r, n in after.items() if n > before.get(r, 0)]


def check(case, reason=None, compiled_ok=False):
    """`case(dnp)` is `case(np)` (result, or exception type); with `reason`, a fallback whose
    reason contains it was counted, and under strict=True the call is an UnsupportedError;
    without, no fallback was counted. `compiled_ok`: no fallback at all is right too (a path
    daybreak may compile)."""
    try:
        want, wanted_error = case(np), None
    except Exception as error:  # noqa: BLE001 - NumPy's error is the reference
        want, wanted_error = None, error
    before = fallbacks()
    if wanted_error is not None:
        with pytest.raises(type(wanted_error)) as raised:
            case(dnp)
        assert type(raised.value) is type(wanted_error)
    else:
        assert_same(case(dnp), want)
    found = new_reasons(before)
    if reason is None or compiled_ok and found == []:
        assert found == [], found
        return
    assert any(reason in r for r in found), (reason, found)
    db.config(strict=True)
    try:
        with pytest.raises(UnsupportedError):
            case(dnp)
    finally:
        db.config(strict=False)


def in_place(f, a=X):
    """A case that changes its array: the call's result and the array after it."""

    def case(m):
        x = fresh(m, a)
        return f(m, x), x

    return case


# --- 1. the ndarray constructor -------------------------------------------------------------
def test_ndarray_constructor_is_numpys():
    for args, kwargs in [(((3,),), {"dtype": float}), (((3, 2),), {"dtype": "i4"})]:
        made = dnp.ndarray(*args, **kwargs)
        want = np.ndarray(*args, **kwargs)
        assert (made.shape, made.dtype) == (want.shape, want.dtype)
        assert isinstance(made, dnp.ndarray) and isinstance(made, np.ndarray | dnp.ndarray)
    check(lambda m: m.ndarray((3,), dtype=np.int64, buffer=np.arange(3)))
    check(lambda m: m.ndarray((2, 2), dtype=float, buffer=np.arange(4.0), order="F"))
    check(lambda m: m.ndarray((2,), dtype=float, buffer=np.arange(4.0), strides=(16,)))
    check(lambda m: m.ndarray((2,), dtype=complex, buffer=np.array([1j, 2])), "complex")
    check(lambda m: m.ndarray((2,), dtype=float, buffer=np.arange(1.0)))  # NumPy's TypeError


# --- 2. ufuncs with outputs given by position -----------------------------------------------
def test_positional_out_lazy_is_compiled_in_place():
    check(in_place(lambda m, i: m.logical_not(i, i), X > 4))
    check(in_place(lambda m, x: m.negative(x, x)))
    check(in_place(lambda m, x: m.add(x, 2.5, x)))
    check(in_place(lambda m, c: m.add(fresh(m, X), fresh(m, X), c)))
    x = dnp.asarray(X.copy())
    assert dnp.negative(x, x) is x and np.negative(x, x) is x
    check(in_place(lambda m, o: m.divmod(fresh(m, X), 3, o, fresh(m, X))), "2 outputs")


def test_positional_out_numpy_is_written_and_returned():
    def case(m):
        out = np.zeros((3, 4))
        result = m.add(fresh(m, X), 2, out)
        return result is out, out

    check(case, "out= a NumPy array", compiled_ok=True)
    check(
        lambda m: (lambda o: (m.negative(fresh(m, X), o) is o, o))(np.zeros((3, 4))),
        "out= a NumPy array",
        compiled_ok=True,
    )
    check(
        lambda m: (lambda o: (m.add(fresh(m, X), 1j, o) is o, o))(np.zeros((3, 4))),
        "out= a NumPy array",
        compiled_ok=True,
    )  # NumPy's casting error
    check(
        lambda m: (lambda o: (m.add(fresh(m, X)[0], 1, o) is o, o))(np.zeros((3, 4))),
        "out= a NumPy array",
        compiled_ok=True,
    )  # broadcast into out
    check(lambda m: m.add(fresh(m, X), 1, np.zeros((3, 4)), out=np.zeros((3, 4))))  # TypeError
    check(lambda m: m.add(fresh(m, X), 1, np.zeros((3, 4)), np.zeros((3, 4))))  # TypeError


def test_ufunc_keywords_fall_back_and_keep_out():
    # where= leaves the lazy out's other elements as they were
    check(in_place(lambda m, o: m.add(fresh(m, X), 100, out=o, where=fresh(m, X) > 4)), "where")
    check(lambda m: m.add(fresh(m, X), 1, dtype=np.float32), "dtype")
    check(lambda m: m.add(fresh(m, X), 1, dtype=complex), "dtype")
    check(lambda m: m.add(fresh(m, XI), 1.5, casting="no"), "casting")  # NumPy's error
    check(lambda m: m.add(fresh(m, XI), 1.5, casting="unsafe", dtype=int), "casting")
    check(lambda m: m.add(fresh(m, X), 1, order="F"), "order")
    check(in_place(lambda m, o: m.add(fresh(m, X), 1.5, out=o), XI))  # NumPy's casting error
    check(in_place(lambda m, o: m.add(fresh(m, X), 1.5, out=o, casting="unsafe"), XI), "casting")
    check(in_place(lambda m, o: m.sum(fresh(m, X), axis=0, out=o), X[0]), "out=")
    check(in_place(lambda m, o: m.cumsum(fresh(m, X), axis=1, out=o)), "cumsum")


# --- 3. complex numbers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    [
        lambda m: m.array([1 + 2j, 3 - 1j]),
        lambda m: m.asarray(Z.astype(np.complex64)),
        lambda m: fresh(m, X) * 1j,
        lambda m: 1j * fresh(m, X),
        lambda m: m.exp(1j * fresh(m, X)),
        lambda m: m.abs(Z),
        lambda m: m.conj(Z),
        lambda m: m.transpose(m.reshape(Z, (2, 3))),
        lambda m: m.roll(Z, 1),
        lambda m: m.diff(Z),
        lambda m: m.broadcast_to(Z, (2, 6)),
        lambda m: m.concatenate([Z, m.arange(6)]),
        lambda m: m.where(fresh(m, X) > 3, fresh(m, X), 1j),
        lambda m: fresh(m, X).astype(complex),
        lambda m: fresh(m, X) + Z[0],
        lambda m: m.full(3, 1j),
        lambda m: m.linspace(0, 1j, 5),
        lambda m: m.zeros(4, dtype=complex),
        in_place(lambda m, x: x.__setitem__(x > 3, 2j)),
        in_place(lambda m, x: x.__iadd__(1j)),  # NumPy's casting error
    ],
)
def test_complex_falls_back_counted(case):
    check(case, "complex")


BIG_Z = np.arange(70_000) * (1 - 0.5j)  # (past `eager_below`: not a small call NumPy runs)
BIG_F16 = np.arange(70_000, dtype=np.float16)


@pytest.mark.parametrize("big", [BIG_Z, BIG_F16], ids=["complex128", "float16"])
@pytest.mark.parametrize(
    "name, case",
    [
        ("reshape", lambda m, a: m.reshape(a, (2, 35_000))),
        ("transpose", lambda m, a: m.transpose(m.reshape(a, (350, 200)))),
        ("ravel", lambda m, a: m.ravel(a)),
        ("roll", lambda m, a: m.roll(a, 3)),
        ("diff", lambda m, a: m.diff(a)),
        ("expand_dims", lambda m, a: m.expand_dims(a, 0)),
        ("multiply", lambda m, a: m.multiply(a, a)),
        ("exp", lambda m, a: m.exp(a / 70_000)),
    ],
)
def test_big_arrays_of_other_dtypes_fall_back_once_each_with_the_reason(name, case, big):
    """A big NumPy array of a dtype the IR has not (complex, float16) in a function or ufunc
    call: NumPy's value, one fallback counted under the call's own name and the dtype's
    reason (the reason made once per dtype, not by raising for each call), and an
    UnsupportedError under strict=True."""
    reason = f"numpy: {name} on {why_unsupported(big.dtype)}"
    with np.errstate(over="ignore"):
        want = case(np, big)
        before = fallbacks()
        got = case(dnp, big)
    assert_same(got, want)
    counted = {r: n - before.get(r, 0) for r, n in fallbacks().items() if n > before.get(r, 0)}
    assert counted.get(reason) == 1, counted
    before = db.config(strict=True)  # (the fallback is what this file tests: see the fixture)
    try:
        with pytest.raises(UnsupportedError):
            case(dnp, big)
    finally:
        db.config(**before)


def test_real_arrays_real_imag_conj_are_compiled():
    check(lambda m: fresh(m, X).real)
    check(lambda m: fresh(m, X).imag)
    check(lambda m: fresh(m, X).conj())
    check(lambda m: m.conjugate(fresh(m, X)))
    check(in_place(lambda m, x: setattr(x, "real", 5)))
    check(in_place(lambda m, x: setattr(x, "imag", 5)))  # NumPy's TypeError


# --- 4. float16 and long double ---------------------------------------------------------------
@pytest.mark.parametrize(
    "case, dtype",
    [
        (lambda m: m.arange(100, dtype=np.float16), "float16"),
        (lambda m: m.arange(6.0, dtype=np.longdouble), "float128"),
        (lambda m: m.array([1, 2, 3], dtype=np.longdouble) * 2, "float128"),
        (lambda m: m.asarray(np.ones(8, np.float16)) + 1, "float16"),
        (lambda m: fresh(m, X).astype(np.float16), "float16"),
        (lambda m: fresh(m, X) * np.float16(2), "float16"),
        (lambda m: fresh(m, X) * np.longdouble(2), "float128"),
        (lambda m: m.zeros(3, dtype=np.float16), "float16"),
        (lambda m: m.concatenate([np.ones(3, np.float16), m.arange(3.0)]), "float16"),
        (lambda m: (fresh(m, X) > 3).sum(dtype=np.float16), "float16"),
    ],
)
def test_float16_and_longdouble_fall_back_counted(case, dtype):
    check(case, dtype)


# --- 5. comparisons and operators with strings, None, objects, mixed lists --------------------
ODD = [
    ("string", "x"),
    ("object", None),
    ("object", object()),
    ("object", [1, "a", None, 2.0]),
    ("string", np.array(["a"] * 4)),
    ("bytes", b"x"),
    ("datetime", np.datetime64("2020-01-01")),
]


@pytest.mark.parametrize("reason, other", ODD)
@pytest.mark.parametrize(
    "op", [operator.eq, operator.ne, operator.lt, operator.add, operator.mul, operator.truediv]
)
def test_operators_with_odd_operands(op, reason, other):
    check(lambda m: op(fresh(m, X), other), reason)
    check(lambda m: op(other, fresh(m, X)), reason)


def test_compare_with_string_is_numpys_answer():
    check(lambda m: m.arange(10000.0) == "x", "string")
    check(lambda m: m.arange(10000.0) != "x", "string")
    check(lambda m: m.equal(m.arange(10000.0), "x"), "string")  # NumPy's UFuncTypeError
    check(lambda m: "x" in fresh(m, X), "string")
    check(lambda m: 5.0 in fresh(m, X))
    check(lambda m: m.equal(fresh(m, X), None), "object")
    check(lambda m: m.where(fresh(m, X) > 5, None, 1), "object")
    check(in_place(lambda m, x: x.__setitem__(0, "a")), "string")  # NumPy's ValueError


# --- 6. long chains ---------------------------------------------------------------------------
def test_diff_of_high_order_is_numpys():
    a = np.sin(np.arange(40000.0))
    before = fallbacks()
    got = dnp.diff(dnp.asarray(a), n=30000)
    np.testing.assert_array_equal(np.asarray(got), np.diff(a, n=30000))
    assert new_reasons(before) == []


def test_deep_element_chains_are_walked_without_recursion():
    leaf = Leaf(None, (0, 1), 0, np.dtype(np.int64))
    e = leaf
    for _ in range(20000):
        e = Apply(lambda c, a: a, (e,), np.dtype(np.int64))
    assert moving(e, {}) is True


# --- 7. the rest of NumPy's API -----------------------------------------------------------------
DATES = np.array(["2020-01-01", "2021-01-01", "2022-03-01"], dtype="datetime64[D]")
STRINGS = np.array(["a", "bc", "d"])
OBJECTS = np.array([1, "a", None], dtype=object)
RECORDS = np.zeros(3, dtype=[("a", "i4"), ("b", "f8")])


@pytest.mark.parametrize(
    "case, reason",
    [
        (lambda m: m.asarray(DATES) - np.datetime64("2019-01-01"), "datetime"),
        (lambda m: m.diff(DATES), "datetime"),
        (lambda m: m.arange(6, dtype="datetime64[D]"), None),  # NumPy's ValueError
        (lambda m: fresh(m, XI).astype("datetime64[D]"), "datetime"),
        (lambda m: fresh(m, XI) + np.timedelta64(1, "D"), "timedelta"),
        (lambda m: m.roll(OBJECTS, 1), "object"),
        (lambda m: m.array([1, 2, None], dtype=object), "object"),
        (lambda m: m.zeros(3, dtype=object), "object"),
        (lambda m: m.zeros(3, dtype="U2"), "string"),
        (lambda m: m.ones_like(STRINGS), "string"),
        (lambda m: m.broadcast_to(STRINGS, (2, 3)), "string"),
        (lambda m: m.asarray(STRINGS) == "a", "string"),
        (lambda m: m.char.upper(m.asarray(STRINGS)), "string"),
        (lambda m: m.asarray(RECORDS)["b"], "structured"),
        (lambda m: m.zeros_like(RECORDS), "structured"),
        (lambda m: m.roll(RECORDS, 1), "structured"),
        (lambda m: m.arange(RECORDS.size) == RECORDS, "structured"),  # NumPy's TypeError
        (lambda m: m.exp(np.matrix(X)), "matrix"),
        (lambda m: m.reshape(np.matrix(X), (4, 3)), "matrix"),
        (lambda m: fresh(m, X) + np.matrix(X), "matrix"),
        (lambda m: m.exp(MASKED), "MaskedArray"),
        (lambda m: m.add(MASKED, fresh(m, X)), "MaskedArray"),
        (lambda m: fresh(m, X) + MASKED, "MaskedArray"),
        (lambda m: m.concatenate([MASKED, MASKED]), "MaskedArray"),
        (lambda m: m.where(MASKED > 3, MASKED, 0), "MaskedArray"),
        (lambda m: m.zeros_like(MASKED), "MaskedArray"),
        (lambda m: m.diff(MASKED), "MaskedArray"),
    ],
)
def test_other_dtypes_and_array_types(case, reason):
    check(case, reason)


@pytest.mark.parametrize(
    "case, reason",
    [
        (in_place(lambda m, x: x.fill(3)), None),
        (in_place(lambda m, x: x.fill(1j)), "complex"),
        (in_place(lambda m, x: x.sort()), "sort"),
        (in_place(lambda m, x: x[::-1].sort(axis=0)), "sort"),
        (in_place(lambda m, x: x.partition(1)), "partition"),
        (in_place(lambda m, x: x.resize((2, 2), refcheck=False)), "resize"),
        (in_place(lambda m, x: x.resize(20, refcheck=False)), "resize"),
        (in_place(lambda m, x: x.put([0, 5], [-1, -2])), "put"),
        (in_place(lambda m, x: x.setfield(7, np.int64)), "setfield"),
        (in_place(lambda m, x: x.byteswap(inplace=True)), "byteswap"),
        (in_place(lambda m, x: setattr(x, "shape", (4, 3))), None),
        (in_place(lambda m, x: setattr(x, "shape", (5,))), None),  # NumPy's ValueError
        (in_place(lambda m, x: x.flat.__setitem__(5, -1)), None),
        (in_place(lambda m, x: x.flat.__setitem__([1, 2, 3], [8, 9])), "flat"),
        (in_place(lambda m, x: m.copyto(x, 5.0, where=x > 4)), None),
        (in_place(lambda m, x: m.putmask(x, x > 5, -x)), "putmask"),
        (in_place(lambda m, x: m.fill_diagonal(x, 9)), None),
        (in_place(lambda m, x: m.put(x, [1, -2, 30], [7, 8])), None),  # NumPy's IndexError
        (in_place(lambda m, x: m.put(x, [1, -2, 3], [7, 8])), None),
        (in_place(lambda m, x: x.__delitem__(0)), None),  # NumPy's ValueError
        (lambda m: fresh(m, X).view(np.int64), "view"),
        (lambda m: fresh(m, X).view(np.matrix), "view"),
        (lambda m: fresh(m, X).astype(str), "string"),
        (lambda m: fresh(m, X).astype(object), "object"),
        (lambda m: fresh(m, XI % 2).choose([10, 20]), "choose"),
        (lambda m: fresh(m, X).compress([True, False, True], axis=0), "compress"),
        (lambda m: fresh(m, X).flat[5], None),
        (lambda m: fresh(m, X).flat[2:5], None),
        (lambda m: list(fresh(m, X).flat), None),
        (lambda m: fresh(m, X).mT, None),
        (lambda m: fresh(m, X)[0].mT, None),  # NumPy's ValueError
        (lambda m: fresh(m, X).strides, None),
        (lambda m: fresh(m, X).tobytes(), None),
        (lambda m: fresh(m, X).ravel("K"), None),
        (lambda m: m.ravel(np.asfortranarray(X), "A"), None),
        (lambda m: m.ravel(X[:, ::2].T, "K"), "memory order"),
        (lambda m: m.reshape(fresh(m, X), (4, 3), copy=True), None),
        (lambda m: m.where(fresh(m, X) > 5), "where with one argument"),
    ],
)
def test_methods_and_attributes(case, reason):
    check(case, reason)


def test_writes_never_reach_other_values_sharing_a_buffer():
    x = dnp.arange(6.0) * 1
    x.tolist()
    copy, view = x.copy(), x[1:]
    np.copyto(x, 5.0)
    assert x.tolist() == [5.0] * 6 and copy.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert view.tolist() == [5.0] * 5  # a view shows its base's writes, as in NumPy
    y = dnp.arange(6.0) * 1
    y.tolist()
    kept = y + 0
    y.put([0], [9])
    assert y.tolist()[0] == 9.0 and kept.tolist()[0] == 0.0


# Reductions and products of NumPy data (complex, float16, objects, matrices, masked arrays)
# are NumPy's own calls (`frontends.numpy.NUMPY_OWN` are NumPy's function objects): nothing of
# daybreak's runs, so nothing is counted, and the result is NumPy's to the type.
@pytest.mark.parametrize(
    "case",
    [
        lambda m: m.inner(Z, Z),
        lambda m: m.vdot(Z, Z),
        lambda m: m.sum(Z),
        lambda m: m.mean(np.ones(10, np.float16)),
        lambda m: m.sum(OBJECTS),  # NumPy's TypeError
        lambda m: m.sum(np.matrix(X), axis=0),
        lambda m: m.sum(np.matrix(X)),
        lambda m: m.sum(MASKED, axis=0),
        lambda m: m.dot(MASKED, MASKED.T),
    ],
)
def test_reductions_and_products_of_numpy_data_are_numpys_own(case):
    check(case)


@pytest.mark.parametrize(
    "case, reason",
    [
        (lambda m: m.sum(m.asarray(Z)), "complex"),
        (lambda m: m.inner(fresh(m, X).ravel(), Z.ravel()), "complex"),
        (lambda m: m.mean(m.asarray(np.ones(10, np.float16))), "float16"),
        (lambda m: m.dot(fresh(m, X), MASKED.T), "MaskedArray"),
    ],
)
def test_reductions_and_products_with_daybreak_arrays_fall_back_counted(case, reason):
    check(case, reason)
