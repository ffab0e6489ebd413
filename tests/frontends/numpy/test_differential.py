"""daybreak.numpy against NumPy on generated shapes, dtypes and values (NaN, inf, -0.0):
values AND dtypes must agree, and errors must be NumPy's exception types."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import daybreak as db
import daybreak.numpy as dnp

from .helpers import allowed_fallbacks, assert_same, daybreak_input

# A 0-d NumPy array stays NumPy's own under `dnp.asarray` (by design: a NumPy scalar costs less
# than a program), so the operators and methods of a 0-d input are NumPy's, and no program runs.
# `expect_native=a.ndim > 0` below says so where a test calls them.

DTYPES = [
    np.dtype(t)
    for t in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
    )
]
dtypes = st.sampled_from(DTYPES)


def arrays(dtype, shape):
    if dtype.kind == "f":
        elements = st.floats(-1e6, 1e6, width=dtype.itemsize * 8) | st.sampled_from(
            [np.nan, np.inf, -np.inf, -0.0, 0.0]
        )
        return hnp.arrays(dtype, shape, elements=elements)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        small = st.integers(max(info.min, -9), min(info.max, 9))
        return hnp.arrays(dtype, shape, elements=small | st.sampled_from([info.min, info.max]))
    return hnp.arrays(dtype, shape)


@st.composite
def operand_pairs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    a = draw(arrays(draw(dtypes), shapes.input_shapes[0]))
    b = draw(arrays(draw(dtypes), shapes.input_shapes[1]))
    return a, b


EXACT_BINARY = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "floor_divide",
    "remainder",
    "fmod",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "left_shift",
    "right_shift",
    "power",
    "heaviside",
    "copysign",
]
APPROX_BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "float_power"]

COMPARISONS = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


def mixed_int64_reason(name):
    """GAP: NumPy compares int64 with uint64 by its own mixed loop (exactly, with no common
    type); daybreak compiles only loops whose inputs have one type, so it falls back."""
    return rf"^numpy: {name} on mixed loop types \(dtype\('u?int64'\), dtype\('u?int64'\)\)$"


def mixed_int64_gap(name):
    return pytest.mark.allow_fallbacks(mixed_int64_reason(name))


def float16_gap(name, nin=1):
    """GAP: float16 has no IR type, so a ufunc whose NumPy loop is float16 falls back; NumPy
    picks that loop for bool, int8 and uint8 inputs of float-valued ufuncs (exp(int8) is
    float16)."""
    loop = ", ".join(["dtype('float16')"] * nin) + ("," if nin == 1 else "")
    return pytest.mark.allow_fallbacks(f"numpy: {name} loop ({loop})->float16")


def with_gaps(names):
    """The names as parameters, each marked with the gaps (allowed fallbacks) it has."""
    marks = {
        **{name: mixed_int64_gap(name) for name in COMPARISONS},
        "arctan2": float16_gap("arctan2", nin=2),
        **{
            name: float16_gap(name, nin=2)
            for name in ("hypot", "heaviside", "logaddexp", "copysign")
        },
        "logaddexp2": float16_gap("logaddexp2", nin=2),
        **{name: float16_gap(name) for name in UNARY_FLOAT16},
        # GAP: NumPy's integer reciprocal (1 // x, with its own answer for 0) is not compiled
        "reciprocal": pytest.mark.allow_fallbacks(r"^numpy: reciprocal for u?int\d+$"),
        "fabs": float16_gap("fabs"),
        "signbit": pytest.mark.allow_fallbacks(
            r"^numpy: signbit loop \(dtype\('float16'\),\)->bool"
        ),
    }
    return [pytest.param(name, marks=marks[name]) if name in marks else name for name in names]


UNARY_EXACT = [
    "negative",
    "positive",
    "absolute",
    "sign",
    "square",
    "floor",
    "ceil",
    "trunc",
    "rint",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "invert",
    "reciprocal",
    "fabs",
    "signbit",
]
UNARY_APPROX = [
    "exp",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "cbrt",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
]
UNARY_FLOAT16 = ["rint"] + UNARY_APPROX  # float16 results for small integer and bool inputs


@pytest.mark.parametrize("name", with_gaps(EXACT_BINARY + APPROX_BINARY))
@settings(max_examples=15)
@given(pair=operand_pairs())
def test_binary_ufuncs(pair, name):
    a, b = pair
    rtol = 1e-5 if name in APPROX_BINARY or name == "power" else None
    assert_same(lambda m, x, y: getattr(m, name)(x, y), a, b, rtol=rtol)


OPERATORS = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "//": lambda x, y: x // y,
    "%": lambda x, y: x % y,
    "<": lambda x, y: x < y,
    "==": lambda x, y: x == y,
    "&": lambda x, y: x & y,
    "^": lambda x, y: x ^ y,
}
scalars = st.sampled_from([0, 1, -3, 7, 300, 2.5, -0.0, float("nan"), True])


# GAP: NumPy compares an integer array with a Python int outside its dtype's range exactly
# (uint8 < -3 is all False); daybreak does not compile that and falls back.
@pytest.mark.allow_fallbacks(r"^numpy: (less|greater|equal) with out-of-range Python int$")
@settings(max_examples=40)
@given(
    dtypes.flatmap(
        lambda d: arrays(d, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
    ),
    scalars,
    st.sampled_from(sorted(OPERATORS)),
    st.booleans(),
)
def test_operators_with_python_scalars(a, scalar, op, reflected):
    """NEP 50: Python scalars promote weakly (and too-large ints raise NumPy's error)."""
    fn = OPERATORS[op]
    if reflected:
        assert_same(lambda m, x: fn(scalar, x), a, expect_native=a.ndim > 0)  # 0-d: NumPy's
    else:
        assert_same(lambda m, x: fn(x, scalar), a, expect_native=a.ndim > 0)  # 0-d: NumPy's


@pytest.mark.parametrize("name", with_gaps(UNARY_EXACT + UNARY_APPROX))
@settings(max_examples=8)
@given(
    a=dtypes.flatmap(
        lambda d: arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    )
)
def test_unary_ufuncs(a, name):
    rtol = 2e-6 if name in UNARY_APPROX else None
    assert_same(lambda m, x: getattr(m, name)(x), a, rtol=rtol)


REDUCTIONS = ["sum", "prod", "mean", "min", "max", "argmin", "argmax", "std", "var", "any", "all"]


@st.composite
def reduction_cases(draw, name):
    dtype = draw(dtypes)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    a = draw(arrays(dtype, shape))
    if len(shape) == 0 or draw(st.booleans()):
        axis = None
    elif name.startswith("arg"):
        axis = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axis = tuple(
            draw(
                st.lists(
                    st.integers(-len(shape), len(shape) - 1),
                    min_size=1,
                    max_size=len(shape),
                    unique_by=lambda k: k % len(shape),
                )
            )
        )
        axis = axis[0] if len(axis) == 1 and draw(st.booleans()) else axis
    return a, axis, draw(st.booleans())


@pytest.mark.parametrize("name", REDUCTIONS)
@settings(max_examples=15)
@given(data=st.data(), as_function=st.booleans())
def test_reductions(data, as_function, name):
    a, axis, keepdims = data.draw(reduction_cases(name))
    if name in ("mean", "std", "var") and a.dtype.kind in "iu":
        # These sum integers as float64, where the order of additions matters once partial
        # sums pass 2^53 ([-2^63, 2^63-1, 1, 1]: NumPy's pairwise order gives a mean of 0.5, a
        # vectorised loop's lanes 0.0). Below 2^40 every partial sum of <= 64 values is exact.
        a = np.clip(a, 0 if a.dtype.kind == "u" else -(2**40), 2**40).astype(a.dtype)
    if as_function:

        def fn(m, x):
            return getattr(m, name)(x, axis=axis, keepdims=keepdims)
    else:

        def fn(m, x):
            return getattr(x, name)(axis=axis, keepdims=keepdims)

    rtol = 1e-4 if a.dtype == np.float32 else 1e-9
    atol = 0.0
    if name in ("std", "var") and a.dtype.kind == "f" and a.size:
        # The spread of equal values is rounding noise in the mean, whose size depends on
        # the order of additions (NumPy's pairwise sum: var 3e-20 for six 466034.056s; a
        # loop's: 0.0): absolute, relative to the data's magnitude, not to the result's.
        finite = np.abs(a[np.isfinite(a)])
        noise = 1e3 * np.finfo(a.dtype).eps * float(finite.max(initial=0.0))
        atol = noise**2 if name == "var" else noise
    # By design no program runs for a reduction over no elements (NumPy's answer on an empty
    # stand-in: the identity, NaN or NumPy's error) nor for a 0-d input (NumPy's own array,
    # whose reductions are NumPy's: its methods, and `NUMPY_OWN`'s functions).
    assert_same(fn, a, rtol=rtol, atol=atol, expect_native=a.size > 0 and a.ndim > 0)


@pytest.mark.allow_fallbacks(mixed_int64_reason("greater"))  # x > y, see above
@settings(max_examples=30)
@given(operand_pairs(), st.sampled_from(DTYPES))
def test_where_and_astype(pair, target):
    a, b = pair
    assert_same(lambda m, x, y: m.where(x > y, x, y), a, b)
    # every value, NaN, inf and out-of-range floats included: NumPy's own results on x86-64;
    # except for uint32, where NumPy's own answer for those depends on the array's length
    # (its scalar loop goes through int64, its SIMD loop does not: NaN gives 0 in a 1-element
    # array and 2^31 in a long one), so only values it converts one way are compared there.
    if target == np.uint32 and a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            a = np.where(np.isfinite(a) & (a > -(2.0**31)) & (a < 2.0**32), a, 0).astype(a.dtype)
    assert_same(lambda m, x: x.astype(target), a, expect_native=a.ndim > 0)  # 0-d: NumPy's


_SPECIAL_FLOATS = [
    np.inf,
    -np.inf,
    np.nan,
    1e10,
    -1e10,
    3e9,
    -3e9,
    2.5,
    -2.5,
    70000.7,
    -70000.7,
    300.5,
    -1.0,
    1e19,
    1e20,
    -1e19,
    2.0**63,
    2.0**64,
    -(2.0**63),
    -(2.0**63) - 4096,
    2.0**31,
    -(2.0**31),
    -(2.0**31) - 1,
    2.0**32,
    4294967295.5,
    255.9,
    -128.5,
    32767.9,
    -32769.2,
    0.0,
    -0.0,
]


@pytest.mark.parametrize("source", ["float32", "float64"])
@pytest.mark.parametrize(
    "target", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
)
def test_float_to_int_casts_of_any_value_are_numpys(source, target):
    """NaN, infinities and floats beyond the target's range cast as NumPy casts them on
    x86-64 (1e10 -> int16 0, inf -> int32 -2^31, -1.0 -> uint8 255): both the compiled cast
    and tier 0."""
    x = np.array(_SPECIAL_FLOATS, dtype=source)
    assert_same(lambda m, v: v.astype(target), x)
    assert_same(lambda m, v: (v * 1.0).astype(target) + 0, x)


@settings(max_examples=20)
@given(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5))
def test_newaxis_broadcasting(shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) - 3.5
    assert_same(lambda m, v: v[:, None] - v, x)
    assert_same(lambda m, v: (v[None, ...] * 2.0).sum(axis=0), x)
    assert_same(lambda m, v: m.exp(v)[..., m.newaxis] + v[:, None], x, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8"])
@pytest.mark.parametrize("axes", [0, (0, 1)])
def test_leading_axis_reductions_fused_and_row_ordered(dtype, axes):
    """Reductions over leading axes run as NumPy's do, row by row into one output vector
    (frontends/elements/loops.py `_leading_axes_loop`); several of one shape share the loop."""
    import daybreak as db
    import daybreak.numpy as dnp

    rng = np.random.default_rng(3)
    a = (rng.normal(size=(7, 5, 6)) * 50).astype(dtype)
    if dtype == "float64":
        a[2, 1, 3] = np.nan  # NaN propagates through sum and max as in NumPy
    x = dnp.asarray(a) + 0  # pending: the reductions read an expression
    got = db.evaluate(x.sum(axis=axes), x.max(axis=axes), x.min(axis=axes), x.prod(axis=axes))
    want = (a.sum(axis=axes), a.max(axis=axes), a.min(axis=axes), a.prod(axis=axes))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12)


@settings(max_examples=30)
@given(data=st.data())
def test_count_nonzero(data):
    """`count_nonzero`: the sum of `a != 0` as int64, over any axes, compiled."""
    a, axis, keepdims = data.draw(reduction_cases("count_nonzero"))
    # (a 0-d input or no elements: NumPy's answer without a program, as for the reductions)
    assert_same(
        lambda m, x: m.count_nonzero(x, axis=axis, keepdims=keepdims),
        a,
        expect_native=a.size > 0 and a.ndim > 0,
    )
    assert_same(lambda m, x: m.count_nonzero(x > 0), a, expect_native=a.size > 0 and a.ndim > 0)


@pytest.mark.parametrize("name", ["nansum", "nanmean", "nanvar", "nanstd"])
@settings(max_examples=15)
@given(data=st.data())
def test_nan_reductions(data, name):
    """`nansum nanmean nanvar nanstd` leave NaNs out as NumPy does (all-NaN slices give
    NaN, or 0 for nansum; degrees of freedom <= 0 give NaN), compiled."""
    a, axis, keepdims = data.draw(reduction_cases(name))
    kwargs = {"axis": axis, "keepdims": keepdims}
    if name in ("nanvar", "nanstd"):
        kwargs["ddof"] = data.draw(st.integers(0, 2))
    if a.dtype.kind in "iu":  # (as for mean and var: exact partial sums)
        a = np.clip(a, 0 if a.dtype.kind == "u" else -(2**40), 2**40).astype(a.dtype)
    rtol = 1e-4 if a.dtype == np.float32 else 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's all-NaN warnings
        assert_same(
            lambda m, x: getattr(m, name)(x, **kwargs),
            a,
            rtol=rtol,
            expect_native=a.size > 0 and a.ndim > 0,
        )


@settings(max_examples=30)
@given(
    data=st.data(),
    dtype=st.sampled_from(["bool", "int8", "int32", "int64", "uint8", "uint32", "float64"]),
    size=st.integers(0, 300),
    weighted=st.booleans(),
    minlength=st.integers(0, 40),
)
def test_bincount(data, dtype, size, weighted, minlength):
    """`bincount` (counts or weight sums), compiled; NumPy's errors for negative positions
    and floats, NumPy's zeros for no positions."""
    low = -2 if dtype.startswith("int") and data.draw(st.booleans()) else 0
    keys = np.asarray(data.draw(hnp.arrays(np.int64, size, elements=st.integers(low, 30))))
    keys = keys.astype(dtype)
    weights = np.linspace(-1.0, 2.0, size) if weighted else None
    args = (keys, weights) if weighted else (keys,)

    def fn(m, k, *w):
        return m.bincount(k * 1 if k.dtype != bool else k, *w, minlength=minlength)

    assert_same(
        fn, *args, rtol=1e-12, expect_native=size > 0 and dtype != "float64" and keys.min() >= 0
    )


@settings(max_examples=30)
@given(
    a=hnp.arrays(
        st.sampled_from([np.float64, np.int32, np.bool_]),
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
    ),
    threshold=st.integers(-1, 1),
)
def test_nonzero_and_flatnonzero(a, threshold):
    """`flatnonzero` and `nonzero` of an array and of a comparison (which fuses into the
    filter loop), compiled: NumPy's positions, in order, as int64."""
    assert_same(lambda m, x: (x * 1 > threshold).nonzero(), a, expect_native=a.size > 0)
    for name in ("flatnonzero", "nonzero"):
        assert_same(lambda m, x, n=name: getattr(m, n)(x), a, expect_native=a.size > 0)
        assert_same(
            lambda m, x, n=name: getattr(m, n)(x * 1 > threshold), a, expect_native=a.size > 0
        )


@pytest.mark.parametrize("scalar", [-3, 300, 7, -200])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16"])
def test_where_casts_a_python_int_as_numpys_where(scalar, dtype):
    """`where(m, uint8s, -3)` is NumPy's C cast of -3 (253), not the ufuncs' OverflowError
    (found by random scripts against NumPy)."""
    a = (np.arange(24) * 37 % 250).astype(dtype)
    assert_same(lambda m, x: m.where(x > 100, x, scalar), a)
    assert_same(lambda m, x: m.where(x > 100, scalar, x), a)


@settings(max_examples=40)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(max_dims=3, max_side=5))),
    decimals=st.integers(-3, 4),
    as_method=st.booleans(),
)
def test_round_by_numpys_steps(a, decimals, as_method):
    """`np.round(a, decimals)` (and the method) compiles NumPy's own steps: exactly its values,
    halves to even, for floats; integers are copies at decimals >= 0; their negative
    decimals, and booleans (NumPy's float16 result, or its error), are NumPy's own (gaps)."""
    if a.dtype.kind == "b" or (a.dtype.kind != "f" and decimals < 0):
        with allowed_fallbacks("numpy: round with out=, of booleans, or negative decimals"):
            assert_same(lambda m, x: m.round(x, decimals), a, expect_native=False)
        return
    if as_method:
        assert_same(
            lambda m, x: x.round(decimals), a, expect_native=a.dtype.kind == "f" and a.size > 0
        )
    else:
        assert_same(
            lambda m, x: m.round(x, decimals), a, expect_native=a.dtype.kind == "f" and a.size > 0
        )


@pytest.mark.parametrize("name", ["flip", "fliplr", "flipud"])
@settings(max_examples=20)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))
def test_flips_are_views(name, a):
    """`np.flip` (every axis, one axis), `fliplr` and `flipud`: views with reversed axes, and
    NumPy's errors for arrays with too few axes."""
    fn = getattr(np, name)
    assert_same(lambda m, x: getattr(m, name)(x) * 2.0, a, expect_native=a.size > 0 and a.ndim > 0)
    if name == "flip" and a.ndim:
        assert_same(lambda m, x: m.flip(x, -1) + 1.0, a, expect_native=a.size > 0)
    del fn


@settings(max_examples=30)
@given(pair=operand_pairs(), equal_nan=st.booleans(), rtol=st.sampled_from([1e-5, 0.1, 0.0]))
def test_isclose_and_allclose_by_numpys_formula(pair, equal_nan, rtol):
    """`isclose` compiles NumPy's own formula (y made a float first), NaNs equal or not;
    `allclose` is a Python bool; complex operands stay NumPy's (none generated here)."""
    a, b = pair
    native = np.broadcast_shapes(a.shape, b.shape) != ()
    assert_same(
        lambda m, x, y: m.isclose(x, y, rtol=rtol, atol=1e-3, equal_nan=equal_nan),
        a,
        b,
        expect_native=lambda r: native and r.size > 0,
    )
    got = dnp.allclose(daybreak_input(a), daybreak_input(b), rtol=rtol, equal_nan=equal_nan)
    assert got is np.allclose(a, b, rtol=rtol, equal_nan=equal_nan)


@settings(max_examples=20)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(max_dims=3, max_side=5))),
    axis=st.sampled_from([None, 0, -1]),
)
def test_ptp(a, axis):
    """`np.ptp`: the maximum less the minimum (NumPy's error for booleans)."""
    assert_same(lambda m, x: m.ptp(x, axis=axis), a, expect_native=lambda r: r.ndim > 0)


@settings(max_examples=20)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(max_dims=2, max_side=6))),
    replacements=st.sampled_from([{}, {"nan": -1.0, "posinf": 9.0}, {"neginf": -7.5}]),
)
def test_nan_to_num(a, replacements):
    """`np.nan_to_num` of real arrays: selects over NaN and the infinities (the dtype's
    extremes by default); integers and booleans as they are."""
    assert_same(
        lambda m, x: m.nan_to_num(x, **replacements),
        a,
        expect_native=a.dtype.kind == "f" and a.size > 0,
    )


@settings(max_examples=25)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=2, max_dims=3, max_side=5))),
    k=st.integers(-6, 6),
)
def test_triangles_and_traces(a, k):
    """`tril`/`triu` as NumPy's selects over its constant mask; `trace` of a matrix (any
    offset, past the edges too) as the sum of its diagonal read with a stride."""
    native = a.size > 0
    assert_same(lambda m, x: m.tril(x, k), a, expect_native=native)
    assert_same(lambda m, x: m.triu(x, k), a, expect_native=native)
    if a.ndim == 2:
        assert_same(lambda m, x: m.trace(x, k), a, expect_native=lambda r: r.ndim > 0)


@settings(max_examples=20)
@given(
    v=arrays(np.dtype(np.float64), hnp.array_shapes(max_dims=1, max_side=6)), k=st.integers(-3, 3)
)
def test_diag_of_a_vector(v, k):
    """`np.diag(v, k)`: the square matrix with `v` on its k-th diagonal."""
    assert_same(lambda m, x: m.diag(x, k), v, expect_native=v.size + abs(k) > 0)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
@settings(max_examples=10)
@given(
    vectors=st.lists(
        arrays(np.dtype(np.float64), hnp.array_shapes(min_dims=1, max_dims=1, max_side=5)),
        min_size=1,
        max_size=3,
    )
)
def test_meshgrid(indexing, sparse, vectors):
    """`np.meshgrid`: each vector along its own axis (the first two swapped for "xy"),
    broadcast unless sparse, and copied: every output equal to NumPy's."""
    want = np.meshgrid(*vectors, indexing=indexing, sparse=sparse)
    got = dnp.meshgrid(*map(daybreak_input, vectors), indexing=indexing, sparse=sparse)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        g = np.asarray(g)
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@settings(max_examples=25)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5))),
    weighted=st.sampled_from([None, "full", "axis"]),
    returned=st.booleans(),
)
def test_average(a, weighted, returned):
    """`np.average`: the mean, or with positive weights (of `a`'s shape, or a vector along
    the last axis) NumPy's weighted sum over the weights' sum."""
    axis = -1 if weighted == "axis" else None
    weights = {None: None, "full": np.linspace(0.5, 2.0, a.size).reshape(a.shape)}.get(
        weighted, np.linspace(0.5, 2.0, a.shape[-1])
    )

    def fn(m, x):
        out = m.average(x, axis=axis, weights=weights, returned=returned)
        return out[0] if returned else out

    # A sum's rounding depends on its order (NumPy's pairwise one, the program's vector
    # lanes): where terms cancel (int64's extremes: 2^63 - 1 + 1 - 2^63), only an error
    # within a few ulps of the terms' magnitude is the same answer — ulps of the result's
    # dtype (float32's mean of float32 data: 486839.22 against NumPy's 486839.25).
    magnitude = float(np.abs(a.astype(np.complex128)).sum()) if a.size else 0.0
    eps = np.finfo(np.float32 if a.dtype == np.float32 else np.float64).eps
    assert_same(
        fn,
        a,
        rtol=1e-9,
        atol=8 * eps * magnitude,
        expect_native=lambda r: a.size > 0 and r.ndim > 0,
    )


@settings(max_examples=20)
@given(a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(max_dims=2, max_side=5))))
def test_fix_and_sinc(a):
    """`np.fix` is `trunc` for real numbers; `np.sinc` is NumPy's `sin(y) / y`."""
    native = a.size > 0
    assert_same(lambda m, x: m.fix(x), a, expect_native=native)
    assert_same(lambda m, x: m.sinc(x), a, rtol=1e-6, expect_native=native)


@pytest.mark.parametrize("ord_", [None, 1, 2, 0, np.inf, -np.inf])
@settings(max_examples=10)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))),
    keepdims=st.booleans(),
)
def test_vector_norms(ord_, a, keepdims):
    """`np.linalg.norm` along an axis (every vector `ord`), and of the whole array (the
    default): NumPy's steps; integers made floats first (booleans too). (float32: NumPy's
    pairwise sums, BLAS's dot and daybreak's vectorised sums add in other orders, a float32
    ulp apart: [0.15625, 1.9375, 2**19, 2**19] sums to 1048578.125 in order, 1048578.0 in
    two lanes.)"""
    rtol = 1e-6 if a.dtype == np.float32 else 1e-9
    assert_same(
        lambda m, x: m.linalg.norm(x, ord=ord_, axis=-1, keepdims=keepdims),
        a,
        rtol=rtol,
        expect_native=lambda r: a.size > 0 and r.ndim > 0,
    )
    if ord_ is None:  # (sqrt of the flat array's dot with itself: NumPy's product kernel)
        assert_same(lambda m, x: m.linalg.norm(x), a, rtol=rtol, expect_native=False)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "minimum", "subtract"])
@settings(max_examples=15)
@given(pair=operand_pairs())
def test_ufunc_outer(name, pair):
    """`ufunc.outer(a, b)`: the ufunc of `a` spread over `b`'s axes against `b`, lazily."""
    a, b = pair
    ufunc = getattr(np, name)
    assert_same(
        lambda m, x, y: getattr(m, name).outer(x, y) if m is dnp else ufunc.outer(x, y),
        a,
        b,
        expect_native=lambda r: a.ndim > 0 and r.size > 0,
    )


@pytest.mark.parametrize(
    "name", ["add", "multiply", "maximum", "minimum", "logical_and", "logical_or"]
)
@settings(max_examples=15)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))),
    axis=st.sampled_from([0, -1, None]),
    keepdims=st.booleans(),
)
def test_ufunc_reduce_is_the_reduction(name, a, axis, keepdims):
    """`np.add.reduce(a, axis=0)` is `np.sum` (and so on): the same dtypes, errors and first
    axis by default. Float sums and products agree within the rounding of another order of
    operations, as in `test_reductions` (NumPy's float32 pairwise sum of `[1, 1, -48576.062,
    -1e6, 1, 1, 1, 1]` is -1048570.0, a loop's the correctly rounded -1048570.0625)."""
    rtol = None
    if a.dtype.kind == "f" and name in ("add", "multiply"):
        rtol = 1e-4 if a.dtype == np.float32 else 1e-9
    assert_same(
        lambda m, x: getattr(m, name).reduce(x, axis=axis, keepdims=keepdims),
        a,
        rtol=rtol,
        expect_native=lambda r: a.size > 0 and r.ndim > 0,
    )


@settings(max_examples=20)
@given(pair=operand_pairs())
def test_divmod_is_floor_divide_and_remainder(pair):
    """`np.divmod(a, b)`: NumPy's floor_divide and remainder, both compiled."""
    a, b = pair
    for part in (0, 1):
        assert_same(
            lambda m, x, y, part=part: m.divmod(x, y)[part],
            a,
            b,
            expect_native=lambda r: r.ndim > 0 and r.size > 0,
        )


@settings(max_examples=20)
@given(pair=operand_pairs(), equal_nan=st.booleans())
def test_array_equal(pair, equal_nan):
    """`np.array_equal`: a Python bool, shapes first (NaNs equal with `equal_nan`)."""
    a, b = pair
    for x, y in ((a, b), (a, a.copy())):
        got = dnp.array_equal(daybreak_input(x), daybreak_input(y), equal_nan=equal_nan)
        assert got is np.array_equal(x, y, equal_nan=equal_nan)


_SIGNED_EDGES = [-(2**63), -(2**31), -5, -1, 0, 1, 7, 2**31, 2**62, 2**63 - 1]
_UNSIGNED_EDGES = [0, 1, 5, 7, 2**31, 2**62, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1]


@pytest.mark.parametrize(
    "name", ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
)
@pytest.mark.parametrize("signed", ["int8", "int32", "int64"])
def test_comparisons_of_signed_and_uint64_integers_are_exact(name, signed):
    """A signed integer against a uint64: NumPy 2 compares them exactly (no common type holds
    both), either way round; so does daybreak's program, natively."""
    info = np.iinfo(signed)
    s = np.array([v for v in _SIGNED_EDGES if info.min <= v <= info.max], dtype=signed)
    s = np.repeat(s, len(_UNSIGNED_EDGES))
    u = np.tile(np.array(_UNSIGNED_EDGES, dtype=np.uint64), len(s) // len(_UNSIGNED_EDGES))
    for x, y in ((s, u), (u, s)):
        assert_same(lambda m, x, y: getattr(m, name)(x, y), x, y)


@settings(max_examples=20)
@given(
    a=arrays(np.dtype(np.float64), hnp.array_shapes(max_dims=2, max_side=5)),
    default=st.sampled_from([0, -1.5, 7]),
)
def test_select(a, default):
    """`np.select`: the first condition that holds picks its choice, else the default, in
    the choices' common dtype."""
    assert_same(
        lambda m, x: m.select([x < -1.0, x > 1.0, x == 0.0], [x * 2.0, 5, -x], default),
        a,
        expect_native=a.size > 0,
    )


@pytest.mark.parametrize("mode", ["constant", "edge"])
@settings(max_examples=20)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))),
    widths=st.one_of(
        st.integers(0, 3),
        st.tuples(st.integers(0, 3), st.integers(0, 3)),
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=3, max_size=3),
    ),
)
def test_pad(mode, a, widths):
    """`np.pad` in "constant" and "edge" modes, every form of the widths NumPy takes."""
    if isinstance(widths, list):
        widths = widths[: a.ndim]
        if len(widths) < a.ndim:
            widths = widths + [(1, 1)] * (a.ndim - len(widths))
    extra = {"constant_values": 3} if mode == "constant" and a.dtype.kind != "b" else {}
    if mode == "edge" and a.size == 0:
        return  # (NumPy's own error for an empty axis: a gap left to NumPy)
    assert_same(
        lambda m, x: m.pad(x, widths, mode=mode, **extra),
        a,
        expect_native=lambda r: r.size > a.size,
    )


@mixed_int64_gap("equal")  # (uint64 values against int64 ones: NumPy's own mixed loop)
@settings(max_examples=20)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))),
    tests=st.lists(st.integers(-3, 3), max_size=5),
    invert=st.booleans(),
)
def test_isin_against_a_few_values(a, tests, invert):
    """`np.isin` against a few values: an equality per value, or-ed (NumPy's small-set
    method), inverted or not."""
    assert_same(lambda m, x: m.isin(x, tests, invert=invert), a, expect_native=lambda r: r.size > 0)


@settings(max_examples=20)
@given(
    a=st.sampled_from(["float64", "float32", "int32"]).flatmap(
        lambda d: arrays(
            np.dtype(d), hnp.array_shapes(min_dims=1, max_dims=3, min_side=3, max_side=6)
        )
    ),
    spacing=st.sampled_from([(), (0.5,), (2,)]),
    edge_order=st.sampled_from([1, 2]),
    axis=st.sampled_from([None, 0, -1]),
)
def test_gradient_with_uniform_spacing(a, spacing, edge_order, axis):
    """`np.gradient` with one scalar spacing (or none): NumPy's central differences inside
    and one-sided ones at the edges, for every axis or one."""

    def fn(m, x):
        out = m.gradient(x, *spacing, axis=axis, edge_order=edge_order)
        return out[-1] if isinstance(out, tuple) else out

    assert_same(fn, a, rtol=1e-9 if a.dtype != np.float32 else 1e-4)


@settings(max_examples=20)
@given(
    a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))),
    count=st.integers(0, 3),
    axis=st.sampled_from([None, 0, -1]),
    reps=st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 2), st.integers(1, 3))),
)
def test_take_repeat_tile(a, count, axis, reps):
    """`take` (positions, NumPy's IndexError), `repeat` by one count, `tile`, as lazy views
    and gathers."""
    positions = [0, -1, a.size // 2] if axis is None else [0, -1]
    native = a.size > 0
    assert_same(lambda m, x: m.take(x, positions, axis=axis), a, expect_native=native)
    assert_same(lambda m, x: m.repeat(x, count, axis=axis), a, expect_native=native and count > 0)
    assert_same(lambda m, x: x.repeat(count), a, expect_native=native and count > 0)
    assert_same(lambda m, x: m.tile(x, reps), a, expect_native=lambda r: r.size > 0)


@settings(max_examples=20)
@given(a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))))
def test_argwhere(a):
    """`np.argwhere`: `nonzero`'s index arrays as columns."""
    assert_same(lambda m, x: m.argwhere(x), a, expect_native=lambda r: r.size > 0)


@settings(max_examples=20)
@given(
    pair=st.sampled_from(["float64", "float32", "int64", "int32"]).flatmap(
        lambda d: st.tuples(
            arrays(np.dtype(d), st.sampled_from([(3,), (4, 3), (2, 1, 3)])),
            arrays(np.dtype(d), st.sampled_from([(3,), (1, 3)])),
        )
    )
)
def test_cross_of_3_vectors(pair):
    """`np.cross` of 3-vectors (broadcast against each other): NumPy's own products and
    differences, exactly."""
    a, b = pair
    assert_same(lambda m, x, y: m.cross(x, y), a, b)


@pytest.mark.allow_fallbacks(  # (int8, uint8 and bool: NumPy's float16 loop, then float16)
    "numpy: arctan2 loop (dtype('float16'), dtype('float16'))->float16",
    "numpy: multiply on dtype float16",
)
@settings(max_examples=15)
@given(a=dtypes.flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5))))
def test_real_and_angle_of_real_arrays(a):
    """`np.real` of a real array is the array (a view); `np.angle` is `arctan2(0, x)`."""
    assert_same(lambda m, x: m.real(x) * 2, a, expect_native=False)
    assert_same(lambda m, x: m.angle(x, deg=True), a, rtol=1e-6, expect_native=a.size > 0)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.allow_fallbacks("numpy: convolve with a non-finite kernel")
@settings(max_examples=15)
@given(
    x=st.sampled_from(["float64", "int64", "float32"]).flatmap(
        lambda d: arrays(np.dtype(d), st.integers(1, 30).map(lambda n: (n,)))
    ),
    kernel=st.lists(st.integers(-3, 3), min_size=1, max_size=6),
    swapped=st.booleans(),
)
def test_convolve_with_a_short_kernel(mode, x, kernel, swapped):
    """`np.convolve` with a short kernel, either argument first (NumPy swaps them): every
    mode's length and values (NaN and infinities in the data; a kernel with them, which may
    be the data when it is the shorter, is NumPy's own)."""
    k = np.asarray(kernel, dtype=x.dtype)

    def fn(m, data):
        return m.convolve(k, data, mode) if swapped else m.convolve(data, k, mode)

    # (NumPy's dot per output may use fused multiply-adds: where the terms cancel, its sum
    # and the loop's differ by rounding, relative to the terms, not to the sum)
    finite = np.abs(x[np.isfinite(x)]) if x.dtype.kind == "f" else np.abs(x)
    scale = float(finite.max(initial=0.0)) * float(np.abs(k).sum())
    tolerance = 1e-5 if x.dtype == np.float32 else 1e-12
    assert_same(fn, x, rtol=tolerance, atol=tolerance * scale)


@settings(max_examples=20)
@given(
    shapes_=st.integers(1, 3).flatmap(
        lambda nd: st.tuples(
            hnp.array_shapes(min_dims=nd, max_dims=nd, max_side=3),
            hnp.array_shapes(min_dims=nd, max_dims=nd, max_side=3),
        )
    ),
    dtype=dtypes,
)
def test_kron(shapes_, dtype):
    """`np.kron` of arrays with the same number of axes: the interleaved broadcast product."""
    a = np.arange(np.prod(shapes_[0]), dtype=np.int64).reshape(shapes_[0]).astype(dtype)
    b = (np.arange(np.prod(shapes_[1]), dtype=np.int64).reshape(shapes_[1]) - 2).astype(dtype)
    assert_same(lambda m, x, y: m.kron(x, y), a, b)


@settings(max_examples=20)
@given(
    a=st.sampled_from(["float64", "float32"]).flatmap(
        lambda d: arrays(np.dtype(d), hnp.array_shapes(max_dims=2, max_side=5))
    )
)
def test_modf(a):
    """`np.modf`: the fraction with the sign of x (0 for infinities) and the integral part,
    signed zeros and NaNs as NumPy's."""
    for part in (0, 1):
        assert_same(lambda m, x, part=part: m.modf(x)[part], a, expect_native=a.size > 0)
        assert_same(  # (the signs too: -0.0 equals 0.0 above)
            lambda m, x, part=part: m.signbit(m.modf(x)[part]), a, expect_native=a.size > 0
        )


@st.composite
def einsum_cases(draw):
    """Subscripts of one or two operands over the letters abcd (none twice in one operand),
    implicit or explicit output, and operands of matching sizes."""
    size = {c: draw(st.integers(1, 3)) for c in "abcd"}
    terms = [
        "".join(draw(st.permutations("abcd"))[: draw(st.integers(0, 3))])
        for _ in range(draw(st.integers(1, 2)))
    ]
    used = sorted(set("".join(terms)))
    explicit = draw(st.booleans())
    output = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    subscripts = ",".join(terms) + (f"->{output}" if explicit else "")
    dtype = draw(st.sampled_from(["float64", "float32", "int64"]))
    arrays_ = [
        draw(arrays(np.dtype(dtype), tuple(size[c] for c in t))).astype(dtype) for t in terms
    ]
    return subscripts, arrays_


@settings(max_examples=40)
@given(case=einsum_cases())
def test_einsum_of_one_or_two_operands(case):
    """`np.einsum` with plain letters: sums, transposes, products and contractions (a
    batched matrix product), every output order, against NumPy's own."""
    subscripts, operands = case
    # (NaN and infinities: where NumPy's loop and a matrix product add 0 * inf in different
    # places, both are right; finite values, with a tolerance relative to the terms)
    finite = [np.nan_to_num(a, nan=0.5, posinf=2.0, neginf=-2.0) for a in operands]
    rtol = 1e-4 if finite[0].dtype == np.float32 else 1e-9
    scale = max([float(np.abs(a).max(initial=0.0)) for a in finite], default=0.0) ** len(finite)
    assert_same(
        lambda m, *xs: m.einsum(subscripts, *xs),
        *finite,
        rtol=rtol,
        atol=rtol * scale * 27,
        expect_native=False,
    )


def _summable(a: np.ndarray) -> np.ndarray:
    """`a` with integers clipped to +-2**24: float64 sums of a few of them are exact in any
    order. (An int64's extremes, +-2**63 as floats, absorb the small values next to them or
    not by the order of the additions: a mean of [-2**63, 2**63 - 1, 1, 1, 1] is 0.6 summed
    in order, 0 summed in two lanes, and each is a float sum of those numbers.)"""
    if a.dtype.kind not in "iu":
        return a
    return np.clip(a, -(2**24) if a.dtype.kind == "i" else 0, 2**24).astype(a.dtype)


@settings(max_examples=25)
@given(
    a=dtypes.flatmap(
        lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=2, max_side=7)).map(_summable)
    ),
    rowvar=st.booleans(),
    bias=st.booleans(),
    ddof=st.sampled_from([None, 0, 2]),
)
def test_cov(a, rowvar, bias, ddof):
    """`np.cov` of real variables: NumPy's steps (the centring a compiled loop, the product
    NumPy's kernel, the scaling fused after it); integers and booleans made floats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (too few observations: NumPy's too)
        assert_same(
            lambda m, x: m.cov(x, rowvar=rowvar, bias=bias, ddof=ddof),
            a,
            rtol=1e-9,
            atol=1e-12,
            expect_native=lambda r: a.size > 0 and r.size > 0,
        )


@pytest.mark.parametrize(
    "name", ["cholesky", "inv", "det", "slogdet", "eigvalsh", "solve", "qr", "matrix_rank"]
)
def test_lapack_functions_are_library_kernels(name):
    """`numpy.linalg`'s factorisations and solves on daybreak arrays: LAPACK on the computed
    operands, counted as a library run, not a fallback (strict mode allows it), and their
    arrays lazy again; NumPy's values."""
    rng = np.random.default_rng(5)
    a = rng.random((40, 40))
    spd = a @ a.T + 40 * np.eye(40)
    b = rng.random(40)
    fn = getattr(np.linalg, name)
    args = (spd, b) if name == "solve" else (spd,)
    want = fn(*args)
    db.stats(reset=True)
    before = db.config(strict=True)
    try:
        got = fn(*[dnp.asarray(x) * 1.0 for x in args])
    finally:
        db.config(**before)
    assert db.stats()["fallbacks"] == {} and db.stats()["library_runs"] >= 1
    for g, w in zip(
        got if isinstance(want, tuple) else (got,),
        want if isinstance(want, tuple) else (want,),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-9)
