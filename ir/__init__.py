"""daybreak.ir — the common IR: types, nodes, builder API, text syntax, type checker, interpreter.

>>> import daybreak as db
>>> p = db.ir.parse("|x: i32| x + 1")
>>> db.ir.format(p)
'|x: i32| x + 1'
"""

from . import builder, nodes, ops, types
from .errors import (
    DaybreakError,
    IRError,
    LinearityError,
    LoweringError,
    ParseError,
    TypeCheckError,
    UnknownBackendError,
    UnsupportedError,
    WeldRuntimeError,
)
from .nodes import Program
from .parser import parse
from .printer import format
from .typecheck import typecheck, typecheck_expr

__all__ = [
    "builder",
    "nodes",
    "ops",
    "types",
    "Program",
    "parse",
    "format",
    "typecheck",
    "typecheck_expr",
    "DaybreakError",
    "IRError",
    "LinearityError",
    "LoweringError",
    "ParseError",
    "TypeCheckError",
    "UnknownBackendError",
    "UnsupportedError",
    "WeldRuntimeError",
]
