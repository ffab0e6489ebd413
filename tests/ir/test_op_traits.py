"""The traits declared on each op (ir/ops.py) agree with what the op computes."""

import itertools
import math
import struct

import pytest

from daybreak.ir.ops import (
    MERGE_OP_DECLS,
    OPS,
    OpRuntimeError,
    merge_combine,
    merge_identity,
    merge_op_accepts,
)
from daybreak.ir.types import BOOL, F32, F64, I8, I32, MERGE_OPS, U8, U64, Scalar, Vec

SAMPLES = {
    BOOL: [False, True],
    I8: [0, 1, -1, 127, -128, 5],
    I32: [0, 1, -1, 2**31 - 1, -(2**31), 7],
    U8: [0, 1, 255, 3],
    U64: [0, 1, 2**64 - 1],
    F32: [0.0, -0.0, 1.5, -2.0, math.inf, -math.inf, math.nan],
    F64: [0.0, -0.0, 1.5, -2.0, 1e308, math.inf, -math.inf, math.nan],
}


def _bits(v):
    return struct.pack("<d", v) if isinstance(v, float) else v


def _applies(decl, t: Scalar) -> bool:
    try:
        decl.type_rule(_Checker(), [t] * decl.arity)
    except Exception:
        return False
    return True


class _Checker:
    """Enough of the type checker's Unifier for scalar type rules."""

    def resolve(self, t):
        return t

    def unify(self, a, b, what):
        assert a == b
        return a

    def is_unknown(self, t):
        return False


def _name(decl) -> str:
    return decl.name


SCALAR_OPS = [d for d in OPS.values() if d.name != "select"]


@pytest.mark.parametrize("decl", [d for d in OPS.values() if d.commutative], ids=_name)
def test_commutative_ops_give_the_same_value_either_way(decl):
    for t, values in SAMPLES.items():
        if not _applies(decl, t):
            continue
        for a, b in itertools.product(values, repeat=2):
            one = decl.evaluate([a, b], [t, t], t)
            other = decl.evaluate([b, a], [t, t], t)
            assert _bits(one) == _bits(other) or (one != one and other != other), (t, a, b)


@pytest.mark.parametrize("decl", [d for d in OPS.values() if d.associative], ids=_name)
def test_associative_ops_give_the_same_value_either_grouping(decl):
    for t, values in SAMPLES.items():
        if t.is_float or not _applies(decl, t):  # (floats: equal up to rounding, docs/ir.md)
            continue
        for a, b, c in itertools.product(values, repeat=3):
            left = decl.evaluate([decl.evaluate([a, b], [t, t], t), c], [t, t], t)
            right = decl.evaluate([a, decl.evaluate([b, c], [t, t], t)], [t, t], t)
            assert left == right, (t, a, b, c)


@pytest.mark.parametrize("decl", [d for d in OPS.values() if d.short_circuit], ids=_name)
def test_the_decisive_left_value_is_the_result(decl):
    v = decl.short_circuit_on
    assert {decl.evaluate([v, w], [BOOL, BOOL], BOOL) for w in (False, True)} == {v}
    assert len({decl.evaluate([not v, w], [BOOL, BOOL], BOOL) for w in (False, True)}) == 2
    assert not decl.commutative


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on inf and NaN arguments
@pytest.mark.parametrize("decl", [d for d in SCALAR_OPS if not d.can_fail], ids=_name)
def test_ops_that_cannot_fail_do_not_fail_on_scalars(decl):
    for t, values in SAMPLES.items():
        if not _applies(decl, t):
            continue
        result = decl.type_rule(_Checker(), [t] * decl.arity)
        for args in itertools.product(values, repeat=decl.arity):
            decl.evaluate(list(args), [t] * decl.arity, result)


def test_failing_ops_say_so():
    with pytest.raises(OpRuntimeError):
        OPS["lookup"].evaluate([(1, 2), 5], [Vec(I32), I32], I32)
    with pytest.raises(OpRuntimeError):
        OPS["assert"].evaluate([False], [BOOL], BOOL)
    assert OPS["lookup"].can_fail and OPS["assert"].can_fail and OPS["assert"].effect
    assert [d.name for d in OPS.values() if d.effect] == ["assert"]


def test_container_readers_take_a_container_first():
    readers = {d.name for d in OPS.values() if d.reads_container}
    assert readers == {"len", "lookup", "optlookup", "keyexists"}


def test_every_merge_op_is_declared_once():
    assert tuple(MERGE_OP_DECLS) == MERGE_OPS
    for decl in MERGE_OP_DECLS.values():
        assert decl.combine in OPS and decl.label.isidentifier()
        # a builder combines its merges in an unspecified order
        assert OPS[decl.combine].commutative and OPS[decl.combine].associative
    assert len({d.label for d in MERGE_OP_DECLS.values()}) == len(MERGE_OP_DECLS)


@pytest.mark.parametrize("op", MERGE_OPS)
def test_merging_into_the_identity_changes_nothing(op):
    for t, values in SAMPLES.items():
        if not merge_op_accepts(op, t):
            continue
        identity = merge_identity(op, t)
        for v in values:
            merged = merge_combine(op, identity, v, t)
            # (== not bits: a float merger starts at 0.0, and 0.0 + -0.0 is 0.0)
            assert merged == v or (v != v and merged != merged), (t, v)
