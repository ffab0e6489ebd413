"""Hypothesis strategies for IR types, and the table of which operators produce which scalar.

Part of the program generator (`tests.ir.generators` re-exports everything here). Every
strategy lists its simplest choice first, so shrinking moves toward `i32` and flat types.
"""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from daybreak.ir.ops import OPS, NeedsInference, OpTypeError, Unifier
from daybreak.ir.types import SCALARS, Dict, Scalar, Struct, Type, Vec

# Strategy constructors are cached: building (and having hypothesis validate) a new strategy on
# every draw would be most of the generator's cost.

# Order matters: hypothesis shrinks toward the first entry.
_SCALAR_ORDER = ("i32", "i64", "f64", "bool", "f32", "i8", "i16", "u8", "u16", "u32", "u64")


@cache
def scalar_types() -> st.SearchStrategy[Scalar]:
    """Any of the eleven scalar types."""
    return st.sampled_from([SCALARS[k] for k in _SCALAR_ORDER])


@cache
def merge_types() -> st.SearchStrategy[Type]:
    """What a merger, a dictmerger value or a vecmerger element may hold: a scalar or a struct
    of one to three scalars."""
    structs = st.lists(scalar_types(), min_size=1, max_size=3).map(lambda fs: Struct(tuple(fs)))
    return st.one_of(scalar_types(), scalar_types(), structs)


@cache
def key_types() -> st.SearchStrategy[Type]:
    """Dictionary keys: scalars, sometimes a struct of two scalars."""
    pairs = st.tuples(scalar_types(), scalar_types()).map(lambda fs: Struct(fs))
    return st.one_of(scalar_types(), scalar_types(), scalar_types(), pairs)


@cache
def dict_types(max_depth: int = 1) -> st.SearchStrategy[Dict]:
    """dict[K,V] that some builder can produce: V mergeable (dictmerger) or a vector
    (groupmerger)."""
    inner = types(max(max_depth - 1, 0), allow_dict=False)
    value = st.one_of(merge_types(), inner.map(Vec))
    return st.builds(Dict, key_types(), value)


@cache
def types(max_depth: int = 2, allow_dict: bool = True) -> st.SearchStrategy[Type]:
    """Value types: scalars, vec[T], structs of 1-3 fields, dicts (keys scalar or struct of
    scalars, values a builder can produce)."""
    if max_depth <= 0:
        return scalar_types()
    inner = types(max_depth - 1, allow_dict)
    options = [
        scalar_types(),
        scalar_types(),
        inner.map(Vec),
        st.lists(inner, min_size=1, max_size=3).map(lambda fs: Struct(tuple(fs))),
    ]
    if allow_dict:
        options.append(dict_types(max_depth))
    return st.one_of(*options)


@cache
def param_types() -> st.SearchStrategy[Type]:
    """Types of program parameters: vec[scalar] (mostly), scalars, vec[struct of scalars],
    and vectors of strings (vec[vec[i8]])."""
    struct_vec = st.lists(scalar_types(), min_size=1, max_size=3).map(
        lambda fs: Vec(Struct(tuple(fs)))
    )
    strings = st.just(Vec(Vec(SCALARS["i8"])))
    return st.one_of(scalar_types().map(Vec), scalar_types(), struct_vec, strings)


# ----------------------------------------------------------------------------------------------
# Which operators of ops.OPS give a scalar of each type, found by asking each op's own type rule
# (so a new op in the table is generated without touching this file).


class _ExactUnifier(Unifier):
    """A Unifier for concrete types: unification is equality."""

    def resolve(self, t: Type) -> Type:
        return t

    def unify(self, a: Type, b: Type, what: str) -> Type:
        if a != b:
            raise OpTypeError(f"{what} have different types: {a} and {b}")
        return a


def op_result(name: str, args: list[Type]) -> Type | None:
    """The type op `name` gives for argument types `args`, or None if its rule rejects them."""
    try:
        return OPS[name].type_rule(_ExactUnifier(), args)
    except (OpTypeError, NeedsInference, AssertionError):
        return None


# Ops the generator builds by hand: select (any type), assert (must not fail), collections.
_SPECIAL = {"select", "assert"}


def _op_table() -> dict[Scalar, dict[str, list[Scalar]]]:
    table: dict[Scalar, dict[str, list[Scalar]]] = {}
    for name, decl in OPS.items():
        if name in _SPECIAL:
            continue
        for kind in _SCALAR_ORDER:
            arg = SCALARS[kind]
            out = op_result(name, [arg] * decl.arity)
            if isinstance(out, Scalar):
                table.setdefault(out, {}).setdefault(name, []).append(arg)
    return table


# result scalar type -> {op name: the scalar types its operands may all have}
OP_TABLE: dict[Scalar, dict[str, list[Scalar]]] = _op_table()
