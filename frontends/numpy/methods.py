"""The NumPy protocols and methods of `ndarray`: operators (also reflected and in-place),
`__array_ufunc__` (so `numpy.exp(x)` and `scipy.special.erf(x)` stay lazy),
`__array_function__` (so `numpy.sum(x)` does too), reductions as methods, `astype`.

Operators are a table from dunder name to ufunc; everything lands in `call_ufunc`, which
falls back to NumPy (counted) for what `apply_ufunc` does not compile.
"""

from __future__ import annotations

import dis
import functools
import operator
import sys
import types

import numpy as np

from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import count_library_run

from ..elements.dtypes import SCALAR_TYPES, is_python_scalar, is_supported, why_unsupported
from ..elements.eager import strided
from ..elements.expr import Leaf, count_applies
from ..lazy import Param
from ..scheduler import library_by_choice, library_for_good, ran_natively, write_into
from ..statements import register_function
from . import reductions, ufuncs
from .array import as_operand, data_now, is_lazy, leaf_array, ndarray, wrap
from .assignment import own_buffer, setitem, wrote
from .fallback import run_numpy
from .handover import HOT, SMALL_PART, count_part, hand_over
from .indexing import PLAIN_KEYS, broadcasts, getitem, is_plain_basic, part_of_seen
from .replay import (
    ACTIVE,
    AT_ONCE_ONLY,
    ENTRY,
    GETITEM,
    NOT_NOW,
    NUMPY_NOW,
    attach_operators,
    numpy_operands,
    on_call,
    read_at_once,
    run_at_once,
)
from .ufuncs import NotCompiled, apply_ufunc, cast_expr

_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "lshift": np.left_shift,
    "rshift": np.right_shift,
}
_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_UNARY = {"neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert}


@functools.cache
def _later() -> types.SimpleNamespace:
    """What this module calls from modules that import it (read once, at the first call: an
    import inside a hot function costs a microsecond every time)."""
    from .functions import FUNCTIONS, around, clip, nonzero, repeat, take, where
    from .linalg import matmul
    from .shapes import reshape

    return types.SimpleNamespace(
        FUNCTIONS=FUNCTIONS,
        around=around,
        clip=clip,
        matmul=matmul,
        nonzero=nonzero,
        repeat=repeat,
        reshape=reshape,
        take=take,
        where=where,
    )


def _deferred(x) -> bool:
    """Whether `x` is a value another engine computes later and that records NumPy's calls
    itself (`__daybreak_deferred__`: daybreak.annotations' Future)."""
    return getattr(type(x), "__daybreak_deferred__", False)


def call_ufunc(ufunc, *inputs, out=None, **kwargs):
    """`ufunc(*inputs, out=out)` on daybreak arrays: lazy when compiled, else NumPy. Outputs
    may also be given by position, as NumPy allows (`np.negative(x, x)`)."""
    if len(inputs) > ufunc.nin:  # NumPy's own TypeError when there are too many
        if out is not None:
            raise TypeError("cannot specify 'out' as both a positional and keyword argument")
        inputs, out = inputs[: ufunc.nin], inputs[ufunc.nin :]
        if len(out) > ufunc.nout:
            ufunc(*(np.empty(0),) * (ufunc.nin + len(out)))
    if ufunc is np.matmul:  # a gufunc: a product, not an elementwise loop
        return _later().matmul(*inputs, out=out, **kwargs)
    return _ufunc_or_numpy(ufunc, inputs, out, kwargs, ufunc)


def _ufunc_or_numpy(ufunc, inputs, out, kwargs, numpy_call):
    """`ufunc` lazily when compiled, else `numpy_call(*inputs, **kwargs, out=out)` by NumPy
    (counted): the ufunc itself, or the Python operator for `a == b` and the like, whose
    rules differ (`np.arange(3.0) == "x"` is all False, `np.equal` raises)."""
    if isinstance(out, tuple):
        out = out[0] if len(out) == 1 else out
    outs = out if isinstance(out, tuple) else () if out is None else (out,)
    site = None  # (the line of an update in place, `_in_own_buffer`)
    if not kwargs and len(outs) == 1 and type(out) is np.ndarray and ufunc.nout == 1:
        written = _into_numpy_out(ufunc, inputs, out)
        if written is not None:
            return written
    if not kwargs and len(outs) == 1 and type(out) is ndarray and ufunc.nout == 1:
        target = _users_memory(out)
        if target is not None and _compiled_operands(ufunc, inputs):
            if _updated_in_place(ufunc, inputs, out, target):
                return out
            # `x += v` on the user's array or a view of it (`u[1:, :] -= v`): NumPy's ufunc
            # writing the user's buffer, as NumPy's own `x += v` does (a lazy value would
            # snapshot the buffer, be computed, then be copied in)
            values = [data_now(x) for x in inputs]  # (operands computed already: most)
            if any(v is None for v in values):
                from .fallback import to_numpy

                values = to_numpy(tuple(inputs))
            # The buffer's snapshot settled before the write, not by it: a guard's pages
            # written would fault first (a signal, then the handler's system call)
            out._held.node.written()
            ufunc(*values, out=target)
            if out._base is not None:  # (Python's `base[key] = view` next has nothing to do)
                out._synced = out._base[0]._expr
            count_library_run()
            return out
        if target is None and library_by_choice():
            done, site = _in_own_buffer(ufunc, inputs, out)
            if done:
                return out
    if kwargs or not all(is_lazy(o) for o in outs):
        reason = f"{ufunc.__name__} with {', '.join(sorted(kwargs)) or 'out= a NumPy array'}"
    elif len(outs) > 1:
        reason = f"ufunc {ufunc.__name__} with {ufunc.nout} outputs"
    else:
        try:
            result = apply_ufunc(ufunc, list(inputs), out=out)
            if outs:
                out.write_back()  # `row = a[0]; row += 1` changes `a` too
                if site is not None:
                    ufuncs.at_line(site, out)  # (what becomes of it teaches the line)
            return result
        except NotCompiled as why:
            if out is None and not kwargs and any(_deferred(x) for x in inputs):
                # a pending result of another engine (daybreak.annotations' Future): its
                # `__array_ufunc__` takes the call into its own graph; nothing runs here
                return numpy_call(*inputs)
            reason = str(why)
    if out is not None:  # NumPy writes into it (a lazy one: into a copy, then rebound)
        kwargs = dict(kwargs, out=out)
    return run_numpy(reason, numpy_call, inputs, kwargs)


def _updated_in_place(ufunc, inputs, out: ndarray, target: np.ndarray) -> bool:
    """`x op= v` on the user's memory, `v` pending: one program reading `x` and `v`'s inputs
    and writing `x` (`u[1:, :] -= 0.5 * (h[1:] - h[:-1])`), where NumPy's way is `v` into a
    buffer, then the ufunc over `x` and that buffer. `x` is read by an input of its own,
    at exactly the elements written and nowhere else (made here, with no snapshot: no user
    code runs before the program, `scheduler.write_into`'s `same_place`). Only where the
    cost model says native code pays, and the structure ran natively before; until it has,
    the value is computed by the scheduler (tier 0, the compile) and written in. False:
    nothing was done (the caller does NumPy's way)."""
    value = inputs[1] if len(inputs) == 2 and inputs[0] is out else None
    e = out._held
    if (
        type(value) is not ndarray
        or type(value._held) is Leaf
        or value.size < SETTINGS.eager_below
        or type(e) is not Leaf
        or value.shape != out.shape
        or value.dtype != out.dtype
        or library_for_good(1 + count_applies(value._held), out.size)
    ):
        return False
    mine = Param(e.node.cached, e.node.type, key=None)  # (not borrowed: read now, no snapshot)
    try:
        result = apply_ufunc(
            ufunc, [leaf_array(Leaf(mine, e.strides, e.size, e.dtype, e.offset), out.shape), value]
        )
    except NotCompiled:
        return False
    if type(result) is not ndarray or result.dtype != out.dtype or type(result._held) is Leaf:
        return False
    node = result._lazy_node()
    out._held.node.written()  # (settled before the write: see `_ufunc_or_numpy`)
    if not wrote(write_into(node, target, same_place=mine), out):
        if node.is_leaf:  # it ran, into a buffer of its own (the region did not fit)
            target[...] = result.value()
        elif ran_natively(node):
            return False  # it reads the region elsewhere than where it writes: NumPy's way
        else:  # not known to run natively yet: the scheduler computes it (and learns it)
            target[...] = result.value()
    if out._base is not None:  # (Python's `base[key] = view` next has nothing to do)
        out._synced = out._base[0]._expr
    return True


def _compiled_operands(ufunc, inputs) -> bool:
    """Whether daybreak computes `ufunc` on operands like `inputs` (else NumPy does it, as a
    counted fallback)."""
    if ufuncs.lookup(ufunc) is None:  # (the table apply_ufunc reads)
        return False
    for x in inputs:
        kind = type(x)
        if kind is ndarray:
            dtype = x._held.dtype
        elif kind is int or kind is float or kind is bool:
            continue
        else:
            dtype = getattr(x, "dtype", _OBJECT)
        if not is_supported(dtype):
            return False
    return True


_OBJECT = np.dtype(object)


def _users_memory(x: ndarray) -> np.ndarray | None:
    """The user's buffer `x` is and reads whole, in place (`ndarray._memory`), or the part of
    it a view of the user's array reads (`u[1:, :]`), writeable; else None."""
    memory, e = x._memory, x._held
    if memory is not None and getattr(e, "node", None) is memory:
        return x.concrete()
    if x._base is None or type(e) is not Leaf or not getattr(e.node, "borrowed", False):
        return None
    known = x._numpy_view
    if known is not None and known[0] is e and known[2].flags.writeable:
        return known[2]  # NumPy's view of the user's buffer, made when the view was
    flat = e.node.cached
    if type(flat) is not np.ndarray or flat.ndim != 1 or flat.dtype != e.dtype or not x._shape:
        return None
    if not flat.flags.writeable:
        return None
    return strided(flat, e.offset, x._shape, e.strides, writeable=True)


def _in_own_buffer(ufunc, inputs, out: ndarray) -> tuple[bool, tuple | None]:
    """`x *= 2.0` on a computed array of daybreak's own whose buffer nothing else reads
    (`assignment.own_buffer`), its operands data: NumPy's ufunc writing that buffer, as
    NumPy's own `x *= 2.0` does, where the line computes at once (the choice a call makes,
    `ufuncs.copy_at_once`: cold code, a line whose values are computed on their own); False
    otherwise, and the update is lazy (hot code fuses it). Recorded, a chain of in-place
    operators on a result computed at once snapshotted its operands and walked the scheduler
    around the same NumPy calls: 5x NumPy's time at 10^5 elements. With the line, for the
    lazy update to carry."""
    if out._base is not None or type(out._held) is not Leaf:
        return False, None
    buffer = own_buffer(out)
    if buffer is None:
        return False, None
    done, site = ufuncs.copy_at_once(
        lambda *values: ufunc(*values, out=buffer), list(inputs), buffer.nbytes
    )
    return done is not None, site


def _into_numpy_out(ufunc, inputs, out: np.ndarray):
    """`ufunc(*inputs, out=out)` with `out` a NumPy array, as NumPy's ufunc writes it, or
    None when daybreak does not compile it (the caller then lets NumPy do it, counted).

    - Inputs that are all data already (NumPy arrays, computed daybreak arrays, numbers):
      NumPy's ufunc writing `out` in place, a library run — there is nothing to fuse with,
      and the value must be in `out` now (computed into a buffer of daybreak's and copied
      in, `np.add(x, y, out=x)` on 2 * 10^5 doubles took 3.7x NumPy's time). Not where every
      graph compiles (`library_by_choice`).
    - A pending input: the fused program writes `out` itself where its structure ran
      natively (`write_into`), else its value is computed and copied in.

    NumPy's casting and shape errors come first."""
    if library_by_choice() and _compiled_operands(ufunc, inputs):
        values = [data_now(x) for x in inputs]
        if all(v is not None for v in values):
            ufunc(*values, out=out)
            count_library_run()
            return out
    try:
        result = apply_ufunc(ufunc, list(inputs))
    except NotCompiled:
        return None
    if np.shape(result) != out.shape:
        return None  # NumPy broadcasts into `out`, or raises its error
    with np.errstate(all="ignore"):  # NumPy's check of the output cast (same_kind)
        ufunc(
            *(
                np.empty(0, getattr(x, "dtype", None))
                if not isinstance(x, int | float | bool)
                else x
                for x in inputs
            ),
            out=np.empty(0, out.dtype),
        )
    if (
        is_lazy(result)
        and result.dtype == out.dtype
        and type(result._held) is not Leaf
        and write_into(result._lazy_node(), out)
    ):
        return out
    value = np.asarray(result) if is_lazy(result) else result
    np.copyto(out, value, casting="unsafe")
    return out


def _scalar_now(x, other):
    """`x`'s value when `x` is a computed 0-d array and `other` a scalar: then the ufunc on
    NumPy scalars is NumPy's own answer (NumPy 2 promotes 0-d arrays and scalars alike), at
    NumPy's speed. None otherwise."""
    if x._shape or type(other) not in SCALAR_TYPES or SETTINGS.eager_below <= 1:
        return None  # (eager_below: what `apply_ufunc` would compute at once)
    return x.concrete()


def _operator(ufunc, op, inputs: list, spent=None):
    """`op(*inputs)` of an operator: `_ufunc_or_numpy` without `out=` or keywords (what
    Python's operators never pass), entered directly (`spent`: see `apply_ufunc`)."""
    try:
        return apply_ufunc(ufunc, inputs, spent=spent)
    except NotCompiled as why:
        return run_numpy(str(why), op, tuple(inputs), {})


def _temporaries() -> tuple[int, int] | None:
    """How an operator method (a Python function in a type's slot) tells that its `self` is
    a temporary of the user's expression, as this interpreter shows it: (the reference count
    `sys.getrefcount(self)` gives inside it for an operand only the interpreter's stack
    holds, the opcode of the instruction the caller's frame is at when the call comes from
    an operator in Python code). None where a temporary cannot be told from a held operand:
    then nothing is written in place. (NumPy elides temporaries by the same reference count,
    checking the C stack for a call from the interpreter; here the caller's instruction
    says so: C code holding its only reference to an operand, to use it again, calls from
    some other instruction of the Python frame below it.)"""

    class Probe:
        def __add__(self, other):
            frame = sys._getframe(1)
            return sys.getrefcount(self), frame.f_code.co_code[frame.f_lasti]

    def held_by_a_local():
        held = Probe()  # (a local read by the operator: a borrowed load where there is one)
        return held + 1

    temporary, opcode = Probe() + 1
    held = Probe()
    counts = [(held + 1)[0], held_by_a_local()[0]]
    if min(counts) <= temporary or opcode != dis.opmap.get("BINARY_OP"):
        return None
    return temporary, opcode


_TEMPORARY, _OPERATOR = _temporaries() or (-1, -1)


def _by_an_operator() -> bool:
    """Whether the operator method calling this was called by an operator of Python code
    (its caller's frame is at a `BINARY_OP`), not by C code (see `_temporaries`)."""
    frame = sys._getframe(2)
    return frame.f_code.co_code[frame.f_lasti] == _OPERATOR


def _binary(ufunc, op):
    # (`sys.getrefcount` of an operand is read here, in the operator method itself: passed
    # to a function, the operand would count once more)
    def forward(self, other):
        if ACTIVE[0] is not None or ENTRY:
            found = on_call(ufunc, sys._getframe(1))  # (a statement replayed: `replay`)
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                x, y = data_now(self), other  # (a statement run at once: NumPy's operator)
                if type(y) is ndarray:
                    y = data_now(y)
                    if y is not None:
                        read_at_once(other)
                if x is not None and y is not None:
                    read_at_once(self)
                    return op(x, y)
        value = _scalar_now(self, other)
        if value is not None:
            return ufunc(value, other)
        spent = None  # a computed temporary: a call computed at once may write into it
        if sys.getrefcount(self) == _TEMPORARY and type(self._held) is Leaf:
            spent = self if _by_an_operator() else None  # `(a * 2) + 1`
        elif (
            type(other) is ndarray
            and sys.getrefcount(other) == _TEMPORARY
            and type(other._held) is Leaf
        ):
            spent = other if _by_an_operator() else None  # `a - (b * 2)`
        return _operator(ufunc, op, [self, other], spent)

    def reflected(self, other):
        if ACTIVE[0] is not None or ENTRY:
            found = on_call(ufunc, sys._getframe(1))
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                x = data_now(self)
                if x is not None:
                    read_at_once(self)
                    return op(other, x)  # (`other` is no daybreak array: Python asked it first)
        value = _scalar_now(self, other)
        if value is not None:
            return ufunc(other, value)
        spent = None
        if sys.getrefcount(self) == _TEMPORARY and type(self._held) is Leaf:
            spent = self if _by_an_operator() else None  # `1 - (a * 2)`
        return _operator(ufunc, op, [other, self], spent)

    def in_place(self, other):
        if ACTIVE[0] is not None or ENTRY:
            found = on_call(ufunc, sys._getframe(1))  # (at a replay: the proxy's operator)
            if found is not None and found is not NUMPY_NOW:
                return found  # (statements that write in place never run at once)
        return call_ufunc(ufunc, self, other, out=self)

    return forward, reflected, in_place


for _name, _ufunc in _BINARY.items():
    _f, _r, _i = _binary(_ufunc, getattr(operator, _name + "_" * (_name in ("and", "or"))))
    setattr(ndarray, f"__{_name}__", _f)
    setattr(ndarray, f"__r{_name}__", _r)
    setattr(ndarray, f"__i{_name}__", _i)
for _name, _ufunc in _COMPARE.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc, getattr(operator, _name))[0])


def _unary(ufunc, op):
    def call(self):
        if ACTIVE[0] is not None or ENTRY:
            found = on_call(ufunc, sys._getframe(1))
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                now = run_at_once(op, (self,))
                if now is not NOT_NOW:
                    return now
        return _ufunc_or_numpy(ufunc, (self,), None, {}, op)

    return call


for _name, _ufunc in _UNARY.items():
    setattr(ndarray, f"__{_name}__", _unary(_ufunc, getattr(operator, _name)))
attach_operators(_BINARY, _COMPARE, _UNARY, reductions.NAMES)
ndarray.__divmod__ = lambda self, other: (self // other, self % other)
ndarray.__rdivmod__ = lambda self, other: (other // self, other % self)


def plain_call(ufunc, inputs: tuple):
    """`ufunc(*inputs)` with no `out=` and no keywords (NumPy's scalars and arrays meeting a
    daybreak array, `dnp.logical_and(m1, m2)`: most calls): `apply_ufunc` at once, without
    `call_ufunc`'s questions about outputs; those only when it does not compile."""
    if len(inputs) == ufunc.nin and ufunc.nout == 1 and ufunc is not np.matmul:
        try:
            return apply_ufunc(ufunc, list(inputs))
        except NotCompiled as why:
            if not any(_deferred(x) for x in inputs):
                # NumPy's, counted: what `call_ufunc` would do with no output and no
                # keywords, after asking `apply_ufunc` the same question again (a complex
                # array's every call: ~20 us)
                return run_numpy(str(why), ufunc, inputs)
    elif ufunc is np.divmod and len(inputs) == 2:
        # NumPy's divmod is its floor_divide and remainder together (the same loops)
        try:
            return apply_ufunc(np.floor_divide, list(inputs)), apply_ufunc(
                np.remainder, list(inputs)
            )
        except NotCompiled:
            pass  # (as above: the general path says why, and falls back)
    elif ufunc is np.modf and len(inputs) == 1 and getattr(inputs[0], "dtype", None) is not None:
        if inputs[0].dtype.kind == "f":
            # the fraction with the sign of x (0 for infinities) and the integral part, as
            # C's modf: `copysign(x - trunc(x), x)`, `trunc(x)`
            whole = apply_ufunc(np.trunc, [inputs[0]])
            part = apply_ufunc(np.subtract, [inputs[0], whole])
            part = _later().where(apply_ufunc(np.isinf, [inputs[0]]), 0.0, part)
            return apply_ufunc(np.copysign, [part, inputs[0]]), whole
    return call_ufunc(ufunc, *inputs)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__":
        if not kwargs:
            if ACTIVE[0] is not None or ENTRY:
                # (NumPy's own ufunc, or a NumPy scalar's operator, on a daybreak array:
                # `r1 <= radius` with `r1 = rmax * i / n` a NumPy float, called from the
                # user's statement itself, NumPy's C code between)
                found = on_call(ufunc, sys._getframe(1))
                if found is not None:
                    if found is not NUMPY_NOW:
                        return found
                    now = run_at_once(ufunc, inputs)
                    if now is not NOT_NOW:
                        return now
            if ufunc is np.matmul:  # `data @ x` in a Python loop: the product, at once
                return _later().matmul(*inputs)
            return plain_call(ufunc, inputs)
        return call_ufunc(ufunc, *inputs, **kwargs)
    reason = f"ufunc method {ufunc.__name__}.{method}"
    if method == "outer" and len(inputs) == 2 and not kwargs and ufunc.nin == 2:
        # `ufunc.outer(a, b)` is the ufunc of `a` with an axis of length 1 for each of `b`'s
        # against `b`: a broadcast that fuses (floyd_warshall's `np.add.outer(col, row)`)
        a, b = (as_operand(x) for x in inputs)
        if a is not None and b is not None and not is_python_scalar(a):
            spread = _later().reshape(a, np.shape(a) + (1,) * np.ndim(b))
            return call_ufunc(ufunc, spread, b)
    name = _REDUCE_AS.get(ufunc.__name__) if method == "reduce" and len(inputs) == 1 else None
    allowed = {"axis", "keepdims"} if name in ("all", "any") else {"axis", "dtype", "keepdims"}
    if name is not None and set(kwargs) <= allowed:
        # `np.add.reduce(a, axis=0)` is `np.sum(a, axis=0)` (the same default dtypes): the
        # reduction's default axis is the first
        return reduce_or_fallback(name, inputs[0], **{"axis": 0, **kwargs})
    if (
        method == "accumulate"
        and len(inputs) == 1
        and ufunc.__name__ in reductions.SCAN_OPS
        and set(kwargs) <= {"axis", "dtype", "out"}
    ):
        # `np.add.accumulate(a, axis=0)`: the scan (its default axis is the first)
        return scan_or_fallback(ufunc.__name__, inputs[0], **{"axis": 0, **kwargs})
    if method == "at" and inputs and is_lazy(inputs[0]):
        # `np.add.at(a, positions, b)` writes `a` in place: into a copy of its values, then
        # `a` is rebound to them (its buffer may be read by other values, or be a view's)
        return _numpy_writing_into(reason, inputs[0], ufunc.at, inputs, kwargs, "a")
    return run_numpy(reason, getattr(ufunc, method), inputs, kwargs)


# The reductions `ufunc.reduce` is for these ufuncs (NumPy's own `sum`, `prod`, `max`, ...
# are these reductions).
_REDUCE_AS = {
    "add": "sum",
    "multiply": "prod",
    "maximum": "max",
    "minimum": "min",
    "logical_and": "all",
    "logical_or": "any",
}

ndarray.__array_ufunc__ = _array_ufunc


def reduce_or_fallback(
    name: str, a, axis=None, dtype=None, out=None, keepdims=False, ddof=0, **kwargs
):
    """`numpy.<name>(a, ...)` lazily when compiled, else NumPy (counted)."""
    if out is None and not kwargs:
        try:
            return reductions.reduce(name, a, axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof)
        except reductions.NotReduced as why:
            reason = str(why)
    else:
        reason = f"{name} with {', '.join(sorted(kwargs)) or 'out='}"
    np_kwargs = dict(kwargs, axis=axis)
    if keepdims:  # only when given: np.sum(matrix) calls matrix.sum, which has no keepdims
        np_kwargs["keepdims"] = keepdims
    if dtype is not None:
        np_kwargs["dtype"] = dtype
    if out is not None:
        np_kwargs["out"] = out
    if ddof:
        np_kwargs["ddof"] = ddof
    return run_numpy(reason, getattr(np, name), (a,), np_kwargs)


def scan_or_fallback(name: str, a, axis=None, dtype=None, out=None, **kwargs):
    """`numpy.cumsum(a, ...)` (or another scan of `reductions.SCAN_OPS`) lazily when
    compiled, else NumPy (counted)."""
    if out is None and not kwargs:
        try:
            return reductions.scan(name, a, axis, dtype)
        except reductions.NotReduced as why:
            reason = str(why)
    else:
        reason = f"{name} with {', '.join(sorted(kwargs)) or 'out='}"
    options = dict(kwargs, axis=axis, dtype=dtype)
    if out is not None:
        options["out"] = out
    return run_numpy(reason, reductions._scan_function(name), (a,), options)


def _scan_method(name: str):
    def method(self, axis=None, dtype=None, out=None):
        return scan_or_fallback(name, self, axis=axis, dtype=dtype, out=out)

    method.__name__ = name
    method.__doc__ = f"`numpy.ndarray.{name}`, computed lazily (a scan)."
    return method


ndarray.cumsum, ndarray.cumprod = _scan_method("cumsum"), _scan_method("cumprod")


def _reduction_method(name: str):
    def method(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if ACTIVE[0] is not None or ENTRY:
            found = on_call(name, sys._getframe(1))  # (a statement replayed: `replay`)
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                data = data_now(self) if out is None else None
                if data is not None:  # (a statement run at once: NumPy's method)
                    read_at_once(self)
                    given = {"axis": axis, "dtype": dtype, "keepdims": keepdims}
                    given = {k: v for k, v in given.items() if v is not None and v is not False}
                    return getattr(data, name)(**given, **kwargs)
        return reduce_or_fallback(
            name, self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs
        )

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
    """`numpy.ndarray.astype`. Float to int of NaN, inf or out-of-range values gives NumPy's
    own results on x86-64 (`ufuncs.float_to_int`; elsewhere NumPy's are platform-defined)."""
    target = np.dtype(dtype)
    if casting != "unsafe":
        np.empty(0, self.dtype).astype(target, casting=casting)  # NumPy's TypeError
    if not is_supported(target):
        return run_numpy(f"astype to {why_unsupported(target)}", _astype_numpy, (self, target))
    # a copy of data: the choice a call on data makes (`ufuncs.copy_at_once`), NumPy's cast
    now, site = ufuncs.copy_at_once(
        lambda data: data.astype(target), [self], self.size * target.itemsize
    )
    if now is not None:
        return now
    return ufuncs.at_line(site, ndarray(cast_expr(self._expr, target), self.shape))


def _astype_numpy(a, dtype):
    return np.asarray(a).astype(dtype)


ndarray.astype = astype


def _clip(self, a_min=None, a_max=None, out=None, **kwargs):
    return _later().clip(self, a_min, a_max, out=out, **kwargs)


ndarray.clip = _clip
ndarray.nonzero = lambda self: _later().nonzero(self)
ndarray.round = lambda self, decimals=0, out=None: _later().around(self, decimals, out)
ndarray.repeat = lambda self, repeats, axis=None: _later().repeat(self, repeats, axis)
ndarray.take = lambda self, indices, axis=None, out=None, mode="raise": _later().take(
    self, indices, axis, out, mode
)


def _product_at_once(tag, product, swapped: bool = False):
    """The `@` operator (`__rmatmul__`: `swapped`, `self` the right operand) or the `dot`
    method: `product` of the operands, except in a statement run at once (`replay.AtOnce`),
    where it is NumPy's own on the operands' data (logreg_gd's `z = X @ w + b`: the user's
    `X`, read whole by BLAS every step, then goes to NumPy in the loop, `read_at_once`). A
    product's result is never lazy, so a statement with one is not replayed
    (`AT_ONCE_ONLY`)."""
    AT_ONCE_ONLY.add(tag)

    def call(self, other, out=None):
        operands = (other, self) if swapped else (self, other)
        if ACTIVE[0] is not None or ENTRY:
            frame = sys._getframe(1)
            # (`on_call` asked only where it has something to say, as in `numpy_first`)
            if ACTIVE[0] is not None or (id(frame.f_code), frame.f_lasti) in ENTRY:
                found = on_call(tag, frame)
                if found is NUMPY_NOW and out is None:
                    now = run_at_once(tag, operands)
                    if now is not NOT_NOW:
                        return now
        return product(*operands) if out is None else product(*operands, out=out)

    return call


def _shape_and_product_methods() -> None:
    """Methods that are the module functions with `self` first (reshape, transpose, dot...),
    `.T`, the `@` operators, and the methods NumPy has that daybreak runs in NumPy."""
    from . import linalg, shapes

    def reshape(self, *shape, order="C", copy=None):
        return shapes.reshape(self, *shape, order=order, copy=copy)

    def transpose(self, *axes):
        return shapes.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    ndarray.reshape, ndarray.transpose = reshape, transpose
    for name in ("ravel", "flatten", "swapaxes", "squeeze"):
        setattr(ndarray, name, getattr(shapes, name))
    ndarray.T = property(lambda self: shapes.transpose(self))
    ndarray.dot = _product_at_once(np.dot, linalg.dot)
    ndarray.__matmul__ = _product_at_once(np.matmul, linalg.matmul)
    ndarray.__rmatmul__ = _product_at_once(np.matmul, linalg.matmul, swapped=True)
    ndarray.__imatmul__ = linalg.matmul_in_place
    for name in _NUMPY_METHODS:
        setattr(ndarray, name, _numpy_method(name))
    ndarray.sort = _sort_in_place
    ndarray.fill = _fill
    ndarray.view = _view


# Methods computed by NumPy on the computed array (counted as fallbacks): sorts and
# data-dependent shapes are not loops the IR expresses.
_NUMPY_METHODS = (
    "argsort",
    "searchsorted",
    "ptp",
    "trace",
    "diagonal",
    "argpartition",
    "choose",
    "compress",
    "getfield",
)


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


def _view(self, dtype=None, type=None):  # noqa: A002 - NumPy's name
    """`ndarray.view()`: the same elements, a view (writes through either show in both);
    another dtype or array type is NumPy's (counted)."""
    if type is not None or (dtype is not None and np.dtype(dtype) != self.dtype):
        args = {k: v for k, v in (("dtype", dtype), ("type", type)) if v is not None}
        return run_numpy("method view", _call_method, (self, "view"), args)
    return same_elements(self)


def same_elements(base):
    """A view of `base` over the same elements (`view()`, a real array's `real`), through
    a leaf of its own when `base` reads one (see `ndarray.copy`)."""
    e = base._expr
    if type(e) is Leaf and e.node is not None:
        e = e.with_node(e.node)
    return ndarray(e, base.shape).as_view_of(
        base, lambda b, v: b.__setitem__(Ellipsis, v), remake=same_elements
    )


same_elements.layout = lambda strides: strides


def _fill(self, value):
    """`ndarray.fill`: every element becomes `value` (lazily)."""
    self[...] = value


_shape_and_product_methods()
# NumPy's own functions whose result is a lazy array whatever the data (reductions): the
# call of a statement replayed returns its placeholder, `replay` (`np.sum(a * b)`)
REPLAYED_FUNCTIONS = frozenset(
    getattr(np, name)
    for name in "sum mean max min amax amin prod any all std var nansum nanmean nanstd".split()
)
for _function in REPLAYED_FUNCTIONS:
    register_function(_function)


def _array_function_method(self, func, types, args, kwargs):
    """`ndarray.__array_function__`: NumPy's function `func` on daybreak arrays."""
    if (ACTIVE[0] is not None or ENTRY) and func in REPLAYED_FUNCTIONS:
        found = on_call(func, sys._getframe(1))
        if found is not None:
            if found is not NUMPY_NOW:
                return found
            if "out" not in kwargs:  # (a statement run at once: NumPy's function)
                now = run_at_once(func, args, kwargs)
                if now is not NOT_NOW:
                    return now
    return _array_function(func, args, kwargs)


ndarray.__array_function__ = _array_function_method


def _array_function(func, args, kwargs):
    ours = _later().FUNCTIONS.get(func)
    if ours is not None:
        return ours(*args, **kwargs)
    name = getattr(func, "__name__", func)
    written = _WRITES_INTO.get(func)
    if written is not None:
        target = args[0] if args else kwargs.get(written)
        if is_lazy(target):
            return _numpy_writing_into(f"function {name}", target, func, args, kwargs, written)
    return run_numpy(f"function {name}", func, args, kwargs)


# NumPy functions that write into their first argument (its name): a lazy one is rebound.
_WRITES_INTO = {
    np.copyto: "dst",
    np.put: "a",
    np.place: "arr",
    np.putmask: "a",
    np.fill_diagonal: "a",
    np.put_along_axis: "arr",
}


def _numpy_writing_into(reason, target, func, args, kwargs, written):
    """`func` (counted) writing into a copy of `target`'s values, then `target` rebound to
    them: its computed buffer may be shared by other values (copies, earlier results)."""
    from .array import concrete_expr
    from .fallback import check_allowed, to_numpy

    check_allowed(reason)
    values = np.array(target.value(), copy=True)
    if args:
        args = (values, *args[1:])
    else:
        kwargs = dict(kwargs, **{written: values})
    result = func(*to_numpy(tuple(args)), **to_numpy(dict(kwargs)))
    target._expr = concrete_expr(values)[0]
    target.write_back()
    return result


# Indexing and item assignment, attached here rather than imported inside each call.


_NDARRAY = np.ndarray


def _subscript(self, key):
    """`self[key]` (`indexing.getitem`), or the next call of a replayed statement."""
    if ACTIVE[0] is not None or ENTRY:
        frame = sys._getframe(1)
        # (`on_call` asked only where it has something to say: a Python loop's every
        # subscript comes here, most in statements neither marked nor replayed)
        if ACTIVE[0] is not None or (id(frame.f_code), frame.f_lasti) in ENTRY:
            found = on_call(GETITEM, frame, key)
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                data = data_now(self)  # (a statement run at once: NumPy's view or element)
                if data is not None:
                    read_at_once(self)
                    kind = type(key)
                    if kind is tuple and len(key) == 2:
                        if type(key[0]) is not ndarray and type(key[1]) is not ndarray:
                            return data[key]
                    elif kind is not ndarray and kind is not tuple:
                        return data[key]
                    keys = numpy_operands((key,))  # (daybreak arrays in the key: their data)
                    if keys is not None:
                        return data[keys[0]]
    seen = self._seen
    if seen is not None and self._shape:
        # Computed and read before (a Python loop's element and row reads of a computed
        # array: ~10^5 of them, and a call costs more than NumPy's indexing): NumPy's own
        # indexing for plain keys, with nothing else asked (what `concrete` would find;
        # `is_plain_basic` inline for a pair, the loops' key)
        leaf = seen[0]
        if leaf is self._held and leaf.node.cached is seen[1]:
            kind = type(key)
            if kind is tuple and len(key) == 2:
                k0, k1 = key
                plain = type(k0) in PLAIN_KEYS and type(k1) in PLAIN_KEYS
            else:
                plain = kind in PLAIN_KEYS or (kind is tuple and is_plain_basic(key))
            if plain:
                part = seen[2][key]
                element = type(part) is not _NDARRAY
                if element or (
                    self._memory is not None
                    and part.size < SETTINGS.eager_below
                    and not broadcasts(key, part)
                ):
                    # (an element; a small part of the user's memory) A hot loop's array
                    # goes to NumPy itself (`handover.py`): element work counts, a bigger
                    # part starts the count again
                    if element or part.size < SMALL_PART:
                        hot = self._hot + 1
                        self._hot = hot
                        if hot >= HOT:
                            hand_over(self)
                    else:
                        self._hot = 0
                    return part
                return part_of_seen(self, part, seen[2], key)
            if (
                kind is _NDARRAY
                and len(self._shape) == 1
                and key.size < SETTINGS.eager_below
                and key.dtype.kind in "iu"
            ):
                # a few positions of a vector (a CSR row's `x[cols]`): NumPy's own gather,
                # its result as small as the key (`indexing._numpy_selection`'s case); a
                # loop's element work, toward the handover
                part = seen[2][key]
                count_part(self, key.size)
                return part
    return getitem(self, key)


ndarray.__getitem__ = _subscript
ndarray.__setitem__ = setitem

__all__ = ["call_ufunc", "reduce_or_fallback", "wrap", "as_operand"]
