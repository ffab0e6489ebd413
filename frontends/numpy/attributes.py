"""The rest of `numpy.ndarray`'s surface on daybreak arrays: `real`, `imag`, `conj`, `mT`,
`flat`, `shape =`, `in`, the memory attributes (`strides`, `flags`, `tobytes`...), and the
methods NumPy runs in place (`resize`, `put`, `partition`, `setfield`, `byteswap`).

Lazy arrays are never complex, so `real` is the array itself and `imag` zeros, both lazy.
Memory attributes describe the computed array (a lazy one is laid out in C order). In-place
methods run NumPy on a copy of the values (a counted fallback) and rebind the array, as the
in-place operators do: daybreak never writes into a buffer someone else may hold.

>>> import daybreak.numpy as dnp
>>> x = dnp.arange(6.0)
>>> x.shape = (2, 3)
>>> x.real.tolist(), x.mT.shape, 4.0 in x
([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], (3, 2), True)
"""

from __future__ import annotations

import types

import numpy as np

from . import shapes
from .array import concrete_expr, ndarray
from .fallback import check_allowed, run_numpy, to_numpy
from .methods import call_ufunc, same_elements


def _real(self):
    """`ndarray.real`: a real array is its own real part (a view: writes reach `self`)."""
    return same_elements(self)


def _set_real(self, value):
    self[...] = value


def _imag(self):
    """`ndarray.imag`: zeros, for a real array."""
    from .creation import zeros

    return zeros(self.shape, self.dtype)


def _set_imag(self, value):
    raise TypeError("array does not have imaginary part to set")


def _matrix_transpose(self):
    if self.ndim < 2:
        raise ValueError("matrix transpose with ndim < 2 is undefined")
    return shapes.swapaxes(self, -1, -2)


def _set_shape(self, value):
    """`a.shape = ...`: `a` rebound to its reshape (a view stops writing to its base)."""
    new = shapes.stand_in(self.shape).reshape(value).shape  # NumPy's errors, -1 resolved
    self._expr = shapes.reshape_expr(self._expr, self._shape, new)
    self._shape = new
    self._base = None


def _contains(self, value) -> bool:
    """`value in a`: NumPy's `(a == value).any()`."""
    return bool(np.asarray(self == value).any())


def _delitem(self, key):
    raise ValueError("cannot delete array elements")


class FlatIter:
    """`a.flat`: the elements in C order. Integers and slices read and write lazily; other
    keys are NumPy's (counted)."""

    __slots__ = ("base",)

    def __init__(self, base: ndarray):
        self.base = base

    def __len__(self) -> int:
        return self.base.size

    def __iter__(self):
        return iter(np.asarray(self.base.value()).reshape(-1))

    def __array__(self, dtype=None, copy=None):
        return np.asarray(shapes.ravel(self.base), dtype=dtype)

    def copy(self):
        return shapes.ravel(self.base).copy()

    def __getitem__(self, key):
        if isinstance(key, int | np.integer | slice):
            return shapes.ravel(self.base)[key]
        return run_numpy("flat indexing with an array", _flat_get, (self.base, key))

    def __setitem__(self, key, value):
        base = self.base
        flat = shapes.ravel(base)
        if isinstance(key, int | np.integer | slice) and np.ndim(value) == 0:
            flat[key] = value
            base._expr = shapes.reshape_expr(flat._expr, flat.shape, base.shape)
        else:  # NumPy repeats a short value along the key: its own rule
            check_allowed("flat assignment of an array")
            target = np.array(base.value(), copy=True)
            target.flat[to_numpy(key)] = to_numpy(value)
            base._expr = concrete_expr(target)[0]
        base.write_back()


def _flat_get(value, key):
    return np.asarray(value).flat[key]


def _in_place(name: str):
    """A method NumPy runs in place: on a copy of the values, then `self` is rebound to them."""

    def method(self, *args, **kwargs):
        if name == "resize" and self._base is not None:
            raise ValueError("cannot resize this array: it does not own its data")
        check_allowed(f"method {name}")
        target = np.array(self.value(), copy=True)
        result = getattr(target, name)(*to_numpy(args), **to_numpy(kwargs))
        self._expr, self._shape = concrete_expr(target)[0], target.shape
        self.write_back()
        return self if result is target else result

    method.__name__ = name
    method.__doc__ = f"`numpy.ndarray.{name}`, by NumPy on the values (a counted fallback)."
    return method


def _byteswap(self, inplace=False):
    """`ndarray.byteswap` (NumPy's, counted)."""
    if inplace:
        return _in_place("byteswap")(self, True)
    return run_numpy("method byteswap", lambda v: np.asarray(v).byteswap(), (self,))


def _of_value(name: str):
    """An attribute of the computed array (memory layout, bytes): what it is made of, not a
    computation, so not a fallback (like `tolist`)."""
    return property(
        lambda self: getattr(np.asarray(self.value()), name),
        doc=f"`numpy.ndarray.{name}` of the computed array.",
    )


def _value_method(name: str):
    def method(self, *args, **kwargs):
        return getattr(np.asarray(self.value()), name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"`numpy.ndarray.{name}` of the computed array."
    return method


ndarray.real = property(_real, _set_real)
ndarray.imag = property(_imag, _set_imag)
ndarray.conj = ndarray.conjugate = lambda self: call_ufunc(np.conjugate, self)
ndarray.mT = property(_matrix_transpose)
ndarray.shape = property(ndarray.shape.fget, _set_shape, doc=ndarray.shape.__doc__)
ndarray.flat = property(FlatIter, doc="`numpy.ndarray.flat`: the elements in C order.")
ndarray.__contains__ = _contains
ndarray.__delitem__ = _delitem
ndarray.__class_getitem__ = classmethod(types.GenericAlias)
for _name in ("resize", "put", "partition", "setfield"):
    setattr(ndarray, _name, _in_place(_name))
ndarray.byteswap = _byteswap
for _name in ("strides", "flags", "data", "ctypes", "base", "device"):
    setattr(ndarray, _name, _of_value(_name))
for _name in ("tobytes", "tofile", "dump", "dumps", "to_device", "__dlpack__", "__dlpack_device__"):
    setattr(ndarray, _name, _value_method(_name))
