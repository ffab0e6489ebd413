"""Parse C header text: function prototypes and the split annotations above them.

A split annotation (Mozart, SOSP'19) says how a C function's arguments may be split into
pieces, so that a pipeline of calls runs piece by piece. It is a `//` comment on the line
before the prototype; each `key: spec` names a parameter (or `returns`, the return value) and
its split type, `mut` when the function writes through that pointer::

    #include <stddef.h>

    // @splittable(a: S, b: S, res: mut S)
    void vdAdd(long n, const double *a, const double *b, double *res);

    // @splittable(m: ArraySplit(axis=1), returns: sum)
    double total(size_t n, const float *m);

    int version(void);   /* no annotation: its `annotation` is None */

The C understood is a prototype per declaration: `[extern|static|inline] type name(params);`
with scalar types (several words, like `unsigned long long`, or a typedef name, like `int64_t`),
at most one `*` on a parameter and none on the return type. Other comments and preprocessor
lines are skipped. The annotation must fit on its line, and only blank lines and comments may
stand between it and its prototype. What the split types mean is for the loader to decide:
here a spec is only text (`SpecText`).

Every mistake is a `ParseError` with `line:col` in the whole header, the line and a caret:

>>> [p.name for p in parse_header("int version(void);\\nvoid g(double *x);")]
['version', 'g']
>>> parse_header("// @splittable(a: S)\\nvoid g(double *x);")
Traceback (most recent call last):
  ...
daybreak.ir.errors.ParseError: 1:16: g has no parameter 'a'
  // @splittable(a: S)
                 ^
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from daybreak.ir.errors import Loc, ParseError
from daybreak.ir.parser import expected_terminals

__all__ = ["CParam", "CPrototype", "SpecText", "parse_header"]


@dataclass(frozen=True)
class SpecText:
    """One `key: spec` of an annotation, as written: `res: mut S`, `m: ArraySplit(axis=1)`."""

    key: str  # a parameter's name, or "returns"
    mut: bool
    name: str  # "S", "sum", "ArraySplit", ...
    args: tuple  # the positional arguments (int or str)
    kwargs: tuple  # ((name, value), ...), each value an int or a str
    loc: Loc = field(compare=False)  # of `name`


@dataclass(frozen=True)
class CParam:
    """A parameter: `const double *a` is CParam("a", "double", pointer=True, const=True)."""

    name: str
    base: str  # the type words, one space apart: "double", "unsigned long", "int64_t"
    pointer: bool
    const: bool  # on the pointee (for a pointer) or on the value
    loc: Loc = field(compare=False)  # of the name


@dataclass(frozen=True)
class CPrototype:
    """A function prototype and the annotation above it (None when there is none)."""

    name: str
    returns: str  # the return type's words: "void", "double", ...
    params: tuple[CParam, ...]
    annotation: tuple[SpecText, ...] | None
    loc: Loc = field(compare=False)  # of the name


RETURNS = "returns"  # the key that annotates the return value


def parse_header(text: str) -> list[CPrototype]:
    """The prototypes of a header, in order, each with its annotation if it has one."""
    if not isinstance(text, str):
        raise TypeError(f"parse_header() takes header text (str), not {type(text).__name__}")
    tree = _parse(text, "header", lambda line, col: Loc(line, col, text), "the text")
    return _Reader(text).header(tree)


# ----------------------------------------------------------------------------------------------
# The parser.


@functools.cache
def _lark() -> Lark:
    return Lark(
        Path(__file__).with_name("c_header.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["header", "annotation"],
        propagate_positions=True,
        maybe_placeholders=True,
    )


# Where a position of parsed text lies in the header: the identity for the header itself, a
# shift along the comment's line for an annotation's text.
_Place = Callable[[int, int], Loc]


def _parse(text: str, start: str, place: _Place, whole: str) -> Tree:
    """The parse tree of `text` from rule `start`; `whole` names the text in errors."""
    try:
        return _lark().parse(text, start=start)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, place, whole) from None


# ----------------------------------------------------------------------------------------------
# Parse tree -> prototypes.


@dataclass
class _Annotation:
    """An annotation comment, read but not yet checked against its prototype."""

    loc: Loc  # of `@splittable`
    specs: list[_Spec]


@dataclass
class _Spec:
    key: Token
    key_loc: Loc
    mut_loc: Loc | None  # of `mut`, when written
    spec: SpecText


class _Reader:
    """Reads the parse tree of one header (`text`) into prototypes."""

    def __init__(self, text: str):
        self.text = text

    def loc(self, tok: Token) -> Loc:
        return Loc(tok.line, tok.column, self.text)

    # -- the header --------------------------------------------------------------------------

    def header(self, tree: Tree) -> list[CPrototype]:
        prototypes: list[CPrototype] = []
        pending: _Annotation | None = None  # read, waiting for its prototype
        for item in tree.children:
            if isinstance(item, Token):  # an ANNOTATION
                if pending is not None:
                    raise ParseError(
                        "two annotations in a row: this one is not followed by a prototype",
                        pending.loc,
                    )
                pending = self.annotation(item)
            else:
                prototypes.append(self.prototype(item, pending))
                pending = None
        if pending is not None:
            raise ParseError("this annotation is not followed by a prototype", pending.loc)
        return prototypes

    # -- C -----------------------------------------------------------------------------------

    def prototype(self, tree: Tree, annotation: _Annotation | None) -> CPrototype:
        type_spec, name, params_tree = tree.children
        base, _, stars = self.type_spec(type_spec)
        if stars:
            raise ParseError(
                f"{name} returns a pointer: returning a pointer is not supported",
                self.loc(stars[0]),
            )
        params = self.params(str(name), params_tree)
        specs = None if annotation is None else self.check(annotation, str(name), base, params)
        return CPrototype(str(name), base, params, specs, self.loc(name))

    def params(self, function: str, tree: Tree | None) -> tuple[CParam, ...]:
        if tree is None:
            return ()
        if len(tree.children) == 1 and self._is_void(tree.children[0]):
            return ()  # `f(void)`: no parameters
        params: list[CParam] = []
        for k, param in enumerate(tree.children, start=1):
            p = self.param(function, k, param)
            if any(q.name == p.name for q in params):
                raise ParseError(f"{function} has two parameters named '{p.name}'", p.loc)
            params.append(p)
        return tuple(params)

    def _is_void(self, param: Tree) -> bool:
        type_spec, name = param.children
        return name is None and self.type_spec(type_spec) == ("void", False, [])

    def param(self, function: str, k: int, tree: Tree) -> CParam:
        type_spec, name = tree.children
        base, const, stars = self.type_spec(type_spec)
        where = f"parameter {k} of {function}"
        if name is None:
            raise ParseError(
                f"{where} has no name", Loc(tree.meta.line, tree.meta.column, self.text)
            )
        if len(stars) > 1:
            raise ParseError(
                f"{where} ({name}) is a pointer to a pointer: one `*` at most", self.loc(stars[1])
            )
        if base == "void" and not stars:
            raise ParseError(f"{where} ({name}) has type void", self.loc(name))
        return CParam(str(name), base, bool(stars), const, self.loc(name))

    def type_spec(self, tree: Tree) -> tuple[str, bool, list[Token]]:
        """(the base type's words, whether the pointee or value is const, the `*` tokens)."""
        pointee, pointer = tree.children
        consts = [c for c in pointee.children if isinstance(c, Token)]  # around the base type
        (base,) = [c for c in pointee.children if isinstance(c, Tree)]
        stars = [] if pointer is None else [t for t in pointer.children if t.type == "STAR"]
        return self.base_type(base), bool(consts), stars

    def base_type(self, tree: Tree) -> str:
        words = [c.children[0] if isinstance(c, Tree) else c for c in tree.children]
        return " ".join(str(w) for w in words)

    # -- annotations -------------------------------------------------------------------------

    def annotation(self, comment: Token) -> _Annotation:
        # The comment's text is parsed on its own, with `//` blanked out so that columns in it
        # are columns in its line; `place` moves them to where the comment is.
        def place(line: int, col: int) -> Loc:
            return Loc(comment.line, comment.column + col - 1, self.text)

        tree = _parse("  " + comment[2:], "annotation", place, "the line")
        splittable, specs = tree.children
        at = place(splittable.line, splittable.column)
        specs = [] if specs is None else [self.spec(s, place) for s in specs.children]
        return _Annotation(at, specs)

    def spec(self, tree: Tree, place: _Place) -> _Spec:
        key, mut, name, args_tree = tree.children
        args, kwargs = self.spec_args(args_tree, place)
        text = SpecText(
            str(key), mut is not None, str(name), args, kwargs, place(name.line, name.column)
        )
        mut_loc = None if mut is None else place(mut.line, mut.column)
        return _Spec(key, place(key.line, key.column), mut_loc, text)

    def spec_args(self, tree: Tree | None, place: _Place) -> tuple[tuple, tuple]:
        args: list = []
        kwargs: dict[str, int | str] = {}
        for arg in [] if tree is None else tree.children:
            if arg.data == "positional":
                if kwargs:
                    (value,) = arg.children
                    raise ParseError(
                        "a positional argument after a keyword argument",
                        place(value.line, value.column),
                    )
                args.append(_value(arg.children[0]))
                continue
            key, value = arg.children
            if str(key) in kwargs:
                raise ParseError(f"argument {key} is given twice", place(key.line, key.column))
            kwargs[str(key)] = _value(value)
        return tuple(args), tuple(kwargs.items())

    def check(
        self, annotation: _Annotation, function: str, returns: str, params: tuple[CParam, ...]
    ) -> tuple[SpecText, ...]:
        """The annotation's specs, each checked against the prototype it annotates."""
        by_name = {p.name: p for p in params}
        seen: set[str] = set()
        for s in annotation.specs:
            key = str(s.key)
            if key in seen:
                raise ParseError(f"'{key}' is annotated twice", s.key_loc)
            seen.add(key)
            if key == RETURNS:
                self._check_returns(s, function, returns)
            elif key not in by_name:
                raise ParseError(f"{function} has no parameter '{key}'", s.key_loc)
            elif s.mut_loc is not None and not by_name[key].pointer:
                raise ParseError(
                    f"mut on '{key}', which is not a pointer: only what a pointer "
                    "points to can be written",
                    s.mut_loc,
                )
        return tuple(s.spec for s in annotation.specs)

    def _check_returns(self, s: _Spec, function: str, returns: str) -> None:
        if returns == "void":
            raise ParseError(
                f"{function} returns void: it has no return value to annotate", s.key_loc
            )
        if s.mut_loc is not None:
            raise ParseError("mut on returns: only a pointer parameter can be mut", s.mut_loc)


def _value(tok: Token) -> int | str:
    return int(tok) if tok.type == "NUMBER" else str(tok)


# ----------------------------------------------------------------------------------------------
# Syntax errors.

_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "an integer",
    "ANNOTATION": "an annotation",
}
_TYPE_WORDS = {"void", "char", "short", "int", "long", "float", "double", "signed", "unsigned"}
_QUALIFIERS = {"extern", "static", "inline"}


def _pattern(name: str) -> str | None:
    """The text of a terminal that is one fixed string (`(`, `const`), else None."""
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" else None


def _expected_text(expected, whole: str) -> str:
    """What the parser could have read, in words: C's type words are said once ("a type"),
    and everything a prototype can start with, once ("a prototype")."""
    fixed = {name: _pattern(name) for name in expected}
    words = {fixed[n] for n in expected if fixed[n] is not None}
    others = {_TOKEN_WORDS.get(n, n) for n in expected if fixed[n] is None and n != "$END"}
    if "$END" in expected:
        others.add(f"the end of {whole}")
    if _QUALIFIERS <= words:  # where a prototype may start
        words -= _QUALIFIERS | _TYPE_WORDS | {"const"}
        others = (others - {"a name"}) | {"a prototype"}
    elif _TYPE_WORDS <= words:
        words -= _TYPE_WORDS
        others.add("a type")
    return ", ".join([f"`{w}`" for w in sorted(words)] + sorted(others))


def _end_loc(end: Token, place: _Place) -> Loc:
    # Just after the last token (lark gives `$END` its span), where the missing part belongs:
    # the end of the text may be lines below, past what an excerpt can show.
    if getattr(end, "end_line", None) is None:  # no token at all
        return place(1, 1)
    return place(end.end_line, end.end_column)


def _syntax_error(err: UnexpectedInput, text: str, place: _Place, whole: str) -> ParseError:
    if isinstance(err, UnexpectedCharacters):
        loc = place(err.line, err.column)
        if text.startswith("/*", err.pos_in_stream):
            return ParseError("this comment is not closed (no `*/` after it)", loc)
        return ParseError(f"unexpected character {text[err.pos_in_stream]!r}", loc)
    token = getattr(err, "token", None)
    expected_text = _expected_text(expected_terminals(err), whole)
    if token is None or token.type == "$END":
        return ParseError(
            f"unexpected end of {whole}; expected {expected_text}", _end_loc(token, place)
        )
    shown = "annotation" if token.type == "ANNOTATION" else f"`{token}`"
    return ParseError(
        f"unexpected {shown}; expected {expected_text}", place(token.line, token.column)
    )
