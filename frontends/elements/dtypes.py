"""NumPy dtypes <-> IR scalar types, and NumPy's own answers about result dtypes.

We never re-implement NumPy's promotion rules: we ask NumPy, on empty arrays (no data is
touched), so results and error messages are NumPy's exactly (NEP 50 included: a Python scalar
stays a Python scalar in the probe, so it promotes weakly).

>>> ir_scalar(np.dtype("int32"))
Scalar(kind='i32')
>>> loop_dtypes(np.add, [np.dtype("int8"), 3])
((dtype('int8'), dtype('int8')), (dtype('int8'),))
"""

from __future__ import annotations

import numpy as np

from daybreak.ir.types import SCALAR_DTYPES, Scalar

_BY_DTYPE: dict[np.dtype, Scalar] = {dt: Scalar(k) for k, dt in SCALAR_DTYPES.items()}
_DTYPE_CLASSES = frozenset(type(dt) for dt in _BY_DTYPE)  # NumPy's classes of those dtypes


def ir_scalar(dtype: np.dtype) -> Scalar | None:
    """The IR scalar type of a NumPy dtype, or None when the IR has none (complex, float16,
    datetime, strings, objects...)."""
    if type(dtype) in _DTYPE_CLASSES:  # (a NumPy dtype already: most calls)
        return _BY_DTYPE.get(dtype)
    return _BY_DTYPE.get(np.dtype(dtype))


def is_supported(dtype) -> bool:
    if type(dtype) in _DTYPE_CLASSES:  # (a NumPy dtype already: most calls)
        return dtype in _BY_DTYPE
    try:
        return np.dtype(dtype) in _BY_DTYPE
    except TypeError:
        return False


_MISSING = {
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "U": "string",
    "S": "bytes",
    "O": "object",
    "V": "structured or void",
}


def why_unsupported(dtype) -> str:
    """Why the IR cannot hold elements of `dtype` (for fallback reasons).

    >>> why_unsupported(np.dtype("complex128"))
    'dtype complex128 (the IR has no complex type)'
    """
    dtype = np.dtype(dtype)
    found = _WHY.get(dtype)
    if found is None:  # (kept: a loop over complex data asks per call, and NumPy's dtype
        # names are Python code, ~2 us each)
        if dtype.kind == "f":
            found = f"dtype {dtype} (the IR's floats are float32 and float64)"
        else:
            found = f"dtype {dtype} (the IR has no {_MISSING.get(dtype.kind, str(dtype))} type)"
        if len(_WHY) < 256:
            _WHY[dtype] = found
    return found


_WHY: dict = {}


# The scalar types of the dtypes the IR has (NumPy's scalars, as they come out of arrays),
# and with Python's own: what the fast paths of Python loops test operands against.
NUMPY_SCALAR_TYPES = frozenset(SCALAR_DTYPES[k].type for k in SCALAR_DTYPES)
SCALAR_TYPES = NUMPY_SCALAR_TYPES | {int, float, bool}


def is_python_scalar(x) -> bool:
    return type(x) in (int, float, bool)


def probe(x, dtype_of):
    """What stands in for operand `x` when asking NumPy: Python scalars stay themselves
    (weak promotion), arrays become empty arrays of their dtype."""
    if is_python_scalar(x):
        return x
    return np.empty(0, dtype=dtype_of(x))


def _resolve_arg(x):
    if type(x) is bool:
        return np.dtype(bool)  # NEP 50: Python bools are not weak
    if type(x) in (int, float):
        return type(x)
    return x


def loop_dtypes(ufunc: np.ufunc, operands: list) -> tuple[tuple, tuple]:
    """The (input, output) dtypes of the inner loop NumPy picks for these operands (dtypes or
    Python scalars): the inputs are cast to the first, the results have the second."""
    sig = ufunc.resolve_dtypes(tuple(_resolve_arg(x) for x in operands) + (None,) * ufunc.nout)
    return tuple(sig[: ufunc.nin]), tuple(sig[ufunc.nin :])


def python_scalar_value(x, dtype: np.dtype):
    """A Python scalar converted to `dtype` the way NumPy casts it inside a ufunc."""
    return dtype.type(x).item()
