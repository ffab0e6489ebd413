"""Products: dot, matmul (and `@`), vdot, inner, outer.

A 1-D . 1-D product is a fused reduction, `sum(a * b)` in one loop over both operands (what
produces them fuses in). Products involving matrices call NumPy's own `matmul`/`dot` on the
computed operands: that is a LIBRARY KERNEL daybreak uses on purpose (BLAS for floats; a
blocked, vectorised GEMM beats any loop nest the IR would give), not a fallback, so it is not
counted in `db.stats()["fallbacks"]`. Its result is a lazy array again, so what follows fuses
(`relu(x @ W + b)` is one BLAS call and one loop).

Result dtypes and errors are NumPy's: NumPy is asked on empty operands or zero-stride
stand-ins (which it rejects before computing anything).

>>> import daybreak.numpy as dnp
>>> v = dnp.arange(3.0)
>>> float(v @ v), (dnp.ones((2, 3)) @ v).tolist(), dnp.outer(v, v).shape
(5.0, [3.0, 3.0], (3, 3))
"""

from __future__ import annotations

import functools

import numpy as np

from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import count_library_run

from ..elements.dtypes import is_python_scalar, is_supported
from ..elements.expr import Apply, Outer
from ..elements.loops import ElementwiseLoop
from ..scheduler import check_budget, library_by_choice
from ..snapshots import unalias
from . import methods  # (a cycle: read at call time only)
from .array import as_operand, data_to_read, from_numpy_result, ndarray
from .fallback import numpy_when_not_lazy, run_numpy, to_numpy, unsupported_operand
from .replay import library_call
from .shapes import lazy, ravel, stand_in
from .ufuncs import cast_expr, copy_at_once


def _readable_now(v):
    """`v` as NumPy data of a dtype the IR has, without running anything, else None (the
    user's buffer itself for a snapshot of it still unwritten: a product's result is new)."""
    if type(v) is np.ndarray:  # (a Python loop's slice of NumPy data: asked first)
        return v if is_supported(v.dtype) else None
    found = data_to_read(v)
    return found if isinstance(found, np.ndarray) and is_supported(found.dtype) else None


def _product_of_data(fn, a, b):
    """A product of operands that are data already: NumPy's kernel (BLAS) reads them where
    they are — no wrapping, snapshot or program (a Python loop of products of slices,
    correlation's `data[:, i] @ data[:, i + 1:]`, a triangular solve's `L[i, :i] @ x[:i]`;
    a fused loop over two vectors already in memory would do what BLAS's dot does). None
    when an operand is pending."""
    x = _readable_now(a)
    y = _readable_now(b) if x is not None else None
    if (
        y is None
        or x.ndim == 0
        or y.ndim == 0
        or (x.ndim == 1 and y.ndim == 1 and x.size >= SETTINGS.eager_below)
        and not library_by_choice()
    ):
        # big vector . vector where every graph compiles: the fused loop. Else NumPy's: its
        # operands are in memory, so fusing the loop saves no pass, and tier 0 ran it as a
        # product and a reduction, two passes and a temporary (`norm` of data: 35x NumPy)
        return None
    count_library_run()  # (NumPy's kernel at once: a statement of them may run at once)
    library_call(None)
    return from_numpy_result(unalias([fn(x, y)])[0])


def _scaled(x: ndarray) -> tuple[ndarray, ndarray] | None:
    """(s, m) when `x` is `s * m` (either order) for a scalar `s` and an array `m` of x's
    floating dtype; else None."""
    e = x._expr
    if type(e) is not Apply or e.eager is not np.multiply or x.dtype.kind != "f":
        return None
    for s, m in (e.args, e.args[::-1]):
        if isinstance(s, Outer) and m.dtype == x.dtype:
            return ndarray(s, ()), ndarray(m, x.shape)
    return None


def _scalar_outside(fn, x: ndarray, y: ndarray):
    """`(s * m) @ y` as `s * (m @ y)` (and `x @ (s * m)` alike), or None: the product's
    kernel reads `m` where it is, and the scalar multiplies the (smaller) result instead of
    a whole matrix first (`alpha * A @ x`, NPBench's idiom: one N^2 pass less). The result
    differs from NumPy's by rounding only (as BLAS's own summation order does)."""
    for k, operand in enumerate((x, y)):
        found = _scaled(operand)
        if found is not None:
            s, m = found
            product = fn(m, y) if k == 0 else fn(x, m)
            return methods.call_ufunc(np.multiply, s, product)
    return None


def _call_numpy(fn, a, b):
    """NumPy's product of the computed operands (both computed by one program)."""
    va, vb = to_numpy((a, b))
    return from_numpy_result(fn(va, vb))


def vector_dot(a: ndarray, b: ndarray) -> ndarray:
    """`sum(a * b)` of two 1-D arrays of one length, as one fused merger loop (0-d result)."""
    dtype = np.dot(np.empty(0, a.dtype), np.empty(0, b.dtype)).dtype
    x, y = cast_expr(a._expr, dtype), cast_expr(b._expr, dtype)
    if dtype == np.bool_:  # NumPy's boolean dot: any(a & b)
        product, op = Apply(lambda c, p, q: p & q, (x, y), dtype, np.logical_and), "max"
    else:
        product, op = Apply(lambda c, p, q: p * q, (x, y), dtype, np.multiply), "+"
    return ndarray(Outer(check_budget(ElementwiseLoop(product, a.shape, op)), dtype), ())


def _operands(a, b):
    x, y = as_operand(a), as_operand(b)
    if x is None or y is None:
        return None
    return x, y


def _why_not(name: str, a, b) -> str:
    """The fallback reason of a product not compiled: an operand's dtype, or `out=`."""
    found = unsupported_operand(a) or unsupported_operand(b)
    return f"{name} on {found}" if found else f"{name} with out= or keywords"


def dot(a, b, out=None):
    """`numpy.dot`: scalars multiply, 1-D . 1-D is fused, the rest is NumPy's kernel.

    >>> import daybreak.numpy as dnp
    >>> int(dnp.dot(dnp.arange(4), dnp.arange(4)))
    14
    """
    if out is None and (found := _product_of_data(np.dot, a, b)) is not None:
        return found
    ops = _operands(a, b)
    if out is not None or ops is None:
        return run_numpy(_why_not("dot", a, b), np.dot, (a, b), {"out": out})
    x, y = ops
    if is_python_scalar(x) or is_python_scalar(y) or x.ndim == 0 or y.ndim == 0:
        return methods.call_ufunc(np.multiply, x, y)
    inner = y.shape[0] if y.ndim == 1 else y.shape[-2]
    if x.shape[-1] != inner:
        np.dot(stand_in(x.shape), stand_in(y.shape))  # NumPy's ValueError
    if x.ndim == 1 and y.ndim == 1:
        cx, cy = x.concrete(), y.concrete()
        if cx is not None and cy is not None and x.size < SETTINGS.eager_below:
            return np.dot(cx, cy)  # computed and small: NumPy's (BLAS) dot is cheaper
        return vector_dot(x, y)
    found = _scalar_outside(dot, x, y)
    return found if found is not None else _call_numpy(np.dot, x, y)


def _matmul_shapes_ok(x: ndarray, y: ndarray) -> bool:
    if x.ndim == 0 or y.ndim == 0:
        return False
    inner = y.shape[0] if y.ndim == 1 else y.shape[-2]
    if x.shape[-1] != inner:
        return False
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        return False
    return True


def matmul(a, b, out=None, **kwargs):
    """`numpy.matmul` and `@`: 1-D @ 1-D is fused, the rest is NumPy's kernel (BLAS)."""
    if out is None and not kwargs and (found := _product_of_data(np.matmul, a, b)) is not None:
        return found
    ops = _operands(a, b)
    if out is not None or kwargs or ops is None:
        return run_numpy(
            _why_not("matmul", a, b),
            np.matmul,
            (a, b),
            dict(kwargs, out=out) if out is not None else kwargs,
        )
    x, y = (lazy(v) for v in ops)
    if not _matmul_shapes_ok(x, y):
        np.matmul(stand_in(x.shape), stand_in(y.shape))  # NumPy's ValueError
    if x.ndim == 1 and y.ndim == 1:
        return vector_dot(x, y)
    found = _scalar_outside(matmul, x, y)
    return found if found is not None else _call_numpy(np.matmul, x, y)


@numpy_when_not_lazy(np.vdot)
def vdot(a, b):
    """`numpy.vdot` of real arrays: the dot of the flattened operands."""
    x, y = lazy(a), lazy(b)
    if x.size != y.size:
        return _call_numpy(np.vdot, x, y)  # NumPy's error
    return vector_dot(ravel(x), ravel(y))


@numpy_when_not_lazy(np.inner)
def inner(a, b):
    """`numpy.inner`: 1-D . 1-D fused, the rest NumPy's kernel."""
    x, y = lazy(a), lazy(b)
    if x.ndim == 1 and y.ndim == 1 and x.shape == y.shape:
        return vector_dot(x, y)
    if x.ndim == 0 or y.ndim == 0:
        return dot(x, y)
    return _call_numpy(np.inner, x, y)


@numpy_when_not_lazy(np.outer)
def outer(a, b, out=None):
    """`numpy.outer`: `ravel(a)[:, None] * ravel(b)[None, :]`, lazily."""
    if out is not None:
        return run_numpy("outer with out=", np.outer, (a, b), {"out": out})
    x, y = lazy(a), lazy(b)
    size = x.size * y.size * np.result_type(x.dtype, y.dtype).itemsize
    now, site = copy_at_once(np.outer, [x, y], size)
    if now is not None:
        return now
    x, y = ravel(x), ravel(y)
    return methods.call_ufunc(np.multiply, x[:, None], y[None, :])


def _lapack(func):
    """NumPy's `numpy.linalg` function `func` (a factorisation, a solve, an inverse, ...) as a
    LIBRARY KERNEL, as products are: its array arguments computed (one program for all of
    them), LAPACK on them, and its arrays lazy again, so that what follows fuses
    (`cholesky(A) + triu(A, k=1)` is LAPACK and one loop). No loop of the IR would factor a
    matrix faster than LAPACK; it is counted as a library run, not a fallback. Complex
    operands (and object arrays, matrices) are a fallback, as everywhere."""

    @functools.wraps(func)
    def call(*args, **kwargs):
        for a in (*args, *kwargs.values()):
            why = unsupported_operand(a) if _array(a) else None
            if why is not None:
                return run_numpy(f"linalg.{func.__name__} on {why}", func, args, kwargs)
        args, kwargs = to_numpy((args, kwargs))
        count_library_run()
        return from_numpy_result(func(*args, **kwargs))

    return call


def _array(x) -> bool:
    return isinstance(x, ndarray | np.ndarray | list)


LAPACK = {
    f: _lapack(f)
    for f in (
        np.linalg.cholesky,
        np.linalg.qr,
        np.linalg.svd,
        np.linalg.eig,
        np.linalg.eigh,
        np.linalg.eigvals,
        np.linalg.eigvalsh,
        np.linalg.inv,
        np.linalg.pinv,
        np.linalg.solve,
        np.linalg.lstsq,
        np.linalg.det,
        np.linalg.slogdet,
        np.linalg.matrix_rank,
    )
}


def matmul_in_place(self, other):
    """`a @= b`: NumPy allows it when the product keeps `a`'s shape."""
    result = as_operand(matmul(self, other))
    if result.shape != self.shape:
        raise ValueError(
            "matmul: Output operand 0 has a mismatch in its core dimension 1, "
            f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size "
            f"{result.shape[-1]} is different from {self.shape[-1]})"
        )
    self._expr = cast_expr(result._expr, self.dtype)
    return self


__all__ = ["dot", "matmul", "vdot", "inner", "outer", "vector_dot"]
