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
from types import GeneratorType

from .dispatch import NodeTable
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
    ITER_KINDS,
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
from .trampoline import Walk, trampoline
from .types import Func, Scalar, Type, children

# ----------------------------------------------------------------------------------------------
# Precedence levels of printed forms (higher binds tighter). Infix operators use their own
# levels from ops.OPS (1 .. 10).

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


_PRINTERS = NodeTable("printer")


class _Printer:
    """Builds the document of an expression; one method per node type (see _PRINTERS).

    It follows the parser's rule for calls (resolve.py): `name(args)` applies a let-bound
    lambda `name` if one is in scope, else means the builtin `name`. `functions` holds the
    let-bound lambdas in scope; a tree that the text could not say is refused.

    The methods are walks run by `trampoline` (a sub-document is `yield`ed, not built by a
    recursive call), so that a program prints however deep it nests.
    """

    def __init__(self):
        self.functions: frozenset[str] = frozenset()

    def _builtin_call(self, name: str) -> str:
        if name in self.functions:
            raise ValueError(f"{name}(...) would call the function {name} in scope, "
                             f"not the builtin {name}")  # fmt: skip
        return name

    def doc(self, e: Expr, min_level: int = LOWEST) -> Walk:
        """The document of `e`, in parentheses when it binds looser than `min_level`: a walk,
        or the document itself when printing `e` needs none (a leaf)."""
        printer = _PRINTERS.get(type(e))
        if printer is None:
            raise TypeError(f"cannot print {type(e).__name__}")
        printed = printer(self, e)
        if type(printed) is GeneratorType:
            return self._doc_after(e, printed, min_level)
        return _finish_doc(e, printed, min_level)

    def _doc_after(self, e: Expr, printing: Walk, min_level: int) -> Walk:
        return _finish_doc(e, (yield printing), min_level)

    def docs(self, exprs) -> Walk[list]:
        out = []
        for e in exprs:
            out.append((yield self.doc(e)))
        return out

    def operand(self, e: Expr, min_level: int) -> Walk:
        """An operand of a prefix or infix operator. `(x: i32) + 1` needs no parentheses, but
        without them the type would seem to be `i32 + 1`."""
        if isinstance(e, Ascribe) and not e.annotations:
            return self._parenthesized(e)
        return self.doc(e, min_level)

    def _parenthesized(self, e: Expr) -> Walk:
        return _parens((yield self.doc(e)))

    def call(self, head, args: tuple[Expr, ...]) -> Walk:
        """`head(a, b, c)`: flat, or one argument per line. A call whose last argument is a
        lambda, or that has one argument, hugs it: `for(v, b, |b, i, x|` stays on one line
        and the lambda's body breaks onto the next lines."""
        docs = []
        for a in args:
            docs.append((yield self.doc(a)))
        return self.call_docs(head, docs, hug=_hugs(args))

    @staticmethod
    def call_docs(head, docs: list, hug: bool):
        inner = [head, "(", nest_if_broken([SOFT, *join(docs, [",", LINE])]), SOFT, ")"]
        return hug_group(inner) if hug else group(inner)

    def lambda_doc(self, lam: Lambda) -> Walk:
        outer, self.functions = self.functions, function_scope(self.functions, lam)
        body = yield self.doc(lam.body)
        self.functions = outer
        return group([_params_text(lam.params), nest([LAMBDA_LINE, body])])

    # -- one printer per node type -----------------------------------------------------------

    @_PRINTERS.register(Literal)
    def literal(self, e: Literal):
        text = literal_text(e)
        return text, (PREFIX if text.startswith("-") else ATOM)

    @_PRINTERS.register(Ident)
    def ident(self, e: Ident):
        return _name(e.name), ATOM

    @_PRINTERS.register(MakeVector)
    def make_vector(self, e: MakeVector) -> Walk:
        docs = yield self.docs(e.elems)
        return group(["[", nest([SOFT, *join(docs, [",", LINE])]), SOFT, "]"]), ATOM

    @_PRINTERS.register(MakeStruct)
    def make_struct(self, e: MakeStruct) -> Walk:
        docs = yield self.docs(e.elems)
        return group(["{", nest([SOFT, *join(docs, [",", LINE])]), SOFT, "}"]), ATOM

    @_PRINTERS.register(GetField)
    def get_field(self, e: GetField) -> Walk:
        return [(yield self.doc(e.expr, POSTFIX)), f".${e.index}"], POSTFIX

    @_PRINTERS.register(Op)
    def op(self, e: Op) -> Walk:
        decl = OPS.get(e.op)
        if decl is None:
            raise ValueError(f"unknown operator {e.op!r}")
        if decl.form == "call":
            return (yield self.call(self._builtin_call(decl.name), e.args)), POSTFIX
        if decl.form == "prefix":
            (operand,) = e.args
            if _is_bare_number(operand):
                inner = yield self._parenthesized(operand)
            else:
                inner = yield self.operand(operand, PREFIX)
            return [decl.symbol, inner], PREFIX
        # A chain `a + b - c` (left-nested, one level) is one group: it breaks before all its
        # operands or none, and laying it out stays linear however long the chain.
        level = decl.level
        tail = []
        while True:
            left, right = e.args
            right_doc = yield self.operand(right, level + 1)
            tail.append([" " + OPS[e.op].symbol, nest([LINE, right_doc])])
            if not (decl.chain and _same_level_infix(left, level)):
                break
            e = left
        head = yield self.operand(left, level if decl.chain else level + 1)
        return inline_group([head, *reversed(tail)]), level

    @_PRINTERS.register(Cast)
    def cast(self, e: Cast) -> Walk:
        return (yield self.call(self._builtin_call(type_text(e.to)), (e.expr,))), POSTFIX

    @_PRINTERS.register(Ascribe)
    def ascribe(self, e: Ascribe) -> Walk:
        return [(yield self.doc(e.expr, POSTFIX)), ": ", type_text(e.type)], ASCRIBE

    @_PRINTERS.register(Let)
    def let(self, e: Let) -> Walk:
        out: list = []
        outer = self.functions
        while True:  # a chain of lets is printed flat, one per line
            value, head = e.value, f"let {_name(e.name)}"
            if isinstance(value, Ascribe) and not value.annotations:
                head += f": {type_text(value.type)}"
                value = value.expr
            value_doc = yield self.doc(value, LOWEST + 1 if isinstance(value, Let) else LOWEST)
            out += [head, " = ", value_doc, ";", HARD]
            self.functions = function_scope(self.functions, e)
            e = e.body
            if not isinstance(e, Let) or e.annotations:
                break
        out.append((yield self.doc(e)))
        self.functions = outer
        return out, LOWEST

    @_PRINTERS.register(If)
    def if_(self, e: If) -> Walk:
        return (yield self.call("if", (e.cond, e.then, e.else_))), POSTFIX

    @_PRINTERS.register(Lambda)
    def lambda_(self, e: Lambda) -> Walk:
        return (yield self.lambda_doc(e)), LOWEST

    @_PRINTERS.register(Apply)
    def apply(self, e: Apply) -> Walk:
        callee = e.func
        if isinstance(callee, Ident) and callee.name not in self.functions:
            if callee.name in _BUILTIN_CALLS:
                name = callee.name
                raise ValueError(f"{name}(...) would read back as the builtin {name}: "
                                 f"no function {name} is in scope")  # fmt: skip
        return (yield self.call((yield self.doc(callee, POSTFIX)), e.args)), POSTFIX

    def iter_doc(self, it: Iter) -> Walk:
        kind = ITER_KINDS[it.kind]  # its syntax is declared there
        given = it.given()
        if given not in kind.forms:
            raise ValueError(f"an iterator written {kind.usage()} cannot have ({', '.join(given)})")
        args = tuple(getattr(it, name) for name in given)
        if kind.bare and given == kind.forms[0]:
            return (yield self.doc(args[0]))
        return (yield self.call(kind.keyword, args))

    @_PRINTERS.register(For)
    def for_(self, e: For) -> Walk:
        if not e.iters:
            raise ValueError("a for loop needs at least one iterator")
        iters = []
        for it in e.iters:
            iters.append((yield self.iter_doc(it)))
        data = iters[0] if len(iters) == 1 else self.call_docs("zip", iters, hug=False)
        docs = [data, (yield self.doc(e.builder)), (yield self.doc(e.func))]
        return self.call_docs("for", docs, hug=True), POSTFIX

    @_PRINTERS.register(Merge)
    def merge(self, e: Merge) -> Walk:
        return (yield self.call("merge", (e.builder, e.value))), POSTFIX

    @_PRINTERS.register(Result)
    def result(self, e: Result) -> Walk:
        return (yield self.call("result", (e.builder,))), POSTFIX

    @_PRINTERS.register(NewBuilder)
    def new_builder(self, e: NewBuilder) -> Walk:
        text = type_text(e.type)
        if e.arg is None:
            return text, ATOM
        return (yield self.call(text, (e.arg,))), POSTFIX

    @_PRINTERS.register(Iterate)
    def iterate(self, e: Iterate) -> Walk:
        return (yield self.call("iterate", (e.initial, e.func))), POSTFIX

    @_PRINTERS.register(Sort)
    def sort(self, e: Sort) -> Walk:
        return (yield self.call("sort", (e.data, e.func))), POSTFIX

    @_PRINTERS.register(CUDF)
    def cudf(self, e: CUDF) -> Walk:
        name = e.name if _NAME.fullmatch(e.name) else string_text(e.name)
        return (yield self.call(f"cudf[{name},{type_text(e.ret)}]", e.args)), POSTFIX


def _finish_doc(e: Expr, printed, min_level: int):
    """A node's document with its annotations, in parentheses below `min_level`."""
    d, level = printed
    if e.annotations:
        inner = _parens(d) if level < PREFIX else d
        d, level = [_annotation_text(e.annotations), " ", inner], PREFIX
    return _parens(d) if level < min_level else d


def _has_binders(e: Expr) -> bool:
    return any(isinstance(n, (Let, Lambda)) for n in e.walk())


def format(node: Program | Expr, width: int = 100) -> str:  # noqa: A001 - the public name
    """The canonical text of a program or an expression.

    >>> from daybreak.ir.parser import parse
    >>> format(parse("|x:i32|x+1"))
    '|x: i32| x + 1'
    """
    printer = _Printer()
    if isinstance(node, Program):
        body = trampoline(printer.doc(node.body))
        if not node.params and not isinstance(node.body, Lambda):
            doc = body
        else:  # (a body that is a lambda needs `||`, or it would read as the parameters)
            brk = HARD if _has_binders(node.body) else LINE
            doc = group([_params_text(node.params), nest([brk, body])])
    elif isinstance(node, Expr):
        doc = trampoline(printer.doc(node))
    else:
        raise TypeError(f"format() takes a Program or an Expr, not {type(node).__name__}")
    return render(doc, width)


def format_type(t: Type) -> str:
    """The text of a type; the same as `str(t)` for every type that has one."""
    return type_text(t)


__all__ = ["format", "format_type", "type_text", "deep_recursion"]
