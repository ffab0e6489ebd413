"""The LLVM backend's own math functions (backends/llvm/vecmath.py): accuracy in ulp on dense
samples of the whole domain, special values, agreement with the interpreter, and that loops
calling them vectorise.

Accuracy is measured in two steps: every point against the C library (`math`), then the
points where we differ from it by more than 1 ulp again against mpmath at 40 digits (the C
library's own error, up to several ulp for erfc and log10, must not count against us).
"""

from __future__ import annotations

import functools
import math
import re

import mpmath
import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import LLVMBackend, jit
from daybreak.ir.typecheck import typecheck

DENSE = 10**6
MAX_ULP = 2.0
MAX_ULP_F32 = 1.0  # f32 is computed in f64 and rounded once: about 0.51 ulp

FUNCTIONS = ("exp", "expm1", "log", "log1p", "log2", "log10", "erf", "erfc")


@functools.cache
def compiled(name: str, dtype: str):
    return db.compile(f"|v: vec[{dtype}]| map(v, |x| {name}(x))", backend="llvm")


def _math_reference(name: str):
    fn = getattr(math, name)

    def safe(x: float) -> float:
        try:
            return fn(x)
        except OverflowError:
            return math.inf
        except ValueError:  # log(0), log(-1), ...
            if x == 0 or (name == "log1p" and x == -1):
                return -math.inf
            return math.nan

    return safe


def _mp_reference(name: str, x: float):
    mp = mpmath
    x = mp.mpf(x)
    return {
        "exp": mp.exp,
        "expm1": mp.expm1,
        "log": mp.log,
        "log1p": mp.log1p,
        "log2": lambda v: mp.log(v, 2),
        "log10": mp.log10,
        "erf": mp.erf,
        "erfc": mp.erfc,
    }[name](x)


def ulp_f64(ref: np.ndarray) -> np.ndarray:
    """The ulp of the binade each reference value lies in (subnormals: 2^-1074)."""
    mag = np.abs(ref)
    exponent = np.floor(np.log2(np.where(mag > 0, mag, 1.0)))
    return np.exp2(np.maximum(np.where(mag > 0, exponent, -1022), -1022) - 52)


def ulp_f32(ref: np.ndarray) -> np.ndarray:
    mag = np.abs(ref)
    exponent = np.floor(np.log2(np.where(mag > 0, mag, 1.0)))
    return np.exp2(np.maximum(np.where(mag > 0, exponent, -126), -126) - 23)


def _sample(rng, lo: float, hi: float, kind: str, n: int) -> np.ndarray:
    """n points: uniform in [lo, hi], or log-uniform in magnitude (both ends the same sign)."""
    if kind == "uniform":
        return rng.uniform(lo, hi, n)
    a, b = sorted((abs(lo), abs(hi)))
    sign = -1.0 if hi <= 0 else 1.0
    return sign * np.exp(rng.uniform(np.log(a), np.log(b), n))


U, L = "uniform", "log"
RANGES_F64 = {
    "exp": [(-745.2, 709.8, U), (-1.0, 1.0, U), (1e-300, 745.0, L), (-745.0, -1e-300, L)],
    "expm1": [(-40.0, 709.7, U), (-2.0, 2.0, U), (1e-300, 709.0, L), (-40.0, -1e-300, L)],
    "log": [(5e-324, 1.7e308, L), (0.5, 2.0, U), (0.0, 10.0, U), (0.99, 1.01, U)],
    "log1p": [(1e-300, 1e308, L), (-1.0, -1e-300, L), (-0.5, 1.0, U), (-1.0, 10.0, U)],
    "log2": [(5e-324, 1.7e308, L), (0.5, 2.0, U), (0.0, 10.0, U)],
    "log10": [(5e-324, 1.7e308, L), (0.5, 2.0, U), (0.0, 10.0, U)],
    "erf": [(-6.5, 6.5, U), (1e-300, 6.5, L), (-6.5, -1e-300, L), (0.8, 0.95, U)],
    "erfc": [(-6.5, 27.5, U), (1e-300, 27.3, L), (-6.5, -1e-300, L), (0.8, 0.95, U)],
}
CASES_F64 = [(name, r) for name, ranges in RANGES_F64.items() for r in ranges]


@pytest.mark.parametrize(("name", "domain"), CASES_F64, ids=lambda v: str(v))
def test_f64_accuracy_dense(name, domain):
    rng = np.random.default_rng(hash((name, domain)) % 2**32)
    x = _sample(rng, *domain, DENSE)
    got = compiled(name, "f64")(x)
    ref = np.fromiter(map(_math_reference(name), x.tolist()), np.float64, len(x))
    finite = np.isfinite(ref)
    assert np.array_equal(np.isnan(got), np.isnan(ref)), name
    assert np.array_equal(got[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)])
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(got - ref) / ulp_f64(ref), 0.0)
    assert err.max() <= MAX_ULP + 3.0, (name, x[np.argmax(err)])  # even vs the C library
    suspects = np.argsort(err)[-300:]
    suspects = suspects[err[suspects] > 1.0]
    with mpmath.workdps(40):
        for k in suspects:
            exact = _mp_reference(name, float(x[k]))
            exponent = max(int(mpmath.floor(mpmath.log(abs(exact), 2))), -1022)
            ulp = mpmath.mpf(2) ** (exponent - 52)
            true_err = float(abs(mpmath.mpf(float(got[k])) - exact) / ulp)
            assert true_err <= MAX_ULP, (name, float(x[k]), true_err)


RANGES_F32 = {
    "exp": [(-104.0, 89.0, U), (-1.0, 1.0, U)],
    "expm1": [(-20.0, 89.0, U), (1e-40, 2.0, L), (-2.0, -1e-40, L)],
    "log": [(1e-45, 3e38, L), (0.0, 10.0, U)],
    "log1p": [(1e-40, 3e38, L), (-1.0, 10.0, U)],
    "log2": [(1e-45, 3e38, L), (0.0, 10.0, U)],
    "log10": [(1e-45, 3e38, L), (0.0, 10.0, U)],
    "erf": [(-5.0, 5.0, U), (1e-40, 5.0, L)],
    "erfc": [(-5.0, 11.0, U), (1e-40, 11.0, L)],
}
CASES_F32 = [(name, r) for name, ranges in RANGES_F32.items() for r in ranges]


def _f64_reference(name: str, x: np.ndarray) -> np.ndarray:
    if name in ("erf", "erfc"):
        special = pytest.importorskip("scipy.special")
        return getattr(special, name)(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return getattr(np, name)(x)


@pytest.mark.parametrize(("name", "domain"), CASES_F32, ids=lambda v: str(v))
def test_f32_accuracy_dense(name, domain):
    rng = np.random.default_rng(hash((name, domain, "f32")) % 2**32)
    x = _sample(rng, *domain, DENSE).astype(np.float32)
    got = compiled(name, "f32")(x)
    assert got.dtype == np.float32
    ref = _f64_reference(name, x.astype(np.float64))  # ~1e-16: exact at f32's scale
    with np.errstate(over="ignore"):
        rounded = ref.astype(np.float32)
    finite = np.isfinite(rounded)
    assert np.array_equal(got[~finite], rounded[~finite], equal_nan=True), name
    err = np.abs(got[finite].astype(np.float64) - ref[finite]) / ulp_f32(ref[finite])
    assert err.max() <= MAX_ULP_F32, (name, x[finite][np.argmax(err)], err.max())


INF, NAN = math.inf, math.nan
SPECIALS = {
    "exp": [
        (NAN, NAN),
        (INF, INF),
        (-INF, 0.0),
        (0.0, 1.0),
        (-0.0, 1.0),
        (5e-324, 1.0),
        (709.78, 1.7928227943945155e308),
        (709.79, INF),
        (1e300, INF),
        (-745.13, 5e-324),
        (-745.14, 0.0),
        (-1e300, 0.0),
        (1.0, math.e),
    ],
    "expm1": [
        (NAN, NAN),
        (INF, INF),
        (-INF, -1.0),
        (0.0, 0.0),
        (-0.0, -0.0),
        (5e-324, 5e-324),
        (-5e-324, -5e-324),
        (1e-300, 1e-300),
        (710.0, INF),
        (-50.0, -1.0),
    ],
    "log": [
        (NAN, NAN),
        (INF, INF),
        (-INF, NAN),
        (0.0, -INF),
        (-0.0, -INF),
        (-1.0, NAN),
        (-5e-324, NAN),
        (1.0, 0.0),
        (5e-324, -744.4400719213812),
        (1.7976931348623157e308, 709.782712893384),
    ],
    "log1p": [
        (NAN, NAN),
        (INF, INF),
        (-1.0, -INF),
        (-2.0, NAN),
        (-INF, NAN),
        (0.0, 0.0),
        (-0.0, -0.0),
        (5e-324, 5e-324),
        (-5e-324, -5e-324),
        (1e-300, 1e-300),
    ],
    "log2": [
        (NAN, NAN),
        (INF, INF),
        (0.0, -INF),
        (-0.0, -INF),
        (-1.0, NAN),
        (1.0, 0.0),
        (5e-324, -1074.0),
        (8.0, 3.0),
        (0.125, -3.0),
        (2.0**1023, 1023.0),
    ],
    "log10": [
        (NAN, NAN),
        (INF, INF),
        (0.0, -INF),
        (-0.0, -INF),
        (-1.0, NAN),
        (1.0, 0.0),
        (1000.0, 3.0),
        (1e-300, -300.0),
        (1e300, 300.0),
    ],
    "erf": [
        (NAN, NAN),
        (INF, 1.0),
        (-INF, -1.0),
        (0.0, 0.0),
        (-0.0, -0.0),
        (6.0, 1.0),
        (-6.0, -1.0),
        (1e300, 1.0),
        (1e-300, 1.1283791670955126e-300),
    ],
    "erfc": [
        (NAN, NAN),
        (INF, 0.0),
        (-INF, 2.0),
        (0.0, 1.0),
        (-0.0, 1.0),
        (27.3, 0.0),
        (27.2, 1e-323),
        (-6.0, 2.0),
        (1e300, 0.0),
        (26.5, 2.2109076642637343e-307),
    ],
}


def _same(a: float, b: float) -> bool:
    """Equal as IEEE values, with the sign of zero and NaN == NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_special_values(name, dtype):
    np_type = np.float64 if dtype == "f64" else np.float32
    pairs = SPECIALS[name]
    with np.errstate(over="ignore", under="ignore"):
        x = np.array([p[0] for p in pairs], dtype=np_type)
        want = np.array([p[1] for p in pairs], dtype=np_type)
    got = compiled(name, dtype)(x)
    for xi, g, w in zip(x.tolist(), got.tolist(), want.tolist(), strict=True):
        if dtype == "f32":  # the inputs were rounded to f32: expect libm's value, rounded
            with np.errstate(over="ignore"):
                w = float(np.float32(_math_reference(name)(xi)))
            if math.isfinite(w) and w != 0.0:
                assert abs(g - w) <= np.spacing(np.float32(abs(w))), (name, xi, g, w)
                continue
        assert _same(g, w), (name, dtype, xi, g, w)


def test_exact_results():
    """Exact cases stay exact: powers of two and ten, and exp/log at 0 and 1."""
    k = np.arange(-1074, 1024)
    assert np.array_equal(compiled("log2", "f64")(np.ldexp(1.0, k)), k.astype(np.float64))
    tens = np.arange(-307, 309)
    assert np.array_equal(compiled("log10", "f64")(10.0**tens), tens.astype(np.float64))
    k32 = np.arange(-149, 128)
    powers32 = np.ldexp(np.float32(1.0), k32).astype(np.float32)
    assert np.array_equal(compiled("log2", "f32")(powers32), k32.astype(np.float32))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_agrees_with_interpreter(name):
    rng = np.random.default_rng(7)
    x = rng.uniform(-3.0, 6.0, 500)
    if name.startswith("log"):
        x = np.abs(x) + (0.5 if name != "log1p" else 0.0)
    program = f"|v: vec[f64]| map(v, |y| {name}(y))"
    want = db.compile(program, backend="interp")(x)
    got = compiled(name, "f64")(x)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


# ----------------------------------------------------------------------------------------------
# Vectorisation: loops over these functions become SIMD code with no calls left.


def _optimised(program: str) -> str:
    text, _ = LLVMBackend().lower(typecheck(db.ir.parse(program)))
    return jit.optimized_ir(text)


def _scalar_math_calls(llvm_ir: str) -> list[str]:
    """Calls to libm or to scalar LLVM math intrinsics that codegen turns into libm calls."""
    called = set(re.findall(r"call [^@\n]*@\"?([\w.]+)", llvm_ir))
    libm = {f"{n}{s}" for n in FUNCTIONS for s in ("", "f")}
    intrinsics = {f"llvm.{n}.{t}" for n in ("exp", "log", "log2", "log10") for t in ("f64", "f32")}
    vector = re.compile(r"llvm\.(exp|log|log2|log10)\.v\d+")
    return sorted(c for c in called if c in libm or c in intrinsics or vector.match(c))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_reduction_loop_vectorises(name, dtype):
    program = f"|v: vec[{dtype}]| result(for(v, merger[{dtype},+], |b, i, x| merge(b, {name}(x))))"
    llvm_ir = _optimised(program)
    assert re.search(r"<(4|8|16) x double>", llvm_ir), name
    assert _scalar_math_calls(llvm_ir) == []


@pytest.mark.parametrize("name", ["exp", "log", "erf"])
def test_map_loop_has_no_math_calls(name):
    assert _scalar_math_calls(_optimised(f"|v: vec[f64]| map(v, |x| {name}(x))")) == []


def test_map_loop_vectorises():
    # appender merges in a loop get their room reserved up front (backends/llvm/reserve.py)
    assert re.search(r"<(4|8|16) x double>", _optimised("|v: vec[f64]| map(v, |x| erf(x))"))


def _vectorised_max_error(name: str, x: np.ndarray, ref: np.ndarray, scale: np.ndarray):
    """max |name(x) - ref| / scale computed by a max-merger loop, which vectorises (unlike a
    map over an appender today), so this measures the vector code path."""
    program = (
        "|x: vec[f64], ref: vec[f64], scale: vec[f64]| result(for(zip(x, ref, scale), "
        f"merger[f64,max], |b, i, e| merge(b, abs({name}(e.$0) - e.$1) / e.$2)))"
    )
    assert re.search(r"<(2|4|8) x double>", _optimised(program)), name
    return float(db.compile(program, backend="llvm")(x, ref, scale))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vector_code_matches_scalar_code(name):
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-30.0, 30.0, 50_000), rng.uniform(-1.0, 1.0, 50_000)])
    if name.startswith("log"):
        x = np.abs(x)
    scalar = compiled(name, "f64")(x)
    keep = np.isfinite(scalar)
    assert _vectorised_max_error(name, x[keep], scalar[keep], np.ones(keep.sum())) == 0.0


# ----------------------------------------------------------------------------------------------
# The functions left to the C library, vectorised through glibc's libmvec where it exists.

LIBMVEC_RANGES = {
    "sin": (-100.0, 100.0), "cos": (-100.0, 100.0), "tan": (-10.0, 10.0),
    "asin": (-1.0, 1.0), "acos": (-1.0, 1.0), "atan": (-100.0, 100.0),
    "sinh": (-700.0, 700.0), "cosh": (-700.0, 700.0), "tanh": (-20.0, 20.0),
    "asinh": (-1e10, 1e10), "acosh": (1.0, 1e10), "atanh": (-1.0, 1.0), "cbrt": (-1e10, 1e10),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LIBMVEC_RANGES))
def test_libmvec_functions(name):
    from daybreak.backends.llvm.vecmath import libmvec_isas

    if not libmvec_isas():
        pytest.skip("no glibc libmvec here: these functions run as scalar libm calls")
    program = f"|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, {name}(x))))"
    called = re.findall(r"call [^@\n]*@\"?([\w.]+)", _optimised(program))
    assert any(c.startswith("_ZGV") for c in called), called
    rng = np.random.default_rng(5)
    x = rng.uniform(*LIBMVEC_RANGES[name], 200_000)
    ref = np.fromiter(map(getattr(math, name), x.tolist()), np.float64, len(x))
    # glibc documents its vector functions to 4 ulp; measured against its scalar ones.
    assert _vectorised_max_error(name, x, ref, ulp_f64(ref)) <= 4.0 + 0.5


def test_a_function_this_libmvec_lacks_is_a_scalar_call(monkeypatch):
    """glibc adds vector functions over the years (`atan2` and `hypot` in 2.35): where this
    process's libmvec lacks a function's variants, none is declared (a declared variant that
    is missing would fail the module's linking) and loops call the scalar function."""
    from daybreak.backends.llvm import vecmath

    assert not vecmath._has_variants("no_such_function", 1)
    lacking = {"hypot"}
    real = vecmath._has_variants
    monkeypatch.setattr(vecmath, "_has_variants", lambda n, a: n not in lacking and real(n, a))
    program = "|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, hypot(x, 2.0))))"
    called = re.findall(r"call [^@\n]*@\"?([\w.]+)", _optimised(program))
    assert "hypot" in called and not any("hypot" in c and c.startswith("_ZGV") for c in called)
    x = np.random.default_rng(3).uniform(-50.0, 50.0, 1000)
    got = db.compile(program, backend="llvm")(x)
    assert got == pytest.approx(float(np.hypot(x, 2.0).sum()), rel=1e-12)
