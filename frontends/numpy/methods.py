"""The NumPy protocols and methods of `ndarray`: operators (also reflected and in-place),
`__array_ufunc__` (so `numpy.exp(x)` and `scipy.special.erf(x)` stay lazy),
`__array_function__` (so `numpy.sum(x)` does too), reductions as methods, `astype`.

Operators are a table from dunder name to ufunc; everything lands in `call_ufunc`, which
falls back to NumPy (counted) for what `apply_ufunc` does not compile.
"""

from __future__ import annotations

import numpy as np

from ..elements.dtypes import is_supported
from . import reductions
from .array import as_operand, is_lazy, ndarray, wrap
from .fallback import check_allowed, run_numpy, to_numpy
from .ufuncs import NotCompiled, apply_ufunc, cast_expr

_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift,
}
_COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
            "gt": np.greater, "ge": np.greater_equal}
_UNARY = {"neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert}


def call_ufunc(ufunc, *inputs, out=None, **kwargs):
    """`ufunc(*inputs, out=out)` on daybreak arrays: lazy when compiled, else NumPy."""
    if ufunc is np.matmul:  # a gufunc: a product, not an elementwise loop
        from .linalg import matmul

        return matmul(*inputs, out=out, **kwargs)
    if isinstance(out, tuple):
        out = out[0] if len(out) == 1 else out
    lazy_out = out is not None and is_lazy(out)
    if not kwargs and (out is None or lazy_out):
        try:
            result = apply_ufunc(ufunc, list(inputs), out=out)
            if lazy_out:
                out.write_back()  # `row = a[0]; row += 1` changes `a` too
            return result
        except NotCompiled as why:
            reason = str(why)
    else:
        reason = f"{ufunc.__name__} with {', '.join(sorted(kwargs)) or 'out= a NumPy array'}"
    if lazy_out:
        result = run_numpy(reason, ufunc, inputs, kwargs)
        target = np.empty(0, out.dtype)
        with np.errstate(all="ignore"):  # NumPy's casting check for out=
            np.copyto(target, np.empty(0, np.asarray(result).dtype), casting="same_kind")
        out._expr = cast_expr(as_operand(result)._expr, out.dtype)
        out.write_back()
        return out
    if out is not None:
        kwargs["out"] = out
    return run_numpy(reason, ufunc, inputs, kwargs)


def _binary(ufunc):
    def forward(self, other):
        return call_ufunc(ufunc, self, other)

    def reflected(self, other):
        return call_ufunc(ufunc, other, self)

    def in_place(self, other):
        return call_ufunc(ufunc, self, other, out=self)

    return forward, reflected, in_place


for _name, _ufunc in _BINARY.items():
    _f, _r, _i = _binary(_ufunc)
    setattr(ndarray, f"__{_name}__", _f)
    setattr(ndarray, f"__r{_name}__", _r)
    setattr(ndarray, f"__i{_name}__", _i)
for _name, _ufunc in _COMPARE.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc)[0])
for _name, _ufunc in _UNARY.items():
    setattr(ndarray, f"__{_name}__", (lambda u: lambda self: call_ufunc(u, self))(_ufunc))
ndarray.__divmod__ = lambda self, other: (self // other, self % other)
ndarray.__rdivmod__ = lambda self, other: (other // self, other % self)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__":
        return call_ufunc(ufunc, *inputs, **kwargs)
    return run_numpy(f"ufunc method {ufunc.__name__}.{method}", getattr(ufunc, method),
                     inputs, kwargs)


ndarray.__array_ufunc__ = _array_ufunc


def reduce_or_fallback(name: str, a, axis=None, dtype=None, out=None, keepdims=False,
                       ddof=0, **kwargs):
    """`numpy.<name>(a, ...)` lazily when compiled, else NumPy (counted)."""
    if out is None and not kwargs:
        try:
            return reductions.reduce(name, a, axis=axis, dtype=dtype, keepdims=keepdims,
                                     ddof=ddof)
        except reductions.NotReduced as why:
            reason = str(why)
    else:
        reason = f"{name} with {', '.join(sorted(kwargs)) or 'out='}"
    np_kwargs = dict(kwargs, axis=axis, keepdims=keepdims)
    if dtype is not None:
        np_kwargs["dtype"] = dtype
    if out is not None:
        np_kwargs["out"] = out
    if ddof:
        np_kwargs["ddof"] = ddof
    return run_numpy(reason, getattr(np, name), (a,), np_kwargs)


def _reduction_method(name: str):
    def method(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        return reduce_or_fallback(name, self, axis=axis, dtype=dtype, out=out,
                                  keepdims=keepdims, **kwargs)

    method.__name__ = name
    method.__doc__ = f"`numpy.ndarray.{name}`, computed lazily."
    return method


for _name in reductions.NAMES:
    setattr(ndarray, _name, _reduction_method(_name))


def _arg_method(name: str):
    def method(self, axis=None, out=None, *, keepdims=False):
        return reduce_or_fallback(name, self, axis=axis, out=out, keepdims=keepdims)

    method.__name__ = name
    return method


ndarray.argmin = _arg_method("argmin")
ndarray.argmax = _arg_method("argmax")


def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """`numpy.ndarray.astype`. Float to int of NaN, inf or out-of-range values saturates
    (the IR's cast; NumPy's result there is platform-defined)."""
    target = np.dtype(dtype)
    if casting != "unsafe":
        np.empty(0, self.dtype).astype(target, casting=casting)  # NumPy's TypeError
    if not is_supported(target):
        return run_numpy(f"astype to {target}", _astype_numpy, (self, target), {})
    return ndarray(cast_expr(self._expr, target), self.shape)


def _astype_numpy(a, dtype):
    return np.asarray(a).astype(dtype)


ndarray.astype = astype


def _clip(self, a_min=None, a_max=None, out=None, **kwargs):
    from .functions import clip

    return clip(self, a_min, a_max, out=out, **kwargs)


ndarray.clip = _clip


def _shape_and_product_methods() -> None:
    """Methods that are the module functions with `self` first (reshape, transpose, dot...),
    `.T`, the `@` operators, and the methods NumPy has that daybreak runs in NumPy."""
    from . import linalg, shapes

    def reshape(self, *shape, order="C"):
        return shapes.reshape(self, *shape, order=order)

    def transpose(self, *axes):
        return shapes.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    ndarray.reshape, ndarray.transpose = reshape, transpose
    for name in ("ravel", "flatten", "swapaxes", "squeeze"):
        setattr(ndarray, name, getattr(shapes, name))
    ndarray.T = property(lambda self: shapes.transpose(self))
    ndarray.dot = lambda self, b, out=None: linalg.dot(self, b, out=out)
    ndarray.__matmul__ = lambda self, other: linalg.matmul(self, other)
    ndarray.__rmatmul__ = lambda self, other: linalg.matmul(other, self)
    ndarray.__imatmul__ = linalg.matmul_in_place
    for name in _NUMPY_METHODS:
        setattr(ndarray, name, _numpy_method(name))
    ndarray.sort = _sort_in_place
    ndarray.fill = _fill


# Methods computed by NumPy on the computed array (counted as fallbacks): scans, sorts and
# data-dependent shapes are not loops the IR expresses.
_NUMPY_METHODS = ("cumsum", "cumprod", "argsort", "nonzero", "round", "repeat", "searchsorted",
                  "ptp", "trace", "take", "diagonal", "argpartition", "partition")


def _numpy_method(name: str):
    def method(self, *args, **kwargs):
        return run_numpy(f"method {name}", _call_method, (self, name, *args), kwargs)

    method.__name__ = name
    method.__doc__ = f"`numpy.ndarray.{name}`, computed by NumPy (a counted fallback)."
    return method


def _call_method(value, name, *args, **kwargs):
    return getattr(np.asarray(value), name)(*args, **kwargs)


def _sort_in_place(self, axis=-1, kind=None, order=None):
    """`ndarray.sort` (NumPy's sort, counted): the array is rebound to its sorted values."""
    self._expr = as_operand(run_numpy("method sort", np.sort, (self, axis, kind, order)))._expr
    self.write_back()


def _fill(self, value):
    """`ndarray.fill`: every element becomes `value` (lazily)."""
    self[...] = value


_shape_and_product_methods()
ndarray.__array_function__ = lambda self, func, types, args, kwargs: _array_function(
    func, args, kwargs)


def _array_function(func, args, kwargs):
    from .functions import FUNCTIONS

    ours = FUNCTIONS.get(func)
    if ours is not None:
        return ours(*args, **kwargs)
    check_allowed(f"function {getattr(func, '__name__', func)}")
    result = func(*to_numpy(tuple(args)), **to_numpy(dict(kwargs)))
    from .array import from_numpy_result

    return from_numpy_result(result)


__all__ = ["call_ufunc", "reduce_or_fallback", "wrap", "as_operand"]
