"""The canonical text of IR programs: `format(p)`, with `parse(format(p)) == p` for every program.

Canonical means one spelling per tree: literals with their canonical suffix (`7L`, `2.5f`),
parentheses only where precedence needs them, `let x: T = e;` for a let whose value is
ascribed, lets one per line. Lines are laid out within `width` columns (layout.py): a call is
flat when it fits, else one argument per line, except that a lambda as last argument stays on
the call's line and breaks after its parameters. A program whose body has binders (lets,
lambdas) starts its body on the line after the parameters.

>>> from daybreak.ir.parser import parse
>>> print(format(parse("|x: i32| (x + 1) * -2")))
|x: i32| (x + 1) * -2
>>> text = "|v: vec[f64]| let s = result(for(v, merger[f64,+], |b, i, x| merge(b, x))); s / 2.0"
>>> print(format(parse(text)))
|v: vec[f64]|
  let s = result(for(v, merger[f64,+], |b, i, x| merge(b, x)));
  s / 2.0
"""

from __future__ import annotations

import re

from .layout import (
    HARD,
    LAMBDA_LINE,
    LINE,
    SOFT,
    align,
    group,
    hug_group,
    inline_group,
    join,
    nest,
    nest_if_broken,
    render,
)
from .literals import literal_text, string_text
from .macros import PRELUDE_NAMES
from .nodes import (
    CUDF,
    Apply,
    Ascribe,
    Cast,
    Expr,
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
    Program,
    Result,
    Sort,
    deep_recursion,
)
from .ops import OPS, PREFIX_LEVEL
from .resolve import RESERVED, callable_names, function_scope
from .types import Func, Scalar, Type, children

# ----------------------------------------------------------------------------------------------
# Precedence levels of printed forms (higher binds tighter). Infix operators use their own
# levels from ops.OPS (1 .. 9).

LOWEST = 0  # let, lambda
PREFIX = PREFIX_LEVEL  # -x, !x, @(...) x
ASCRIBE = PREFIX + 1  # e: T
POSTFIX = PREFIX + 2  # calls, e.$0
ATOM = PREFIX + 3

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RAW_ANNOTATION_VALUE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*"
    r"|-?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(?:si|u16|u32|u64|u8|[cClL])?"
    r"|-?(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)[fF]?"
)


def type_text(t: Type) -> str:
    """The text of a type (`vec[{i32,f64}]`, `merger[f64,+]`, `appender[?]`)."""
    if _has_func(t):
        raise ValueError(f"function type {t} has no text form")
    return str(t)


def _has_func(t: Type) -> bool:
    return isinstance(t, Func) or any(_has_func(c) for c in children(t))


def _name(name: str) -> str:
    """A variable name, checked: text that would not read back as this name is refused."""
    if not _NAME.fullmatch(name) or name in RESERVED:
        raise ValueError(f"{name!r} cannot be written as a variable name")
    return name


def _annotation_text(annotations) -> str:
    parts = []
    for name, value in annotations:
        if not _NAME.fullmatch(name):
            raise ValueError(f"annotation name {name!r} is not a name")
        text = value if _RAW_ANNOTATION_VALUE.fullmatch(value) else string_text(value)
        parts.append(f"{name}: {text}")
    return "@(" + ", ".join(parts) + ")"


def _param_text(p: Param) -> str:
    return _name(p.name) if p.type is None else f"{_name(p.name)}: {type_text(p.type)}"


def _params_text(params) -> str:
    return "|" + ", ".join(_param_text(p) for p in params) + "|"


def _is_bare_number(e: Expr) -> bool:
    # `-` written before a number would make a negative literal: -(3) is negation of 3.
    return (
        isinstance(e, Literal)
        and not e.annotations
        and isinstance(e.type, Scalar)
        and e.type.kind != "bool"
    )


def _same_level_infix(e: Expr, level: int) -> bool:
    if not isinstance(e, Op) or e.annotations:
        return False
    decl = OPS.get(e.op)
    return decl is not None and decl.form == "infix" and decl.level == level


def _hugs(args: tuple[Expr, ...]) -> bool:
    return len(args) == 1 or (bool(args) and isinstance(args[-1], Lambda))


def _parens(doc):
    return ["(", align(doc), ")"]


_BUILTIN_CALLS = callable_names(PRELUDE_NAMES)


class _Printer:
    """Builds the document of an expression; one method per node type (see _PRINTERS).

    It follows the parser's rule for calls (resolve.py): `name(args)` applies a let-bound
    lambda `name` if one is in scope, else means the builtin `name`. `functions` holds the
    let-bound lambdas in scope; a tree that the text could not say is refused.
    """

    def __init__(self):
        self.functions: frozenset[str] = frozenset()

    def _builtin_call(self, name: str) -> str:
        if name in self.functions:
            raise ValueError(f"{name}(...) would call the function {name} in scope, "
                             f"not the builtin {name}")  # fmt: skip
        return name

    def doc(self, e: Expr, min_level: int = LOWEST):
        d, level = self.expr(e)
        return _parens(d) if level < min_level else d

    def expr(self, e: Expr):
        printer = _PRINTERS.get(type(e))
        if printer is None:
            raise TypeError(f"cannot print {type(e).__name__}")
        d, level = printer(self, e)
        if e.annotations:
            inner = _parens(d) if level < PREFIX else d
            return [_annotation_text(e.annotations), " ", inner], PREFIX
        return d, level

    def operand(self, e: Expr, min_level: int):
        """An operand of a prefix or infix operator. `(x: i32) + 1` needs no parentheses, but
        without them the type would seem to be `i32 + 1`."""
        if isinstance(e, Ascribe) and not e.annotations:
            return _parens(self.doc(e))
        return self.doc(e, min_level)

    def call(self, head, args: tuple[Expr, ...]):
        """`head(a, b, c)`: flat, or one argument per line. A call whose last argument is a
        lambda, or that has one argument, hugs it: `for(v, b, |b, i, x|` stays on one line
        and the lambda's body breaks onto the next lines."""
        return self.call_docs(head, [self.doc(a) for a in args], hug=_hugs(args))

    @staticmethod
    def call_docs(head, docs: list, hug: bool):
        inner = [head, "(", nest_if_broken([SOFT, *join(docs, [",", LINE])]), SOFT, ")"]
        return hug_group(inner) if hug else group(inner)

    def lambda_doc(self, lam: Lambda):
        outer, self.functions = self.functions, function_scope(self.functions, lam)
        body = self.doc(lam.body)
        self.functions = outer
        return group([_params_text(lam.params), nest([LAMBDA_LINE, body])])

    # -- one printer per node type -----------------------------------------------------------

    def literal(self, e: Literal):
        text = literal_text(e)
        return text, (PREFIX if text.startswith("-") else ATOM)

    def ident(self, e: Ident):
        return _name(e.name), ATOM

    def make_vector(self, e: MakeVector):
        docs = [self.doc(x) for x in e.elems]
        return group(["[", nest([SOFT, *join(docs, [",", LINE])]), SOFT, "]"]), ATOM

    def make_struct(self, e: MakeStruct):
        docs = [self.doc(x) for x in e.elems]
        return group(["{", nest([SOFT, *join(docs, [",", LINE])]), SOFT, "}"]), ATOM

    def get_field(self, e: GetField):
        return [self.doc(e.expr, POSTFIX), f".${e.index}"], POSTFIX

    def op(self, e: Op):
        decl = OPS.get(e.op)
        if decl is None:
            raise ValueError(f"unknown operator {e.op!r}")
        if decl.form == "call":
            return self.call(self._builtin_call(decl.name), e.args), POSTFIX
        if decl.form == "prefix":
            (operand,) = e.args
            inner = _parens(self.doc(operand)) if _is_bare_number(operand) else None
            return [decl.symbol, inner or self.operand(operand, PREFIX)], PREFIX
        # A chain `a + b - c` (left-nested, one level) is one group: it breaks before all its
        # operands or none, and laying it out stays linear however long the chain.
        level = decl.level
        tail = []
        while True:
            left, right = e.args
            tail.append([" " + OPS[e.op].symbol, nest([LINE, self.operand(right, level + 1)])])
            if not (decl.chain and _same_level_infix(left, level)):
                break
            e = left
        head = self.operand(left, level if decl.chain else level + 1)
        return inline_group([head, *reversed(tail)]), level

    def cast(self, e: Cast):
        return self.call(self._builtin_call(type_text(e.to)), (e.expr,)), POSTFIX

    def ascribe(self, e: Ascribe):
        return [self.doc(e.expr, POSTFIX), ": ", type_text(e.type)], ASCRIBE

    def let(self, e: Let):
        out: list = []
        outer = self.functions
        while True:  # a chain of lets is printed flat, one per line, without recursion
            value, head = e.value, f"let {_name(e.name)}"
            if isinstance(value, Ascribe) and not value.annotations:
                head += f": {type_text(value.type)}"
                value = value.expr
            value_doc = self.doc(value, LOWEST + 1 if isinstance(value, Let) else LOWEST)
            out += [head, " = ", value_doc, ";", HARD]
            self.functions = function_scope(self.functions, e)
            e = e.body
            if not isinstance(e, Let) or e.annotations:
                break
        out.append(self.doc(e))
        self.functions = outer
        return out, LOWEST

    def if_(self, e: If):
        return self.call("if", (e.cond, e.then, e.else_)), POSTFIX

    def lambda_(self, e: Lambda):
        return self.lambda_doc(e), LOWEST

    def apply(self, e: Apply):
        callee = e.func
        if isinstance(callee, Ident) and callee.name not in self.functions:
            if callee.name in _BUILTIN_CALLS:
                name = callee.name
                raise ValueError(f"{name}(...) would read back as the builtin {name}: "
                                 f"no function {name} is in scope")  # fmt: skip
        return self.call(self.doc(callee, POSTFIX), e.args), POSTFIX

    def iter_doc(self, it: Iter):
        if it.kind == "range":
            return self.call("rangeiter", (it.start, it.end, it.stride))
        if it.start is None and it.end is None and it.stride is None:
            return self.doc(it.data)
        if None in (it.start, it.end, it.stride):
            raise ValueError("iter(...) needs all of start, end and stride")
        return self.call("iter", (it.data, it.start, it.end, it.stride))

    def for_(self, e: For):
        if not e.iters:
            raise ValueError("a for loop needs at least one iterator")
        iters = [self.iter_doc(it) for it in e.iters]
        data = iters[0] if len(iters) == 1 else self.call_docs("zip", iters, hug=False)
        docs = [data, self.doc(e.builder), self.doc(e.func)]
        return self.call_docs("for", docs, hug=True), POSTFIX

    def merge(self, e: Merge):
        return self.call("merge", (e.builder, e.value)), POSTFIX

    def result(self, e: Result):
        return self.call("result", (e.builder,)), POSTFIX

    def new_builder(self, e: NewBuilder):
        text = type_text(e.type)
        if e.arg is None:
            return text, ATOM
        return self.call(text, (e.arg,)), POSTFIX

    def iterate(self, e: Iterate):
        return self.call("iterate", (e.initial, e.func)), POSTFIX

    def sort(self, e: Sort):
        return self.call("sort", (e.data, e.func)), POSTFIX

    def cudf(self, e: CUDF):
        name = e.name if _NAME.fullmatch(e.name) else string_text(e.name)
        return self.call(f"cudf[{name},{type_text(e.ret)}]", e.args), POSTFIX


_PRINTERS = {
    Literal: _Printer.literal,
    Ident: _Printer.ident,
    MakeVector: _Printer.make_vector,
    MakeStruct: _Printer.make_struct,
    GetField: _Printer.get_field,
    Op: _Printer.op,
    Cast: _Printer.cast,
    Ascribe: _Printer.ascribe,
    Let: _Printer.let,
    If: _Printer.if_,
    Lambda: _Printer.lambda_,
    Apply: _Printer.apply,
    For: _Printer.for_,
    Merge: _Printer.merge,
    Result: _Printer.result,
    NewBuilder: _Printer.new_builder,
    Iterate: _Printer.iterate,
    Sort: _Printer.sort,
    CUDF: _Printer.cudf,
}


def _has_binders(e: Expr) -> bool:
    return any(isinstance(n, (Let, Lambda)) for n in e.walk())


def format(node: Program | Expr, width: int = 100) -> str:  # noqa: A001 - the public name
    """The canonical text of a program or an expression.

    >>> from daybreak.ir.parser import parse
    >>> format(parse("|x:i32|x+1"))
    '|x: i32| x + 1'
    """
    printer = _Printer()
    with deep_recursion():
        if isinstance(node, Program):
            body = printer.doc(node.body)
            if not node.params and not isinstance(node.body, Lambda):
                doc = body
            else:  # (a body that is a lambda needs `||`, or it would read as the parameters)
                brk = HARD if _has_binders(node.body) else LINE
                doc = group([_params_text(node.params), nest([brk, body])])
        elif isinstance(node, Expr):
            doc = printer.doc(node)
        else:
            raise TypeError(f"format() takes a Program or an Expr, not {type(node).__name__}")
        return render(doc, width)


def format_type(t: Type) -> str:
    """The text of a type; the same as `str(t)` for every type that has one."""
    return type_text(t)


__all__ = ["format", "format_type", "type_text", "deep_recursion"]
