"""Values for the program generator: hypothesis strategies for inputs in the marshalled format of
docs/ir.md "From Python", a checker that a value has that format, and a tolerant comparison.

Marshalled format: scalars are NumPy scalars of the exact dtype; `vec[scalar]` a 1-D array of
that dtype; `vec[struct of scalars]` a structured array (fields in order); other vectors a list;
structs tuples; dicts Python dicts (keys marshalled like values; struct keys are tuples).
`tests.ir.generators` re-exports everything here.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pyarrow as pa
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from daybreak.ir.ops import int_max, int_min
from daybreak.ir.types import Dict, Scalar, Struct, Type, Vec


def _is_flat_struct(t: Type) -> bool:
    return isinstance(t, Struct) and bool(t.fields) and all(isinstance(f, Scalar) for f in t.fields)


def structured_dtype(t: Struct) -> np.dtype:
    """The NumPy dtype of the elements of a vec[struct of scalars]: fields f0, f1, ..."""
    return np.dtype([(f"f{k}", f.dtype) for k, f in enumerate(t.fields)])


# ----------------------------------------------------------------------------------------------
# Scalars.


@cache
def int_literal_values(t: Scalar) -> st.SearchStrategy[int]:
    lo, hi = int_min(t), int_max(t)
    edges = [v for v in (0, 1, -1, 2, lo, hi, lo + 1, hi - 1) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


@cache
def float_values(
    t: Scalar, finite: bool = False, bound: float | None = None, canonical_nan: bool = True
) -> st.SearchStrategy[float]:
    """Floats of f32/f64 (as Python floats exactly representable in t), specials included."""
    width = 32 if t.kind == "f32" else 64
    if bound is not None:
        b = float(np.float32(bound)) if width == 32 else bound
        general = st.floats(-b, b, width=width)
        edges = [0.0, -0.0, 1.0, -1.0, 0.5, b, -b]
    else:
        general = st.floats(width=width, allow_nan=not finite, allow_infinity=not finite)
        big = float(np.finfo(t.dtype).max)
        tiny = float(np.finfo(t.dtype).smallest_subnormal)
        edges = [0.0, -0.0, 1.0, -1.0, 0.5, 1e30 if width == 64 else 3e38, big, -big, tiny]
        if not finite:
            edges += [math.inf, -math.inf, math.nan]
    if width == 32:  # every value must be exactly a float32
        edges = [float(np.float32(e)) for e in edges]
    out = st.one_of(st.sampled_from(edges), general)
    if canonical_nan:
        # NaN payloads do not survive printing (`nan`); keep the one canonical NaN.
        out = out.map(lambda x: math.nan if math.isnan(x) else x)
    return out


@cache
def scalar_values(t: Scalar, finite: bool = False, bound: float | None = None) -> st.SearchStrategy:
    """Python values of scalar type t (bool, int or float); `finite` and `bound` apply to
    floats."""
    if t.kind == "bool":
        return st.booleans()
    if t.is_int:
        return int_literal_values(t)
    return float_values(t, finite, bound)


# ----------------------------------------------------------------------------------------------
# Marshalled inputs.


@cache
def values(
    t: Type, length: int | None = None, finite: bool = False, bound: float | None = None
) -> st.SearchStrategy:
    """Marshalled values of type t. `length` fixes the length of a top-level vector."""
    if isinstance(t, Scalar):
        return scalar_values(t, finite, bound).map(t.dtype.type)
    if isinstance(t, Vec):
        size = st.just(length) if length is not None else st.integers(0, 3)
        e = t.elem
        if isinstance(e, Scalar):
            elems = scalar_values(e, finite, bound)
            return size.flatmap(lambda n: hnp.arrays(e.dtype, n, elements=elems))
        if _is_flat_struct(e):
            row = st.tuples(*(scalar_values(f, finite, bound) for f in e.fields))
            dt = structured_dtype(e)
            return size.flatmap(lambda n: st.lists(row, min_size=n, max_size=n)).map(
                lambda rows: np.array(rows, dtype=dt)
            )
        inner = values(e, None, finite, bound)
        return size.flatmap(lambda n: st.lists(inner, min_size=n, max_size=n))
    if isinstance(t, Struct):
        return st.tuples(*(values(f, None, finite, bound) for f in t.fields))
    if isinstance(t, Dict):
        keys = values(t.key, None, finite, bound)
        return st.lists(st.tuples(keys, values(t.value, None, finite, bound)), max_size=3).map(
            lambda items: _dict_from(items, t.key)
        )
    raise TypeError(f"no values for type {t}")


def _dict_from(items, key_t: Type) -> dict:
    out, seen = {}, set()
    for k, v in items:
        c = canonical(k, key_t)
        if c not in seen:
            seen.add(c)
            out[k] = v
    return out


# ----------------------------------------------------------------------------------------------
# Checking the marshalled format of an output.


def check_marshalled(value, t: Type, path: str = "result") -> None:
    """Raise AssertionError (naming the offending part) unless value is t in marshalled form."""
    if isinstance(t, Scalar):
        ok = isinstance(value, np.generic) and value.dtype == t.dtype
        got = f"{type(value).__name__} {value!r}"
        assert ok, f"{path}: expected a NumPy {t.dtype} scalar, got {got}"
        return
    if isinstance(t, Vec):
        e = t.elem
        if e == Vec(Scalar("i8")) and isinstance(value, pa.Array):  # strings out: Arrow
            assert value.type == pa.binary(), f"{path}: Arrow {value.type}, expected binary"
            assert value.null_count == 0, f"{path}: strings with nulls"
            return
        if isinstance(e, Scalar) or _is_flat_struct(e):
            assert isinstance(value, np.ndarray), f"{path}: expected an array, got {type(value)}"
            assert value.ndim == 1, f"{path}: expected a 1-D array, got shape {value.shape}"
            if isinstance(e, Scalar):
                assert value.dtype == e.dtype, f"{path}: dtype {value.dtype}, expected {e.dtype}"
            else:
                names = value.dtype.names or ()
                got = [value.dtype.fields[n][0] for n in names]
                want = [f.dtype for f in e.fields]
                assert got == want, f"{path}: structured dtype {value.dtype}, expected {want}"
            return
        assert isinstance(value, list), f"{path}: expected a list for {t}, got {type(value)}"
        for k, item in enumerate(value):
            check_marshalled(item, e, f"{path}[{k}]")
        return
    if isinstance(t, Struct):
        assert isinstance(value, tuple), f"{path}: expected a tuple for {t}, got {type(value)}"
        assert len(value) == len(t.fields), f"{path}: {len(value)} fields, expected {t}"
        for k, (item, f) in enumerate(zip(value, t.fields, strict=True)):
            check_marshalled(item, f, f"{path}.${k}")
        return
    if isinstance(t, Dict):
        assert isinstance(value, dict), f"{path}: expected a dict for {t}, got {type(value)}"
        for k, v in value.items():
            _check_key(k, t.key, f"{path} key {k!r}")
            check_marshalled(v, t.value, f"{path}[{k!r}]")
        return
    raise TypeError(f"{t} is not a value type")


def _check_key(key, t: Type, path: str) -> None:
    # Arrays are not hashable: vector keys are tuples (strings bytes), struct keys tuples.
    if isinstance(t, Vec):
        if t.elem == Scalar("i8") and isinstance(key, bytes):
            return
        assert isinstance(key, tuple), f"{path}: expected a tuple key for {t}, got {type(key)}"
        for k, item in enumerate(key):
            _check_key(item, t.elem, f"{path}[{k}]")
    elif isinstance(t, Struct):
        assert isinstance(key, tuple), f"{path}: expected a tuple key for {t}, got {type(key)}"
        assert len(key) == len(t.fields), f"{path}: {len(key)} fields, expected {t}"
        for k, (item, f) in enumerate(zip(key, t.fields, strict=True)):
            _check_key(item, f, f"{path}.${k}")
    else:
        check_marshalled(key, t, path)


# ----------------------------------------------------------------------------------------------
# Comparing outputs (of two backends, or of a backend and an expectation).


_NAN_KEY = ("nan",)


def canonical(value, t: Type):
    """A hashable, exact form of a value: NaN is one value, -0.0 is 0.0 (dict key equality)."""
    if isinstance(t, Scalar):
        v = value.item() if isinstance(value, np.generic) else value
        if t.is_float:
            return _NAN_KEY if math.isnan(v) else float(v) + 0.0
        return bool(v) if t.kind == "bool" else int(v)
    if isinstance(t, Struct):
        return tuple(canonical(v, f) for v, f in zip(value, t.fields, strict=True))
    if isinstance(t, Vec):
        if isinstance(value, bytes):
            value = np.frombuffer(value, dtype=np.int8)
        return tuple(canonical(v, t.elem) for v in value)
    raise TypeError(f"values of type {t} are not dictionary keys here")


def values_equal(a, b, t: Type, rtol: float = 1e-6, atol: float = 1e-12) -> bool:
    """Are a and b the same value of type t? NaN equals NaN, floats within rtol/atol (f32 at
    least 1e-4 relative), integers and order exact, dicts compared by key."""
    return values_difference(a, b, t, rtol, atol) is None


def values_difference(
    a, b, t: Type, rtol: float = 1e-6, atol: float = 1e-12, path: str = "result"
) -> str | None:
    """None when values_equal(a, b, t), else where and how they differ."""
    if isinstance(t, Scalar):
        return _scalar_difference(a, b, t, rtol, atol, path)
    if isinstance(t, Vec):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} and {len(b)}"
        if isinstance(a, pa.Array) or isinstance(b, pa.Array):  # strings
            a, b = _strings(a), _strings(b)
            bad = [k for k, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
            return f"{path}[{bad[0]}]: {a[bad[0]]!r} != {b[bad[0]]!r}" if bad else None
        if isinstance(t.elem, Scalar) and isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            bad = ~_close_arrays(a, b, t.elem, rtol, atol)
            if bad.any():
                k = int(np.argmax(bad))
                return f"{path}[{k}]: {a[k]!r} != {b[k]!r}"
            return None
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            d = values_difference(x, y, t.elem, rtol, atol, f"{path}[{k}]")
            if d:
                return d
        return None
    if isinstance(t, Struct):
        if len(a) != len(t.fields) or len(b) != len(t.fields):
            return f"{path}: struct sizes {len(a)} and {len(b)}, type {t}"
        for k, f in enumerate(t.fields):
            d = values_difference(a[k], b[k], f, rtol, atol, f"{path}.${k}")
            if d:
                return d
        return None
    if isinstance(t, Dict):
        ca = {canonical(k, t.key): (k, v) for k, v in a.items()}
        cb = {canonical(k, t.key): (k, v) for k, v in b.items()}
        pairs = [(ca[k][1], cb[k][1], k) for k in ca.keys() & cb.keys()]
        only_a = sorted(ca.keys() - cb.keys(), key=str)
        only_b = sorted(cb.keys() - ca.keys(), key=str)
        # Float keys computed by math functions agree within their ulp bounds, not exactly
        # (an f32 `asinh` of 3e15: 36.352264 and 36.352268): a key of one side pairs with a
        # close key of the other, as values are compared.
        for ka in list(only_a):
            for kb in only_b:
                if values_difference(ca[ka][0], cb[kb][0], t.key, rtol, atol) is None:
                    pairs.append((ca[ka][1], cb[kb][1], ka))
                    only_a.remove(ka)
                    only_b.remove(kb)
                    break
        if only_a or only_b:
            return (
                f"{path}: keys only in first {list(map(str, only_a))}, "
                f"only in second {list(map(str, only_b))}"
            )
        for x, y, k in pairs:
            d = values_difference(x, y, t.value, rtol, atol, f"{path}[{k!r}]")
            if d:
                return d
        return None
    raise TypeError(f"{t} is not a value type")


def _strings(value) -> list[bytes]:
    if isinstance(value, pa.Array):
        return value.to_pylist()
    return [np.asarray(x, dtype=np.int8).tobytes() for x in value]


def _tolerance(t: Scalar, rtol: float) -> float:
    return max(rtol, 1e-4) if t.kind == "f32" and rtol > 0 else rtol


def _scalar_difference(a, b, t: Scalar, rtol, atol, path) -> str | None:
    a = a.item() if isinstance(a, np.generic) else a
    b = b.item() if isinstance(b, np.generic) else b
    if not t.is_float:
        same = bool(a) == bool(b) if t.kind == "bool" else int(a) == int(b)
        return None if same else f"{path}: {a!r} != {b!r}"
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return None if math.isnan(a) and math.isnan(b) else f"{path}: {a!r} != {b!r}"
    if math.isinf(a) or math.isinf(b):
        return None if a == b else f"{path}: {a!r} != {b!r}"
    if abs(a - b) <= atol + _tolerance(t, rtol) * max(abs(a), abs(b)):
        return None
    return f"{path}: {a!r} != {b!r} (rtol={_tolerance(t, rtol)}, atol={atol})"


def _close_arrays(a: np.ndarray, b: np.ndarray, t: Scalar, rtol, atol) -> np.ndarray:
    if not t.is_float:
        return a.astype(t.dtype) == b.astype(t.dtype)
    x, y = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore", over="ignore"):
        inf = np.isinf(x) | np.isinf(y)
        close = np.abs(x - y) <= atol + _tolerance(t, rtol) * np.maximum(np.abs(x), np.abs(y))
    return both_nan | np.where(inf, x == y, close)
