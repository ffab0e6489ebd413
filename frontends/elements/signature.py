"""Signatures of element expressions: what decides the IR an expression emits, as a value.

A loop node's IR is a function of its expression's shape — node classes, dtypes, the builder
functions of its `Apply`s (their code and what their closures hold), leaf strides and
offsets — and of which input each leaf reads. Data never enters: a Python scalar is a
parameter (an `Outer` over a `Param`), so `a * 2.0` and `a * 3.0` have one signature. The
scheduler keys compiled programs by these signatures, so a cached program is found without
building its text.

>>> import numpy as np
>>> from daybreak.frontends.lazy import Param
>>> from daybreak.ir.types import F64, Vec
>>> from daybreak.frontends.elements.expr import Apply, Leaf
>>> def doubled():
...     x = Leaf(Param(np.ones(3), Vec(F64)), (1,), 3, np.dtype("f8"))
...     return Apply(lambda ctx, a: a * 2.0, (x,), np.dtype("f8"))
>>> a, b = doubled(), doubled()
>>> expr_signature(a, {id(a.args[0].node): 0}) == expr_signature(b, {id(b.args[0].node): 0})
True
"""

from __future__ import annotations

import types

import numpy as np

from ..lazy import Node
from .expr import Apply, Elem, Leaf, Outer, postorder


class Unkeyable(Exception):
    """Something in an expression whose effect on the IR cannot be told from its value."""


# Slots every element has, or that describe caching rather than the IR.
_COMMON_SLOTS = frozenset(
    {
        "dtype",
        "realized",
        "reduced",
        "__weakref__",
        "fn",
        "_args",
        "weight",
        "depth",
        "eager",
        "order",
        "owner",
        "library_value",
        "fn_sig",
    }
)
_EXTRA_SLOTS: dict[type, tuple[str, ...]] = {}


def _extra_slots(cls: type) -> tuple[str, ...]:
    """The slots a class adds to `Elem` (a Leaf's strides, a Piecewise's pieces, ...)."""
    found = _EXTRA_SLOTS.get(cls)
    if found is None:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for name in getattr(klass, "__slots__", ()):
                if name not in _COMMON_SLOTS and name not in names:
                    names.append(name)
        found = _EXTRA_SLOTS[cls] = tuple(names)
    return found


def value_key(value, nodes: dict[int, int], depth: int = 0):
    """A hashable stand-in for a value that shapes IR (closure cells, element slots)."""
    if depth > 20:
        raise Unkeyable("nested too deeply")
    if value is None or isinstance(value, bool | int | str | bytes | type):
        return (type(value), value)
    if isinstance(value, float):
        return (float, value.hex())  # 0.0 and -0.0 differ; so do their programs
    if isinstance(value, np.generic):
        return (type(value), value.tobytes())
    if isinstance(value, np.dtype):
        return (np.dtype, value.str)
    if isinstance(value, types.FunctionType):
        return fn_key(value, nodes, depth + 1)
    if isinstance(value, tuple | list):
        return (type(value), tuple(value_key(v, nodes, depth + 1) for v in value))
    if isinstance(value, Node):
        if id(value) not in nodes:
            raise Unkeyable("a node the expression does not list as an input")
        return (Node, nodes[id(value)])
    if isinstance(value, Elem | np.ndarray):
        raise Unkeyable(type(value).__name__)
    try:
        hash(value)
    except TypeError as why:
        raise Unkeyable(type(value).__name__) from why
    return (type(value), value)  # frozen dataclasses (pieces, IR types), enum members, ...


_NO_NODES: dict[int, int] = {}
# (code, ids of what the closure holds) -> (the objects, their key). Builder closures are
# made afresh for every call but hold the same few objects (IR types, pieces, strides), so
# each distinct closure is keyed once. The objects are kept, so their ids stay theirs.
_FN_KEYS: dict = {}


def builder_key(fn):
    """`fn_key(fn)` for a builder that reads none of a loop's inputs (what a maker that keeps
    a builder for many elements asks once, `Apply.fn_sig`), or None."""
    try:
        return fn_key(fn, _NO_NODES)
    except Unkeyable:
        return None


def fn_key(fn, nodes: dict[int, int], depth: int = 0):
    """A builder function's code and what its closure and defaults hold."""
    cells = fn.__closure__
    if not cells and not fn.__defaults__:
        return fn.__code__
    held = (*(c.cell_contents for c in cells or ()), fn.__defaults__)
    ident = (fn.__code__, tuple(map(id, held)))
    found = _FN_KEYS.get(ident)
    if found is not None and all(a is b for a, b in zip(found[0], held, strict=True)):
        return found[1]
    try:  # keyed without the loop's inputs: then the key holds for any loop
        key = _fn_key_of(fn, held, _NO_NODES, depth)
    except Unkeyable:
        return _fn_key_of(fn, held, nodes, depth)  # it reads one of the inputs: not kept
    if len(_FN_KEYS) > 50_000:
        _FN_KEYS.clear()
    _FN_KEYS[ident] = (held, key)
    return key


def _fn_key_of(fn, held: tuple, nodes: dict[int, int], depth: int):
    return (
        fn.__code__,
        tuple(value_key(v, nodes, depth + 1) for v in held[:-1]),
        value_key(held[-1], nodes, depth + 1),
    )


def expr_signature(expr: Elem, nodes: dict[int, int]) -> tuple:
    """The signature of `expr`: one entry per distinct element (arguments first), each its
    class, dtype, builder key, argument positions and class-specific slots; `nodes` numbers
    the vectors and scalars it reads (the loop node's inputs)."""
    position: dict[int, int] = {}
    out = []
    for e in postorder(expr):
        position[id(e)] = len(out)
        kind = type(e)
        # (dtypes as themselves: equal dtypes emit equal IR, and `.str` builds a string)
        if kind is Leaf or kind is Outer:  # the common elements, keyed without the general walk
            node = e.node
            if node is not None and id(node) not in nodes:
                raise Unkeyable("a node the expression does not list as an input")
            where = None if node is None else nodes[id(node)]
            out.append(
                (kind, e.dtype, where, e.strides, e.size, e.offset)
                if kind is Leaf
                else (kind, e.dtype, where)
            )
            continue
        if kind is Apply:  # the plain builder application: no slots of its own
            key = e.fn_sig
            if key is None:
                key = fn_key(e.fn, nodes)
            out.append((kind, e.dtype, key, tuple([position[id(a)] for a in e._args])))
            continue
        entry: list = [kind, e.dtype]
        if isinstance(e, Apply):
            entry.append(fn_key(e.fn, nodes))
            entry.append(tuple(position[id(a)] for a in e.args))
        elif not isinstance(e, Leaf | Outer):
            raise Unkeyable(type(e).__name__)
        for name in _extra_slots(type(e)):
            value = getattr(e, name)
            if isinstance(value, Elem):
                if id(value) not in position:
                    raise Unkeyable(f"{type(e).__name__}.{name} outside the expression")
                entry.append(("elem", position[id(value)]))
            elif name == "node" and value is None:
                entry.append(None)
            else:
                entry.append(value_key(value, nodes))
        out.append(tuple(entry))
    return tuple(out)
