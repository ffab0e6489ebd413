"""Values crossing between Python and the reference interpreter (docs/ir.md, "From Python").

    >>> import numpy as np
    >>> from daybreak.ir.types import F64, I32, Struct, Vec
    >>> to_interp(np.array([1.0, 2.5]), Vec(F64), "v")
    (1.0, 2.5)
    >>> from_interp((1.0, 2.5), Vec(F64))
    array([1. , 2.5])
    >>> to_interp(np.array([1, 2], dtype=np.int32), Vec(F64), "v")
    Traceback (most recent call last):
    ...
    TypeError: parameter 'v' (vec[f64]): expected a 1-D array of float64, got int32

How each type crosses (in: Python -> interpreter; out: interpreter -> Python):

- scalar: in, a Python scalar of the right kind (ints range-checked) or a NumPy scalar of the
  exact dtype; out, a NumPy scalar of the exact dtype.
- `vec[scalar]`: a 1-D NumPy array of the exact dtype, both ways (`vec[i8]` also takes
  `bytes`/`str`, UTF-8).
- `vec[struct]`: in, a structured array with matching field dtypes or a list of tuples; out, a
  structured array (fields f0, f1, ...) when all fields are scalars, else a list of tuples.
- `vec[vec[...]]`, `vec[dict]`: a list of what the element takes (in, also a 2-D array;
  `vec[vec[i8]]` also Arrow string/binary arrays and NumPy bytes/str arrays); out, a list
  (strings: an Arrow binary array).
- struct: a tuple (in, also a list).
- `dict[K,V]`: a dict; struct keys are tuples; `vec[i8]` keys are `bytes` (in, also `str`);
  other vector keys are tuples.

Interpreter values are those of `daybreak.ir.interp`. Bad input raises TypeError (wrong kind or
dtype) or ValueError (wrong shape, length, range), always naming the parameter and where in it
the problem is.
"""

from __future__ import annotations

import math
import reprlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..ir.ops import canonical_key, int_max, int_min, to_f32
from ..ir.types import I8, STRING, Dict, Scalar, Struct, Type, Vec

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


class _Where:
    """Which value is being converted: the start of every error message."""

    __slots__ = ("subject",)

    def __init__(self, subject: str):
        self.subject = subject

    def fail(self, path: str, problem: str, error: type[Exception] = TypeError):
        at = f" at {path}" if path else ""
        raise error(f"{self.subject}{at}: {problem}")


def to_interp(value, ty: Type, name: str, *, subject: str | None = None):
    """Convert a Python/NumPy value to the interpreter value of type `ty`, strictly.

    `name` is the parameter's name, for error messages (`subject` replaces the whole
    "parameter 'v' (vec[f64])" prefix when the value is not a parameter).
    """
    where = _Where(subject or f"parameter {name!r} ({ty})")
    return _to_interp(value, ty, where, "")


def from_interp(value, ty: Type):
    """Convert an interpreter value of type `ty` to NumPy/Python values."""
    handler = _OUT.get(type(ty))
    if handler is None or ty.is_builder:
        raise TypeError(f"a value of type {ty} cannot be returned to Python")
    return handler(value, ty)


def call_python_udf(name: str, fn: Callable, values: Sequence, arg_types: Sequence[Type], ret):
    """Call a Python UDF from the interpreter: NumPy values in, a checked `ret` value out."""
    args = [from_interp(v, t) for v, t in zip(values, arg_types, strict=True)]
    out = fn(*args)
    return to_interp(out, ret, name, subject=f"the result of cudf[{name}, {ret}]")


def _to_interp(value, ty: Type, where: _Where, path: str):
    handler = _IN.get(type(ty))
    if handler is None or ty.is_builder:
        where.fail(path, f"a value of type {ty} cannot be passed from Python")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        # Subclasses (memmap, matrix) read as plain arrays; a masked array has no value
        # where it is masked (tolist() would give None), so it is refused.
        if isinstance(value, np.ma.MaskedArray):
            where.fail(path, "masked arrays are not accepted (fill or compress them first)")
        value = np.asarray(value)
    return handler(value, ty, where, path)


def _kind_of(value) -> str:
    """How a value is described in messages: 'list', 'a 2-D array of int32', ..."""
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-D array of {value.dtype}"
    if isinstance(value, np.generic):
        return f"a NumPy {value.dtype} scalar"
    return type(value).__name__


def _same_dtype(got: np.dtype, want: np.dtype) -> bool:
    # The same type in either byte order (NumPy reads both).
    return got.names is None and got.shape == () and got.newbyteorder("=") == want


# ----------------------------------------------------------------------------------------------
# In: scalars.


def _scalar_in(value, t: Scalar, where: _Where, path: str):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        if not _same_dtype(value.dtype, t.dtype):
            where.fail(path, f"expected {_scalar_wanted(t)}, got {_kind_of(value)}")
        return value.item()
    return _PY_SCALAR_IN[_scalar_class(t)](value, t, where, path)


def _scalar_class(t: Scalar) -> str:
    return "bool" if t.kind == "bool" else "int" if t.is_int else "float"


def _scalar_wanted(t: Scalar) -> str:
    python = {"bool": "bool", "int": "int", "float": "float or int"}[_scalar_class(t)]
    return f"a Python {python} or a NumPy {t.dtype} scalar"


def _py_bool_in(value, t: Scalar, where: _Where, path: str):
    if not isinstance(value, bool):
        where.fail(path, f"expected {_scalar_wanted(t)}, got {_kind_of(value)}")
    return value


def _py_int_in(value, t: Scalar, where: _Where, path: str):
    if not isinstance(value, int) or isinstance(value, bool):
        where.fail(path, f"expected {_scalar_wanted(t)}, got {_kind_of(value)}")
    lo, hi = int_min(t), int_max(t)
    if not lo <= value <= hi:
        where.fail(path, f"{value} is out of range for {t} [{lo}, {hi}]", ValueError)
    return int(value)


def _py_float_in(value, t: Scalar, where: _Where, path: str):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        where.fail(path, f"expected {_scalar_wanted(t)}, got {_kind_of(value)}")
    try:
        v = float(value)
    except OverflowError:
        where.fail(path, f"{value} is out of range for {t}", ValueError)
    if t.kind == "f32":
        rounded = to_f32(v)
        if math.isinf(rounded) and not math.isinf(v):
            where.fail(path, f"{v!r} is out of range for f32", ValueError)
        return rounded
    return v


_PY_SCALAR_IN = {"bool": _py_bool_in, "int": _py_int_in, "float": _py_float_in}


# ----------------------------------------------------------------------------------------------
# In: vectors.


def _vec_in(value, t: Vec, where: _Where, path: str):
    if isinstance(t.elem, Scalar):
        return _scalar_vec_in(value, t, where, path)
    if isinstance(t.elem, Struct):
        return _struct_vec_in(value, t, where, path)
    return _nested_vec_in(value, t, where, path)


def _string_in(value, where: _Where, path: str) -> tuple:
    if isinstance(value, str):
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError as e:
            problem = f"{e.reason}: {value[e.start]!r} at character {e.start}"
            where.fail(path, f"the string cannot be encoded as UTF-8 ({problem})", ValueError)
    return tuple(np.frombuffer(bytes(value), dtype=np.int8).tolist())


def _scalar_vec_in(value, t: Vec, where: _Where, path: str):
    dtype = t.elem.dtype
    if t.elem == I8 and isinstance(value, (bytes, bytearray, str)):
        return _string_in(value, where, path)
    wanted = f"a 1-D array of {dtype}"
    if isinstance(value, np.ndarray):
        if not _same_dtype(value.dtype, dtype):
            got = value.dtype if value.ndim == 1 else _kind_of(value)
            where.fail(path, f"expected {wanted}, got {got}")
        if value.ndim != 1:
            where.fail(path, f"expected {wanted}, got {_kind_of(value)}", ValueError)
        return tuple(value.tolist())
    also = " (or bytes or str)" if t.elem == I8 else ""
    where.fail(path, f"expected {wanted}{also}, got {_kind_of(value)}")


def _struct_vec_in(value, t: Vec, where: _Where, path: str):
    st = t.elem
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        if not _structured_matches(value.dtype, st):
            where.fail(path, f"expected a structured array of {st}, got {value.dtype}")
        if value.ndim != 1:
            where.fail(path, f"expected a 1-D structured array, got {_kind_of(value)}", ValueError)
        return tuple(value.tolist())  # records come out as (nested) tuples of Python scalars
    if isinstance(value, (list, tuple)) or _is_object_vector(value):
        return tuple(_struct_in(x, st, where, f"{path}[{i}]") for i, x in enumerate(value))
    where.fail(
        path, f"expected a structured array of {st} or a list of tuples, got {_kind_of(value)}"
    )


def _structured_matches(dtype: np.dtype, st: Struct) -> bool:
    if dtype.names is None or dtype.shape != () or len(dtype.names) != len(st.fields):
        return False
    for name, field in zip(dtype.names, st.fields, strict=True):
        sub = dtype.fields[name][0]
        if isinstance(field, Scalar):
            if not _same_dtype(sub, field.dtype):
                return False
        elif not (isinstance(field, Struct) and _structured_matches(sub, field)):
            return False
    return True


def _is_object_vector(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 1


def _nested_vec_in(value, t: Vec, where: _Where, path: str):
    elem = t.elem
    if elem == STRING:
        strings = _arrow_strings_in(value, where, path)
        if strings is not None:
            return strings
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "SU":
            return tuple(_string_in(s, where, f"{path}[{i}]") for i, s in enumerate(value))
    rows = isinstance(value, np.ndarray) and value.ndim >= 2 and isinstance(elem, Vec)
    if isinstance(value, (list, tuple)) or _is_object_vector(value) or rows:
        return tuple(_to_interp(x, elem, where, f"{path}[{i}]") for i, x in enumerate(value))
    strings = " (or an Arrow string array)" if elem == STRING else ""
    where.fail(path, f"expected a list of {elem}{strings}, got {_kind_of(value)}")


def _arrow_strings_in(value, where: _Where, path: str) -> tuple | None:
    pa = sys.modules.get("pyarrow")  # an Arrow array exists only if pyarrow was imported
    if pa is None or not isinstance(value, (pa.Array, pa.ChunkedArray)):
        return None
    typ = value.type
    kinds = ("is_string", "is_large_string", "is_binary", "is_large_binary", "is_string_view")
    if not any(getattr(pa.types, k, lambda t: False)(typ) for k in kinds):
        where.fail(path, f"expected an Arrow string or binary array, got an Arrow {typ} array")
    items = value.to_pylist()
    out = []
    for i, s in enumerate(items):
        if s is None:
            where.fail(f"{path}[{i}]", "strings cannot be null", ValueError)
        out.append(_string_in(s, where, f"{path}[{i}]"))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# In: structs and dictionaries.


def _struct_in(value, t: Struct, where: _Where, path: str):
    if isinstance(value, np.void) and value.dtype.names is not None:
        value = value.item()
    n = len(t.fields)
    if not isinstance(value, (tuple, list)):
        where.fail(path, f"expected a tuple of {n} fields, got {_kind_of(value)}")
    if len(value) != n:
        where.fail(path, f"expected a tuple of {n} fields, got {len(value)}", ValueError)
    return tuple(
        _to_interp(x, f, where, f"{path}.${i}")
        for i, (x, f) in enumerate(zip(value, t.fields, strict=True))
    )


def _dict_in(value, t: Dict, where: _Where, path: str):
    if not isinstance(value, Mapping):
        where.fail(path, f"expected a dict, got {_kind_of(value)}")
    out: dict = {}
    originals: dict = {}
    for k, v in value.items():
        at = f"{path}[{_short.repr(k)}]"
        key = canonical_key(_key_in(k, t.key, where, f"{at} (the key)"), t.key)
        if key in originals:
            first = _short.repr(originals[key])
            where.fail(at, f"the keys {first} and {_short.repr(k)} are the same key", ValueError)
        originals[key] = k
        out[key] = _to_interp(v, t.value, where, at)
    return out


def _key_in(value, t: Type, where: _Where, path: str):
    # Arrays are not hashable, so vector keys also come as tuples (strings as bytes or str).
    if isinstance(t, Vec) and isinstance(value, tuple):
        return tuple(_key_in(x, t.elem, where, f"{path}[{i}]") for i, x in enumerate(value))
    if isinstance(t, Struct) and isinstance(value, tuple) and len(value) == len(t.fields):
        return tuple(
            _key_in(x, f, where, f"{path}.${i}")
            for i, (x, f) in enumerate(zip(value, t.fields, strict=True))
        )
    return _to_interp(value, t, where, path)


_IN: dict[type, Callable[[Any, Any, _Where, str], Any]] = {
    Scalar: _scalar_in,
    Vec: _vec_in,
    Struct: _struct_in,
    Dict: _dict_in,
}


# ----------------------------------------------------------------------------------------------
# Out.


def arrow_binary(strings: list[bytes]):
    """Strings out (a vec[vec[i8]]): an Arrow binary array, as both backends return them.

    >>> arrow_binary([b"ab", b""]).to_pylist()
    [b'ab', b'']
    """
    import pyarrow as pa

    return pa.array(strings, type=pa.binary())


def _scalar_out(value, t: Scalar):
    return t.dtype.type(value)


def _record_dtype(st: Struct) -> np.dtype | None:
    """The structured dtype of a struct whose fields are all scalars (else None)."""
    if not st.fields or not all(isinstance(f, Scalar) for f in st.fields):
        return None
    return np.dtype([(f"f{i}", f.dtype) for i, f in enumerate(st.fields)])


def _vec_out(value, t: Vec):
    elem = t.elem
    if elem == STRING:
        return arrow_binary([np.array(s, dtype=np.int8).tobytes() for s in value])
    if isinstance(elem, Scalar):
        return np.array(value, dtype=elem.dtype)
    if isinstance(elem, Struct):
        dtype = _record_dtype(elem)
        if dtype is not None:
            return np.array(list(value), dtype=dtype)
    return [from_interp(x, elem) for x in value]


def _struct_out(value, t: Struct):
    return tuple(from_interp(x, f) for x, f in zip(value, t.fields, strict=True))


def _key_out(value, t: Type):
    if isinstance(t, Vec):
        if t == STRING:
            return np.array(value, dtype=np.int8).tobytes()
        return tuple(_key_out(x, t.elem) for x in value)
    if isinstance(t, Struct):
        return tuple(_key_out(x, f) for x, f in zip(value, t.fields, strict=True))
    return from_interp(value, t)


def _dict_out(value, t: Dict):
    return {_key_out(k, t.key): from_interp(v, t.value) for k, v in value.items()}


_OUT: dict[type, Callable[[Any, Any], Any]] = {
    Scalar: _scalar_out,
    Vec: _vec_out,
    Struct: _struct_out,
    Dict: _dict_out,
}
