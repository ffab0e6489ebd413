"""Parse IR text into a `Program`: lark grammar -> nodes, type aliases, calls, macros.

The steps, each in one place:

1. grammar.lark, completed with the operator rules generated from `ops.OPS`, is parsed by a
   LALR parser with a contextual lexer (lark);
2. `_TreeBuilder` turns the parse tree into nodes, reading literals (literals.py) and
   expanding type aliases as it goes; a call is still `Apply(Ident(name), args)`;
3. resolve.py decides, with the scope in hand, what each call is — a special form (`for`,
   `if`, ...), a macro (expanded hygienically, macros.py), a builtin operator or a cast.

Every node carries its `Loc`; every error is a `ParseError` with `line:col`, the line and a caret.

>>> p = parse("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x * x)))")
>>> [str(q.type) for q in p.params]
['vec[f64]']
>>> parse("1 +")
Traceback (most recent call last):
  ...
daybreak.ir.errors.ParseError: 1:4: unexpected end of input; expected an operand
  1 +
     ^
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import replace
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from .errors import Loc, ParseError
from .literals import LiteralError, read_float, read_int, read_string
from .macros import PRELUDE, ExpansionBudget, MacroDef
from .nodes import (
    CUDF,
    Apply,
    Ascribe,
    Expr,
    GetField,
    Ident,
    Lambda,
    Let,
    Literal,
    MakeStruct,
    MakeVector,
    NewBuilder,
    Op,
    Param,
    Program,
)
from .ops import INFIX_BY_SYMBOL, INFIX_LEVELS, PREFIX_BY_SYMBOL
from .resolve import RESERVED, resolve_calls
from .substitute import NameSupply
from .types import (
    BOOL,
    MAX_TYPE_DEPTH,
    SCALARS,
    STRING,
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scanner,
    Struct,
    Type,
    Unknown,
    Vec,
    VecMerger,
)
from .types import children as type_children

# ----------------------------------------------------------------------------------------------
# The grammar: grammar.lark plus the operator rules, generated from the one table of operators.


def operator_rules() -> str:
    """The lark rules of the infix levels and the prefix operators, from `ops.OPS`."""
    levels = sorted(INFIX_LEVELS)
    rules = []
    for k, level in enumerate(levels):
        tighter = f"infix_{levels[k + 1]}" if k + 1 < len(levels) else "prefix"
        decls = INFIX_LEVELS[level]
        chains = all(d.chain for d in decls)
        left = f"infix_{level}" if chains else tighter
        rules.append(f"?infix_{level}: {tighter} | {left} infix_op_{level} {tighter} -> infix")
        rules.append(f"!infix_op_{level}: " + " | ".join(f'"{d.symbol}"' for d in decls))
    rules.append("!prefix_op: " + " | ".join(f'"{s}"' for s in PREFIX_BY_SYMBOL))
    return "\n".join(rules) + "\n"


def grammar_text() -> str:
    """The complete grammar that the parser is built from."""
    return (Path(__file__).with_name("grammar.lark")).read_text() + "\n" + operator_rules()


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        start=["program", "expr", "type", "prelude"],
        propagate_positions=True,
        maybe_placeholders=True,
    )


# ----------------------------------------------------------------------------------------------
# Parse tree -> nodes.


class _TreeBuilder:
    """Builds nodes from the parse tree, one handler per rule (`handler(meta, children)`).
    Calls stay `Apply(Ident(name), args)` here."""

    def __init__(self, source: str, names: NameSupply, macros: dict[str, MacroDef]):
        self.source = source
        self.name_supply = names
        self.aliases: dict[str, Type] = {}
        self.macros = dict(macros)
        self.budget = ExpansionBudget()
        self._depths: dict[int, tuple[Type, int]] = {}  # id -> (a type built here, its depth)

    def transform(self, tree):
        """The value of a parse tree: its children's values first, then its rule's handler.
        An explicit stack, not recursion: the tree is as deep as the program nests."""
        values: list = []
        stack: list[tuple[Tree | Token | None, bool]] = [(tree, False)]
        while stack:
            item, children_done = stack.pop()
            if not isinstance(item, Tree):  # a token, or None for an optional part left out
                values.append(item)
            elif children_done:
                count = len(item.children)
                children = values[len(values) - count :]
                del values[len(values) - count :]
                handler = getattr(self, item.data, self._token_rule)
                values.append(handler(item.meta, children))
            else:
                stack.append((item, True))
                stack.extend((child, False) for child in reversed(item.children))
        (value,) = values
        return value

    def _loc(self, meta) -> Loc | None:
        if getattr(meta, "empty", True):
            return None
        return Loc(meta.line, meta.column, self.source)

    def _tok_loc(self, tok: Token) -> Loc:
        return Loc(tok.line, tok.column, self.source)

    def _binder(self, tok: Token) -> str:
        if str(tok) in RESERVED:
            raise ParseError(f"{tok} is a reserved word and cannot name a variable",
                             self._tok_loc(tok))  # fmt: skip
        return str(tok)

    def _distinct(self, toks, what: str) -> None:
        seen = set()
        for t in toks:
            if str(t) in seen:
                raise ParseError(f"{what} {t} appears twice", self._tok_loc(t))
            seen.add(str(t))

    def _token_rule(self, meta, children):
        # `!infix_op_N`, `!prefix_op`, `!merge_op`, `!annotation_value`: the token itself, which
        # keeps its position.
        (token,) = children
        return token

    # -- declarations ------------------------------------------------------------------------

    def type_alias(self, meta, c):
        name, ty = c
        if str(name) in SCALARS or str(name) in RESERVED:
            raise ParseError(f"{name} cannot be redefined", self._tok_loc(name))
        if str(name) in self.aliases:
            raise ParseError(f"type {name} is defined twice", self._tok_loc(name))
        self.aliases[str(name)] = ty

    def macro_def(self, meta, c):
        name, params, body = c
        params = tuple(params or ())
        self._distinct(params, "macro parameter")
        for p in params:
            self._binder(p)
        # A parameter may stand for a lambda (`func(x)` in `map`): it is a function here.
        functions = frozenset(str(p) for p in params)
        # Resolved now: the body's calls mean what they mean here (hygiene), and it can use
        # only the macros defined before it (so no macro is recursive).
        body = resolve_calls(body, functions, self.macros, self.name_supply, self.budget)
        self.macros[str(name)] = MacroDef(str(name), tuple(map(str, params)), body, self._loc(meta))

    def names(self, meta, c):
        return tuple(c)

    # -- binding forms -----------------------------------------------------------------------

    def let_expr(self, meta, c):
        name, ty, value, body = c
        if ty is not None:
            value = Ascribe(value, ty, loc=value.loc)
        return Let(self._binder(name), value, body, loc=self._loc(meta))

    def lambda_expr(self, meta, c):
        params, body = c
        params = tuple(params or ())
        return Lambda(params, body, loc=self._loc(meta))

    def params(self, meta, c):
        self._distinct([p.name_token for p in c], "parameter")
        return [Param(str(p.name_token), p.type, loc=self._tok_loc(p.name_token)) for p in c]

    def param(self, meta, c):
        name, ty = c
        self._binder(name)
        return _ParamSyntax(name, ty)

    # -- operators ---------------------------------------------------------------------------

    def infix(self, meta, c):
        left, op, right = c
        return Op(INFIX_BY_SYMBOL[str(op)].name, (left, right), loc=self._loc(meta))

    def prefix_apply(self, meta, c):
        op, operand = c
        return Op(PREFIX_BY_SYMBOL[str(op)].name, (operand,), loc=self._tok_loc(op))

    def annotated(self, meta, c):
        annotations, e = c
        return replace(e, annotations=annotations + e.annotations)

    def annotations(self, meta, c):
        return tuple(c)

    def annotation(self, meta, c):
        name, value = c
        text = read_string(value).decode("latin-1") if value.type == "STRING" else str(value)
        return (str(name), text)

    # -- postfix -----------------------------------------------------------------------------

    def apply(self, meta, c):
        callee, args = c[0], tuple(c[1] or ())
        loc = self._loc(meta)
        if isinstance(callee, CUDF) and callee.args is None:
            return replace(callee, args=args)
        if isinstance(callee, NewBuilder) and callee.arg is None:
            if len(args) != 1:
                raise ParseError(f"{callee.type} takes one argument, given {len(args)}", loc)
            return replace(callee, arg=args[0])
        return Apply(callee, args, loc=loc)

    def args(self, meta, c):
        return tuple(c)

    def get_field(self, meta, c):
        e, field = c
        return GetField(e, int(field[2:]), loc=self._loc(meta))

    def ascribe(self, meta, c):
        e, ty = c
        return Ascribe(e, ty, loc=self._loc(meta))

    # -- atoms -------------------------------------------------------------------------------

    def _literal(self, tok: Token, read):
        try:
            value, ty = read(str(tok))
        except LiteralError as err:
            raise ParseError(str(err), self._tok_loc(tok)) from None
        return Literal(value, ty, loc=self._tok_loc(tok))

    def int_literal(self, meta, c):
        return self._literal(c[0], read_int)

    def float_literal(self, meta, c):
        return self._literal(c[0], read_float)

    def string_literal(self, meta, c):
        return self._literal(c[0], lambda text: (read_string(text), STRING))

    def true_literal(self, meta, c):
        return Literal(True, BOOL, loc=self._loc(meta))

    def false_literal(self, meta, c):
        return Literal(False, BOOL, loc=self._loc(meta))

    def ident(self, meta, c):
        return Ident(str(c[0]), loc=self._loc(meta))

    def make_vector(self, meta, c):
        return MakeVector(tuple(c[0] or ()), loc=self._loc(meta))

    def make_struct(self, meta, c):
        return MakeStruct(tuple(c[0] or ()), loc=self._loc(meta))

    def new_builder(self, meta, c):
        return NewBuilder(c[0], loc=self._loc(meta))

    def cudf_head(self, meta, c):
        name, ty = c
        text = read_string(name).decode("latin-1") if name.type == "STRING" else str(name)
        # `args=None` until the argument list is seen (`apply`); resolve.py rejects a cudf
        # that never gets one.
        return CUDF(text, ty, None, loc=self._loc(meta))

    # -- types -------------------------------------------------------------------------------

    def named_type(self, meta, c):
        name = str(c[0])
        if name in SCALARS:
            return SCALARS[name]
        if name in self.aliases:
            return self.aliases[name]
        raise ParseError(f"unknown type {name}", self._loc(meta))

    def unknown_type(self, meta, c):
        # Every `?` is the same value here; the type checker gives each occurrence its own
        # variable. Keeping them equal is what makes parse(format(p)) == p.
        return Unknown()

    def _nested(self, t: Type, meta) -> Type:
        """`t`, a type made of types already built here, if it does not nest too deep."""
        parts = (self._depths.get(id(part), (part, 1))[1] for part in type_children(t))
        depth = 1 + max(parts, default=0)
        if depth > MAX_TYPE_DEPTH:
            raise ParseError(f"this type nests {depth} levels deep (at most {MAX_TYPE_DEPTH})",
                             self._loc(meta))  # fmt: skip
        self._depths[id(t)] = (t, depth)  # (the type kept alive: its id stays its own)
        return t

    def vec_type(self, meta, c):
        return self._nested(Vec(c[0]), meta)

    def dict_type(self, meta, c):
        return self._nested(Dict(c[0], c[1]), meta)

    def struct_type(self, meta, c):
        return self._nested(Struct(tuple(c[0] or ())), meta)

    def types(self, meta, c):
        return tuple(c)

    def appender_type(self, meta, c):
        return self._nested(Appender(c[0] if c[0] is not None else Unknown()), meta)

    def merger_type(self, meta, c):
        return self._nested(Merger(c[0], str(c[1])), meta)

    def vecmerger_type(self, meta, c):
        return self._nested(VecMerger(c[0], str(c[1])), meta)

    def scanner_type(self, meta, c):
        return self._nested(Scanner(c[0], str(c[1])), meta)

    def dictmerger_type(self, meta, c):
        return self._nested(DictMerger(c[0], c[1], str(c[2])), meta)

    def groupmerger_type(self, meta, c):
        return self._nested(GroupMerger(c[0], c[1]), meta)


class _ParamSyntax:
    """A parameter as written, keeping its name token for error positions."""

    __slots__ = ("name_token", "type")

    def __init__(self, name_token: Token, ty: Type | None):
        self.name_token = name_token
        self.type = ty


# ----------------------------------------------------------------------------------------------
# Errors.

_TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a float",
    "SPECIAL_FLOAT": "a float",
    "STRING": "a string",
    "FIELD": "a field .$N",
    "$END": "the end of input",
}
_OPERAND_STARTS = {"NAME", "INT", "FLOAT", "LPAR"}
_NON_CHAINING = {d.symbol for d in INFIX_BY_SYMBOL.values() if not d.chain}


def _describe_terminal(name: str) -> str:
    if name in _TOKEN_WORDS:
        return _TOKEN_WORDS[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    return f"`{pattern.value}`" if pattern.type == "str" else name


def _expected_text(expected) -> str:
    names = set(expected)
    if _OPERAND_STARTS <= names:  # an operand may start here; listing them all does not help
        return "an operand"
    words = sorted({_describe_terminal(n) for n in names})
    operators = [w for w in words if w.strip("`") in INFIX_BY_SYMBOL]
    if len(operators) > 2:  # after an operand: any infix operator, said once
        words = ["an operator"] + [w for w in words if w not in operators]
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _end_loc(text: str) -> Loc:
    lines = text.split("\n")
    return Loc(len(lines), len(lines[-1]) + 1, text)


def expected_terminals(err: UnexpectedInput) -> set[str]:
    """The terminals that can really come next where lark stopped: an LALR table merges
    lookaheads, so the interactive parser's answer is asked first (also for other grammars'
    errors: the C headers of daybreak.annotations)."""
    expected = getattr(err, "expected", None) or set()
    interactive = getattr(err, "interactive_parser", None)
    if interactive is not None:
        with contextlib.suppress(Exception):
            expected = interactive.accepts() or expected
    return expected


def _syntax_error(err: UnexpectedInput, text: str) -> ParseError:
    if isinstance(err, UnexpectedCharacters):
        loc = Loc(err.line, err.column, text)
        char = text[err.pos_in_stream]
        if char == '"':
            return ParseError("unterminated string literal", loc)
        return ParseError(f"unexpected character {char!r}", loc)
    token = getattr(err, "token", None)
    expected = expected_terminals(err)
    if token is None or token.type == "$END":
        return ParseError(
            f"unexpected end of input; expected {_expected_text(expected)}", _end_loc(text)
        )
    loc = Loc(token.line, token.column, text)
    message = f"unexpected `{token}`; expected {_expected_text(expected)}"
    if str(token) in _NON_CHAINING:
        message += " (comparisons do not chain: write (a < b) && (b < c))"
    return ParseError(message, loc)


def _run(text: str, start: str, build):
    """Parse `text` from rule `start` and give the tree to `build(tree_builder, tree)`,
    turning every failure into a located ParseError."""
    if not isinstance(text, str):
        raise TypeError(f"parse() takes IR text (str), not {type(text).__name__}")
    names = NameSupply(_NAME.findall(text) + list(_prelude_names()))
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as err:
        raise _syntax_error(err, text) from None
    return build(_TreeBuilder(text, names, _prelude()), tree)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ----------------------------------------------------------------------------------------------
# The public functions.


def parse(text: str) -> Program:
    """Parse a whole program: `type` aliases, `macro`s, then `|params| body` or a bare body.

    >>> parse("|x: i32| x + 1").body
    Op(op='+', args=(Ident(name='x'), Literal(value=1, type=Scalar(kind='i32'))))
    """
    return _run(text, "program", _build_program)


def _build_program(builder: _TreeBuilder, tree: Tree) -> Program:
    *declarations, body_tree = tree.children
    for d in declarations:
        builder.transform(d)  # in order: an alias or macro sees only those before it
    body = builder.transform(body_tree)
    params: tuple[Param, ...] = ()
    if isinstance(body, Lambda):
        if body.annotations:
            raise ParseError("a program cannot be annotated", body.loc)
        for p in body.params:
            if p.type is None:
                raise ParseError(f"program parameter {p.name} needs a type", body.loc)
        params, body = body.params, body.body
    # Program parameters are values, never functions: they do not hide builtins.
    body = resolve_calls(body, frozenset(), builder.macros, builder.name_supply, builder.budget)
    return Program(params, body)


def parse_expr(text: str) -> Expr:
    """Parse one expression; its free names stay `Ident`s (useful in passes and tests).

    >>> parse_expr("-3 - -x").args
    (Literal(value=-3, type=Scalar(kind='i32')), Op(op='neg', args=(Ident(name='x'),)))
    """

    def build(builder: _TreeBuilder, tree: Tree) -> Expr:
        e = builder.transform(tree)
        return resolve_calls(e, frozenset(), builder.macros, builder.name_supply, builder.budget)

    return _run(text, "expr", build)


def parse_type(text: str) -> Type:
    """Parse a type: `vec[{i32,f64}]`, `dictmerger[i64,f64,+]`, `appender[?]`.

    >>> parse_type("dict[i64, vec[i8]]")
    Dict(key=Scalar(kind='i64'), value=Vec(elem=Scalar(kind='i8')))
    """
    return _run(text, "type", lambda builder, tree: builder.transform(tree))


@functools.cache
def _prelude() -> dict[str, MacroDef]:
    builder = _TreeBuilder(PRELUDE, NameSupply(_NAME.findall(PRELUDE)), {})
    tree = _lark().parse(PRELUDE, start="prelude")
    for d in tree.children:
        builder.transform(d)
    return builder.macros


@functools.cache
def _prelude_names() -> frozenset[str]:
    return frozenset(_NAME.findall(PRELUDE))


__all__ = ["parse", "parse_expr", "parse_type", "grammar_text", "operator_rules"]
