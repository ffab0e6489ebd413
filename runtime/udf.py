"""Python functions that programs call by name: `cudf[name, T](args)`.

    >>> import numpy as np
    >>> from daybreak.ir.types import F64, Vec
    >>> _ = register_udf("norm", lambda v: np.sqrt((v * v).sum()), [Vec(F64)], F64)
    >>> lookup_udf("norm").ret_type
    Scalar(kind='f64')
    >>> unregister_udf("norm")

A registered function receives its arguments as NumPy values (see `runtime.marshal`) and returns
something that converts to the declared type `T` of the `cudf` call. The registry is global to
the process; registering a name again replaces the earlier function.
"""

from __future__ import annotations

import threading
import types as _pytypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..ir.types import Type


@dataclass(frozen=True)
class VectorCall:
    """How `cudf[name, T](args)` calls a C function of the vector-library convention (MKL's
    VML: `void vdAdd(long n, const double *a, const double *b, double *r)`). Per C parameter,
    its role: "size" (the vectors' common length), "in" (a vector argument's data), "out" (the
    result vector, allocated by the caller with that length) or "scalar" (a scalar argument);
    `types` holds each parameter's element or value type (the size's integer type). The IR
    arguments are the "in" vectors and the scalars, in C order; the result is the "out"
    vector, or the C function's own return value (`returns`) when there is none."""

    roles: tuple[str, ...]
    types: tuple[Type, ...]
    returns: Type | None = None

    def signature(self) -> tuple[tuple[Type, ...], Type]:
        """(argument types, result type) of the IR call."""
        from ..ir.types import Vec

        args = tuple(
            Vec(t) if role == "in" else t
            for role, t in zip(self.roles, self.types, strict=True)
            if role in ("in", "scalar")
        )
        outs = [t for role, t in zip(self.roles, self.types, strict=True) if role == "out"]
        return args, (Vec(outs[0]) if outs else self.returns)


@dataclass(frozen=True)
class RegisteredUdf:
    """A function registered under `name`, with the signature it was declared with (if any)."""

    name: str
    fn: Callable
    arg_types: tuple[Type, ...] | None = None
    ret_type: Type | None = None
    address: int | None = None  # a native function (Weld's convention), called directly
    vector: VectorCall | None = None  # ... or of the vector-library convention

    def __call__(self, *args):
        return self.fn(*args)

    def check_call(self, arg_types: Sequence[Type], ret_type: Type) -> None:
        """Raise TypeError when a `cudf` call disagrees with the declared signature."""
        call = f"cudf[{self.name}, {ret_type}]({', '.join(str(t) for t in arg_types)})"
        if self.ret_type is not None and self.ret_type != ret_type:
            raise TypeError(f"{call}: '{self.name}' is registered as returning {self.ret_type}")
        if self.arg_types is not None and tuple(self.arg_types) != tuple(arg_types):
            declared = ", ".join(str(t) for t in self.arg_types)
            raise TypeError(f"{call}: '{self.name}' is registered as taking ({declared})")


_REGISTRY: dict[str, RegisteredUdf] = {}
_LOCK = threading.Lock()
# Bumped whenever a native function is (re)registered or removed: compiled code holds the
# addresses it calls, so a backend's in-memory cache of compiled programs keys on this.
NATIVE_GENERATION = [0]


def register_udf(
    name: str,
    fn: Callable | None = None,
    arg_types: Sequence[Type | str] | None = None,
    ret_type: Type | str | None = None,
    *,
    address: int | None = None,
    vector: VectorCall | None = None,
):
    """Register `fn` as the function `cudf[name, T](...)` calls; returns `fn`.

    Without `fn` it is a decorator: `@register_udf("clip01")`. `arg_types` and `ret_type`
    (types, or type text such as "vec[f64]") are optional; when given, calls are checked
    against them.

    A native function is registered by its `address` (e.g. `ctypes.cast(lib.f,
    ctypes.c_void_p).value`) with its `arg_types` and `ret_type`; it follows Weld's
    convention, `void f(T1* a1, ..., R* out)`. Compiled code calls it directly, the
    interpreter through ctypes.

    A C function of the vector-library convention is registered with its `address`, its
    `vector` call (`VectorCall`) and `fn`, the same call from Python (for the interpreter);
    the types come from `vector` (daybreak.annotations' `load` registers these).
    """
    if vector is not None:
        if fn is None or address is None:
            raise TypeError("a vector-convention UDF takes fn, address and vector")
        args, ret = vector.signature()
        with _LOCK:
            _REGISTRY[name] = RegisteredUdf(name, fn, args, ret, int(address), vector)
            NATIVE_GENERATION[0] += 1
        return fn
    if address is not None:
        if fn is not None or arg_types is None or ret_type is None:
            raise TypeError("a native UDF takes an address, arg_types and ret_type (no fn)")
        from .native import native_caller

        args = tuple(_as_type(t) for t in arg_types)
        ret = _as_type(ret_type)
        caller = native_caller(int(address), args, ret)
        with _LOCK:
            _REGISTRY[name] = RegisteredUdf(name, caller, args, ret, int(address))
            NATIVE_GENERATION[0] += 1
        return caller
    if fn is None:
        return lambda f: register_udf(name, f, arg_types, ret_type)
    if not isinstance(name, str) or not name:
        raise TypeError(f"a UDF name must be a non-empty string, not {name!r}")
    if not callable(fn):
        raise TypeError(f"register_udf({name!r}, ...): {fn!r} is not callable")
    args = None if arg_types is None else tuple(_as_type(t) for t in arg_types)
    ret = None if ret_type is None else _as_type(ret_type)
    with _LOCK:
        _REGISTRY[name] = RegisteredUdf(name, fn, args, ret)
    return fn


def lookup_udf(name: str) -> RegisteredUdf:
    """The registration of `name`; KeyError (listing what is registered) if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no UDF is registered as {name!r} (registered: {known})") from None


def unregister_udf(name: str) -> None:
    """Remove the registration of `name` (KeyError if there is none)."""
    with _LOCK:
        if name not in _REGISTRY:
            raise KeyError(f"no UDF is registered as {name!r}")
        if _REGISTRY.pop(name).address is not None:
            NATIVE_GENERATION[0] += 1


def registered_udfs() -> Mapping[str, RegisteredUdf]:
    """A live read-only view of the registry: name -> RegisteredUdf."""
    return _pytypes.MappingProxyType(_REGISTRY)


def _as_type(t: Type | str) -> Type:
    if isinstance(t, Type):
        return t
    if isinstance(t, str):
        # Type text is read by the IR parser, as the type of a program parameter.
        from ..ir.errors import ParseError
        from ..ir.parser import parse

        try:
            return parse(f"|x: {t}| x").params[0].type
        except ParseError as e:
            raise ValueError(f"{t!r} is not a type: {e}") from None
    raise TypeError(f"expected a daybreak type or type text, not {t!r}")
