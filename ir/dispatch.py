"""Per-phase tables of handlers, one entry per construct, each checked against the declarations.

Every phase that treats node kinds one by one (printing, type checking, interpreting, lowering
to LLVM, later CUDA) keeps a `NodeTable`; a phase that treats ops one by one (a backend's
emitters) keeps an `OpTable`; one that treats builder kinds one by one a `BuilderTable`. A
table is a dict from construct to handler, so a lookup costs what a dict lookup costs, and it
knows which constructs it must cover: every class of `nodes.NODE_KINDS`, every name of
`ops.OPS`, every class of `types.BUILDER_KINDS`. Each table is recorded in `TABLES` under its
phase name when it is made, so tests/test_completeness.py can import every phase and name what
each table misses: adding a construct fails that one test until every phase handles it.

    >>> from daybreak.ir import printer
    >>> TABLES["printer"].missing()
    []
    >>> TABLES["printer"].covers
    'node kind'

A phase registers its handlers with the table's decorator (or as dict items):

    TYPE_RULES = NodeTable("typecheck")

    @TYPE_RULES.register(N.MakeVector, N.MakeStruct)
    def _make_tuple(checker, node, env): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .nodes import ITER_KINDS, NODE_KINDS
from .ops import OPS
from .types import BUILDER_KINDS


class Table(dict):
    """One phase's handlers, keyed by construct; see the module docstring.

    `covers` says what kind of construct the keys are, `constructs` gives them all (read when
    asked, so constructs declared after the table is made count too), `label` names one in a
    message.
    """

    __slots__ = ("phase", "covers", "_constructs", "_label")

    def __init__(
        self,
        phase: str,
        covers: str,
        constructs: Callable[[], Iterable],
        label: Callable[[Any], str],
    ):
        super().__init__()
        if phase in TABLES:
            raise ValueError(f"there is already a table for the phase {phase!r}")
        self.phase, self.covers = phase, covers
        self._constructs, self._label = constructs, label
        TABLES[phase] = self

    def register(self, *keys) -> Callable:
        """A decorator that makes the function it decorates the handler of each of `keys`."""
        known = set(self._constructs())
        for key in keys:
            if key not in known:
                raise ValueError(f"{key!r} is not a {self.covers} ({self.phase} table)")
            if key in self:
                raise ValueError(f"{self.phase} already has a handler for {self._label(key)}")

        def add(handler):
            for key in keys:
                self[key] = handler
            return handler

        return add

    def missing(self) -> list[str]:
        """The constructs this table has no handler for, by name, in declaration order."""
        return [self._label(k) for k in self._constructs() if k not in self]

    def unknown(self) -> list[str]:
        """Keys that are no construct (left behind when one was renamed or removed)."""
        known = set(self._constructs())
        return [repr(k) for k in self if k not in known]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.phase!r}: {len(self)} handlers>"


def _class_name(cls: type) -> str:
    return cls.__name__


class NodeTable(Table):
    """A handler for every node kind of `nodes.NODE_KINDS`, keyed by the node class."""

    __slots__ = ()

    def __init__(self, phase: str):
        super().__init__(phase, "node kind", lambda: NODE_KINDS, _class_name)


class OpTable(Table):
    """A handler for every op of `ops.OPS`, keyed by the op's name."""

    __slots__ = ()

    def __init__(self, phase: str):
        super().__init__(phase, "op", lambda: OPS, str)


class BuilderTable(Table):
    """A handler for every builder kind of `types.BUILDER_KINDS`, keyed by the type class."""

    __slots__ = ()

    def __init__(self, phase: str):
        super().__init__(phase, "builder kind", lambda: BUILDER_KINDS, _class_name)


class IterTable(Table):
    """A handler for every iterator kind of `nodes.ITER_KINDS`, keyed by its name (`Iter.kind`)."""

    __slots__ = ()

    def __init__(self, phase: str):
        super().__init__(phase, "iterator kind", lambda: ITER_KINDS, str)


TABLES: dict[str, Table] = {}
"""Every table made so far, by phase name (a phase's tables exist once its module is imported)."""


__all__ = ["Table", "NodeTable", "OpTable", "BuilderTable", "IterTable", "TABLES"]
