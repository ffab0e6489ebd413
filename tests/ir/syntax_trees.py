"""Hypothesis strategies for random syntax trees: every node kind, every literal form, random
annotations, nesting that needs parentheses. The trees need not be well typed (that is what
tests/ir/generators.py is for); they exercise the printer and the parser against each other.

The trees avoid what text cannot say: calls of names that the parser would resolve (a callee
is `f`, `g` or a lambda), reserved words as names, NaN payloads other than the default.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import strategies as st

from daybreak.ir.nodes import (
    CUDF,
    Apply,
    Ascribe,
    Cast,
    For,
    GetField,
    Ident,
    If,
    Iter,
    Iterate,
    Lambda,
    Let,
    Literal,
    MakeStruct,
    MakeVector,
    Merge,
    NewBuilder,
    Op,
    Param,
    Result,
    Sort,
)
from daybreak.ir.ops import OPS, int_max, int_min, to_f32
from daybreak.ir.types import (
    BOOL,
    F32,
    F64,
    INTS,
    MERGE_OPS,
    SCALARS,
    STRING,
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scanner,
    Struct,
    Unknown,
    Vec,
    VecMerger,
)

# Value names: some are also builtin names (`exp`, `map`, `i64`), which is fine where they are
# not called.
NAMES = ["a", "b", "x", "y", "v", "exp", "map", "i64", "t_1"]
CALLEES = ["f", "g"]
ANNOTATION_NAMES = ["impl", "predicate", "size"]
ANNOTATION_VALUES = ["global", "true", "100", "-2", "1.5f", "inf", "two words", "", 'q"t', "a\\b"]


def _canonical_nan(v: float) -> float:
    # Literals compare by bits; the text keeps the sign of a NaN but not its payload.
    return math.copysign(math.nan, v) if math.isnan(v) else v


def scalar_literals():
    ints = [
        st.integers(int_min(SCALARS[k]), int_max(SCALARS[k])).map(
            lambda v, k=k: Literal(v, SCALARS[k])
        )
        for k in INTS
    ]
    return st.one_of(
        *ints,
        st.booleans().map(lambda v: Literal(v, BOOL)),
        st.floats().map(lambda v: Literal(_canonical_nan(v), F64)),
        st.floats(width=32).map(lambda v: Literal(_canonical_nan(to_f32(v)), F32)),
        st.binary(max_size=5).map(lambda v: Literal(v, STRING)),
    )


def types(max_depth: int = 2):
    scalars = st.sampled_from(list(SCALARS.values()))

    def extend(inner):
        op = st.sampled_from(MERGE_OPS)
        return st.one_of(
            inner.map(Vec),
            st.builds(Dict, inner, inner),
            st.lists(inner, max_size=3).map(lambda fs: Struct(tuple(fs))),
            inner.map(Appender),
            st.builds(Merger, inner, op),
            st.builds(DictMerger, inner, inner, op),
            st.builds(GroupMerger, inner, inner),
            st.builds(VecMerger, inner, op),
            st.builds(Scanner, inner, op),
        )

    base = st.one_of(scalars, st.just(Unknown()))
    return st.recursive(base, extend, max_leaves=4)


_TYPES = types()
_BUILDER_TYPES = _TYPES.filter(lambda t: t.is_builder and not isinstance(t, Struct))
_DECLS = list(OPS.values())


annotations = st.lists(
    st.tuples(st.sampled_from(ANNOTATION_NAMES), st.sampled_from(ANNOTATION_VALUES)), max_size=2
).map(tuple)


@st.composite
def _params(draw, n_min: int, n_max: int, type_strategy):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=n_min, max_size=n_max, unique=True))
    return tuple(Param(n, draw(type_strategy)) for n in names)


def _lambdas(body, n_params: int | None = None):
    lo, hi = (0, 3) if n_params is None else (n_params, n_params)
    return st.builds(Lambda, _params(lo, hi, st.one_of(st.none(), _TYPES)), body)


@st.composite
def _ops(draw, children):
    decl = draw(st.sampled_from(_DECLS))
    return Op(decl.name, tuple(draw(children) for _ in range(decl.arity)))


def _iters(children):
    plain = children.map(lambda e: Iter("scalar", e))
    bounded = st.builds(lambda *es: Iter("scalar", *es), children, children, children, children)
    ranged = st.builds(lambda *es: Iter("range", None, *es), children, children, children)
    return st.lists(st.one_of(plain, bounded, ranged), min_size=1, max_size=3).map(tuple)


def _annotated(strategy):
    return st.tuples(strategy, annotations).map(
        lambda pair: pair[0] if not pair[1] else _with(pair[0], pair[1])
    )


def _with(node, notes):
    return replace(node, annotations=notes)


def _let(name: str, value, body) -> Let:
    # A lambda let-bound under a builtin's name would make the builtin uncallable in its body,
    # which text cannot say (the printer refuses such trees).
    if isinstance(value, Lambda) and name in ("exp", "map", "i64"):
        name = "fn"
    return Let(name, value, body)


def expressions(max_leaves: int = 25):
    leaves = st.one_of(scalar_literals(), st.sampled_from(NAMES).map(Ident))

    def extend(children):
        kids = st.lists(children, max_size=3).map(tuple)
        callee = st.one_of(st.sampled_from(CALLEES).map(Ident), _lambdas(children))
        return _annotated(
            st.one_of(
                kids.map(MakeVector),
                kids.map(MakeStruct),
                st.builds(GetField, children, st.integers(0, 12)),
                _ops(children),
                st.builds(Cast, st.sampled_from(list(SCALARS.values())), children),
                st.builds(Ascribe, children, _TYPES),
                st.builds(_let, st.sampled_from(NAMES), children, children),
                st.builds(If, children, children, children),
                _lambdas(children),
                st.builds(Apply, callee, kids),
                st.builds(For, _iters(children), children, _lambdas(children, 3)),
                st.builds(Merge, children, children),
                st.builds(Result, children),
                st.builds(NewBuilder, _BUILDER_TYPES, st.one_of(st.none(), children)),
                st.builds(Iterate, children, _lambdas(children, 1)),
                st.builds(Sort, children, _lambdas(children, 2)),
                st.builds(CUDF, st.sampled_from(["udf", "my.mod:f"]), _TYPES, kids),
            )
        )

    return st.recursive(_annotated(leaves), extend, max_leaves=max_leaves)


def programs_params():
    """Typed, distinct program parameters."""
    return _params(0, 3, _TYPES)


__all__ = ["expressions", "scalar_literals", "types", "programs_params", "annotations"]
