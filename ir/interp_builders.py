"""Builders as persistent values, for the reference interpreter.

A merge returns a NEW builder state and never changes the old one, so that even a program that
uses a builder twice (which compiled backends may reject, see docs/ir.md) has a functional
meaning. The states:

| builder | state |
|---|---|
| `appender[T]` | a log of the merged values |
| `merger[T,op]` | the value combined so far |
| `dictmerger[K,V,op]`, `groupmerger[K,V]` | a log of the merged `{key, value}` pairs |
| `vecmerger[T,op]` | `(initial vector, log of the merged {index, value} pairs)` |
| `scanner[T,op]` | a log of the running values (the last is the value combined so far) |
| struct of builders | a tuple of states |

A log is `(buffer, n)`: the first `n` items of a Python list that is only ever appended to,
so the items a state denotes never change. A merge appends in place when no other state has
grown the buffer past `n` (the linear case: O(1), no copy), else it copies the first `n`.

    >>> from daybreak.ir.types import Appender, I32
    >>> t = Appender(I32)
    >>> empty = NEW_BUILDER[Appender](t)(None)
    >>> one = merge_function(t)(empty, 1)
    >>> result_function(t)(merge_function(t)(one, 2)), result_function(t)(one)
    ((1, 2), (1,))
    >>> result_function(t)(merge_function(t)(one, 3))  # `one` is unchanged by the first merge
    (1, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .dispatch import BuilderTable
from .ops import OpRuntimeError, canonical_key, merge_combine, merge_identity
from .types import (
    Appender,
    DictMerger,
    GroupMerger,
    Merger,
    Scanner,
    Struct,
    Type,
    VecMerger,
)

State = Any


Log = tuple[list, int]


def _empty_log() -> Log:
    return ([], 0)  # a fresh buffer for every new builder: runs never share one


def _log_append(log: Log, item) -> Log:
    buffer, n = log
    if len(buffer) != n:  # another state already grew this buffer: branch off a copy
        buffer = buffer[:n]
    buffer.append(item)
    return (buffer, n + 1)


def _log_items(log: Log) -> list:
    buffer, n = log
    return buffer[:n]


# ----------------------------------------------------------------------------------------------
# New builders: type -> (constructor argument or None -> initial state).


def _new_merger(t: Merger) -> Callable[[Any], State]:
    identity = merge_identity(t.op, t.elem)
    return lambda init: identity if init is None else init


def _new_vecmerger(t: VecMerger) -> Callable[[Any], State]:
    return lambda initial: (initial, _empty_log())


NEW_BUILDER = BuilderTable("interp new builder")
NEW_BUILDER.register(Appender, DictMerger)(lambda t: lambda capacity_hint: _empty_log())
NEW_BUILDER.register(Scanner)(lambda t: lambda _: _empty_log())
NEW_BUILDER.register(Merger)(_new_merger)
NEW_BUILDER.register(GroupMerger)(lambda t: lambda _: _empty_log())
NEW_BUILDER.register(VecMerger)(_new_vecmerger)


# ----------------------------------------------------------------------------------------------
# Merges: type -> (state, value -> new state).


def _merge_log(t) -> Callable[[State, Any], State]:
    return _log_append


def _merge_merger(t: Merger) -> Callable[[State, Any], State]:
    op, elem = t.op, t.elem
    return lambda state, value: merge_combine(op, state, value, elem)


def _merge_vecmerger(t: VecMerger) -> Callable[[State, Any], State]:
    def merge(state, pair):
        initial, log = state
        index = pair[0]
        if not 0 <= index < len(initial):
            raise OpRuntimeError(
                f"vecmerger index {index} out of bounds for a vector of length {len(initial)}"
            )
        return (initial, _log_append(log, pair))

    return merge


def _merge_scanner(t: Scanner) -> Callable[[State, Any], State]:
    op, elem = t.op, t.elem

    def merge(log, value):
        buffer, n = log
        # The first value is kept as it is, not combined with the op's identity: a first
        # -0.0 stays -0.0 under + (0.0 + -0.0 is 0.0), as in NumPy's cumsum.
        running = value if n == 0 else merge_combine(op, buffer[n - 1], value, elem)
        return _log_append(log, running)

    return merge


_MERGE = BuilderTable("interp merge")
_MERGE.register(Appender, DictMerger, GroupMerger)(_merge_log)
_MERGE.register(Merger)(_merge_merger)
_MERGE.register(VecMerger)(_merge_vecmerger)
_MERGE.register(Scanner)(_merge_scanner)


def merge_function(t: Type) -> Callable[[State, Any], State]:
    """How `merge(b, v)` computes the new state of a builder of type `t`."""
    if type(t) not in _MERGE:
        raise TypeError(f"cannot merge into a {t}")
    return _MERGE[type(t)](t)


# ----------------------------------------------------------------------------------------------
# Results: type -> (state -> value).


def _result_log(t: Appender | Scanner) -> Callable[[State], Any]:
    return lambda log: tuple(_log_items(log))


def _result_merger(t: Merger) -> Callable[[State], Any]:
    return lambda value: value


def _result_dictmerger(t: DictMerger) -> Callable[[State], Any]:
    key_type, value_type, op = t.key, t.value, t.op

    def finish(log):
        out: dict = {}
        for key, value in _log_items(log):
            k = canonical_key(key, key_type)
            out[k] = merge_combine(op, out[k], value, value_type) if k in out else value
        return out

    return finish


def _result_groupmerger(t: GroupMerger) -> Callable[[State], Any]:
    key_type = t.key

    def finish(log):
        groups: dict = {}
        for key, value in _log_items(log):
            groups.setdefault(canonical_key(key, key_type), []).append(value)
        return {k: tuple(vs) for k, vs in groups.items()}

    return finish


def _result_vecmerger(t: VecMerger) -> Callable[[State], Any]:
    elem, op = t.elem, t.op

    def finish(state):
        initial, log = state
        out = list(initial)
        for index, value in _log_items(log):
            out[index] = merge_combine(op, out[index], value, elem)
        return tuple(out)

    return finish


def _result_struct(t: Struct) -> Callable[[State], Any]:
    parts = [result_function(f) for f in t.fields]
    return lambda states: tuple([finish(s) for finish, s in zip(parts, states, strict=True)])


_RESULT = BuilderTable("interp result")
_RESULT.register(Appender, Scanner)(_result_log)
_RESULT.register(Merger)(_result_merger)
_RESULT.register(DictMerger)(_result_dictmerger)
_RESULT.register(GroupMerger)(_result_groupmerger)
_RESULT.register(VecMerger)(_result_vecmerger)


def result_function(t: Type) -> Callable[[State], Any]:
    """How `result(b)` reads the value out of a builder (or struct of builders) of type `t`."""
    if isinstance(t, Struct) and t.is_builder:
        return _result_struct(t)
    if type(t) not in _RESULT:
        raise TypeError(f"result needs a builder, not {t}")
    return _RESULT[type(t)](t)
