"""The C header parser (annotations/c_header.py): prototypes, their split annotations, and a
located `ParseError` (`line:col`, the line, a caret) for every mistake."""

from __future__ import annotations

import pytest

from daybreak.annotations import c_header
from daybreak.annotations.c_header import CParam, CPrototype, SpecText, parse_header
from daybreak.ir.errors import Loc, ParseError

EXAMPLE = """\
// A vector-math library in the style of MKL's VML.
#include <stddef.h>          /* preprocessor lines and ordinary comments are ignored */

// @splittable(a: S, b: S, res: mut S)
void vdAdd(long n, const double *a, const double *b, double *res);

// @splittable(a: S, returns: sum)
double vdSum(long n, const double *a);

/* a prototype without an annotation: parsed, `annotation` is None */
int version(void);

// @splittable(x: S, alpha: broadcast, y: mut S)
void axpy(int64_t n, double alpha, const double* x, double* y);

// @splittable(m: ArraySplit(axis=1), returns: concat)
double f(size_t n, float *m);
"""

NOWHERE = Loc(0, 0)  # locations are left out of equality


def _raises_at(text: str, line: int, col: int, message: str) -> ParseError:
    """The error that parsing `text` raises: at line:col, with `message`, rendered with that
    position, the source line and a caret under the column."""
    with pytest.raises(ParseError) as info:
        parse_header(text)
    err = info.value
    assert (err.loc.line, err.loc.col) == (line, col), str(err)
    assert message in err.message, str(err)
    head, source_line, caret = str(err).splitlines()
    assert head == f"{line}:{col}: {err.message}"
    assert source_line == "  " + text.splitlines()[line - 1]
    assert caret == "  " + " " * (col - 1) + "^"
    return err


def _one(text: str) -> CPrototype:
    (prototype,) = parse_header(text)
    return prototype


def _param(decl: str) -> CParam:
    (param,) = _one(f"void f({decl});").params
    return param


# ----------------------------------------------------------------------------------------------
# The example header.


def test_the_example_prototypes():
    protos = parse_header(EXAMPLE)
    assert [(p.name, p.returns) for p in protos] == [
        ("vdAdd", "void"),
        ("vdSum", "double"),
        ("version", "int"),
        ("axpy", "void"),
        ("f", "double"),
    ]
    assert protos[0].params == (
        CParam("n", "long", pointer=False, const=False, loc=NOWHERE),
        CParam("a", "double", pointer=True, const=True, loc=NOWHERE),
        CParam("b", "double", pointer=True, const=True, loc=NOWHERE),
        CParam("res", "double", pointer=True, const=False, loc=NOWHERE),
    )
    assert protos[2].params == ()
    assert [(p.name, p.base, p.pointer, p.const) for p in protos[3].params] == [
        ("n", "int64_t", False, False),
        ("alpha", "double", False, False),
        ("x", "double", True, True),
        ("y", "double", True, False),
    ]
    assert [(p.name, p.base, p.pointer) for p in protos[4].params] == [
        ("n", "size_t", False),
        ("m", "float", True),
    ]


def test_the_example_annotations():
    vd_add, vd_sum, version, axpy, f = parse_header(EXAMPLE)
    assert vd_add.annotation == (
        SpecText("a", False, "S", (), (), NOWHERE),
        SpecText("b", False, "S", (), (), NOWHERE),
        SpecText("res", True, "S", (), (), NOWHERE),
    )
    assert vd_sum.annotation == (
        SpecText("a", False, "S", (), (), NOWHERE),
        SpecText("returns", False, "sum", (), (), NOWHERE),
    )
    assert version.annotation is None
    assert [(s.key, s.mut, s.name) for s in axpy.annotation] == [
        ("x", False, "S"),
        ("alpha", False, "broadcast"),
        ("y", True, "S"),
    ]
    assert f.annotation == (
        SpecText("m", False, "ArraySplit", (), (("axis", 1),), NOWHERE),
        SpecText("returns", False, "concat", (), (), NOWHERE),
    )


def test_the_example_locations():
    vd_add, vd_sum, version, axpy, f = parse_header(EXAMPLE)
    assert vd_add.loc == Loc(5, 6, EXAMPLE)  # the function's name
    assert [(p.loc.line, p.loc.col) for p in vd_add.params] == [(5, 17), (5, 34), (5, 51), (5, 62)]
    assert version.loc == Loc(11, 5, EXAMPLE)
    # The spec's name, in the comment: `// @splittable(a: S, b: S, res: mut S)`
    assert [(s.loc.line, s.loc.col) for s in vd_add.annotation] == [(4, 19), (4, 25), (4, 37)]
    assert f.annotation[0].loc == Loc(16, 19, EXAMPLE)
    assert f.annotation[1].loc == Loc(16, 48, EXAMPLE)
    assert axpy.params[2].loc == Loc(14, 50, EXAMPLE)


def test_returns_on_the_void_f_of_the_example_as_first_written():
    # The example as it was first written annotated `returns` of a void function.
    text = EXAMPLE.replace("double f(", "void f(")
    _raises_at(text, 16, 39, "f returns void: it has no return value to annotate")


# ----------------------------------------------------------------------------------------------
# C prototypes.


@pytest.mark.parametrize("params", ["void", "", "  ", " void\n"])
def test_no_parameters(params):
    assert _one(f"int version({params});").params == ()


def test_a_pointer_to_void_is_a_parameter():
    assert _one("void free_it(void *p);").params == (CParam("p", "void", True, False, NOWHERE),)


@pytest.mark.parametrize(
    "decl, base",
    [
        ("long long n", "long long"),
        ("unsigned long long n", "unsigned long long"),
        ("unsigned n", "unsigned"),
        ("signed char n", "signed char"),
        ("long int n", "long int"),
        ("short   int\n n", "short int"),  # spaces and newlines between the words: one space
        ("unsigned\tint n", "unsigned int"),
        ("int64_t n", "int64_t"),
        ("uint8_t n", "uint8_t"),
        ("ptrdiff_t n", "ptrdiff_t"),
        ("ssize_t n", "ssize_t"),
        ("bool n", "bool"),
        ("_Bool n", "_Bool"),
        ("MKL_INT n", "MKL_INT"),
    ],
)
def test_base_types(decl, base):
    assert _param(decl).base == base


@pytest.mark.parametrize(
    "decl, pointer, const",
    [
        ("const double *p", True, True),
        ("double const *p", True, True),
        ("double *const p", True, False),  # the pointer is const, not what it points to
        ("const double * const p", True, True),
        ("double*p", True, False),
        ("double * p", True, False),
        ("const int n", False, True),
        ("int const n", False, True),
        ("int n", False, False),
    ],
)
def test_pointer_and_const(decl, pointer, const):
    p = _param(decl)
    assert (p.name, p.pointer, p.const) == (decl[-1], pointer, const)


def test_multi_word_return_types_and_qualifiers():
    text = "extern unsigned long long count(void);\nstatic inline MKL_INT dim(void);"
    assert [(p.name, p.returns) for p in parse_header(text)] == [
        ("count", "unsigned long long"),
        ("dim", "MKL_INT"),
    ]
    assert _one("const double first(long n);").returns == "double"


def test_whitespace_and_newlines_anywhere():
    text = "  void\n  vdAdd (\n long n ,\n\tconst double\n*\na\n)\n;\n"
    p = _one(text)
    assert (p.name, [q.name for q in p.params]) == ("vdAdd", ["n", "a"])
    assert (p.loc.line, p.loc.col) == (2, 3)
    assert (p.params[1].loc.line, p.params[1].loc.col) == (6, 1)


def test_several_prototypes_on_one_line():
    assert [p.name for p in parse_header("int a(void); int b(void);int c();")] == ["a", "b", "c"]


def test_names_that_are_keywords_elsewhere():
    # `mut` is a keyword of annotations only; `returns` and `sum` are names in C.
    p = _one("// @splittable(mut: S)\nvoid f(double *mut, long returns, int sum);")
    assert [q.name for q in p.params] == ["mut", "returns", "sum"]
    assert p.annotation[0].key == "mut"


def test_nothing_but_comments():
    assert parse_header("") == []
    assert parse_header("// nothing\n/* here */\n#pragma once\n") == []


# ----------------------------------------------------------------------------------------------
# Comments and preprocessor lines.


def test_comments_and_preprocessor_lines_are_skipped():
    text = """\
#ifndef VML_H
#define VML_H
#define TWICE(x) \\
    ((x) + (x))
/* a block comment
   over lines, with // inside and @splittable(a: S) */
int /* here too */ version(void); // and after
// @splittables and @splittable_x are other words: ordinary comments
#endif
"""
    p = _one(text)
    assert (p.name, p.annotation) == ("version", None)
    assert p.loc == Loc(7, 20, text)


def test_an_annotation_in_a_block_comment_is_only_a_comment():
    assert _one("/* @splittable(a: S) */\nvoid f(double *a);").annotation is None
    assert _one("/*\n// @splittable(a: S)\n*/\nvoid f(double *a);").annotation is None


def test_comments_and_blank_lines_between_an_annotation_and_its_prototype():
    text = "// @splittable(a: S) // why\n\n// a note\n/* another */\n#include <x.h>\n"
    text += "void f(double *a);"
    assert _one(text).annotation == (SpecText("a", False, "S", (), (), NOWHERE),)


def test_annotation_spacing():
    for comment in ("//@splittable(a: S)", "//   @splittable( a :S )", "//\t@splittable(a:S)"):
        p = _one(f"{comment}\nvoid f(double *a);")
        assert p.annotation == (SpecText("a", False, "S", (), (), NOWHERE),), comment
    p = _one("//\t @splittable(a: mut   S)\nvoid f(double *a);")
    assert (p.annotation[0].loc.line, p.annotation[0].loc.col) == (1, 26)


def test_spec_arguments():
    p = _one("// @splittable(a: mut T(2, x, -1, k=-3, m=n))\nvoid f(double *a);")
    assert p.annotation == (
        SpecText("a", True, "T", (2, "x", -1), (("k", -3), ("m", "n")), NOWHERE),
    )
    assert p.annotation[0].args[0] == 2 and isinstance(p.annotation[0].args[0], int)


def test_spec_names_as_written():
    names = ["S", "sum", "broadcast", "size", "unknown", "ArraySplit"]
    specs = ", ".join(f"p{k}: {name}" for k, name in enumerate(names))
    params = ", ".join(f"double *p{k}" for k in range(len(names)))
    p = _one(f"// @splittable({specs}, returns: size)\nint f({params});")
    assert [s.name for s in p.annotation] == [*names, "size"]
    assert p.annotation[-1].key == "returns"


def test_an_empty_annotation():
    assert _one("// @splittable()\nvoid f(double *a);").annotation == ()


def test_each_annotation_goes_to_the_prototype_after_it():
    text = "// @splittable(a: S)\nvoid f(double *a);\nvoid g(double *a);\n"
    text += "// @splittable(b: S)\nvoid h(double *b);"
    assert [(p.name, p.annotation and p.annotation[0].key) for p in parse_header(text)] == [
        ("f", "a"),
        ("g", None),
        ("h", "b"),
    ]


def test_crlf_line_endings():
    text = "// @splittable(a: S)\r\nvoid f(double *a);\r\n"
    p = _one(text)
    assert p.annotation[0].loc == Loc(1, 19, text)
    assert p.loc == Loc(2, 6, text)


# ----------------------------------------------------------------------------------------------
# Errors: each located, with the line and a caret under the column.

ERRORS = [
    # semantic
    (
        "// @splittable(a: S, c: S)\nvoid vdAdd(long n, double *a);",
        1,
        22,
        "vdAdd has no parameter 'c'",
    ),
    ("// @splittable(a: S, a: mut S)\nvoid f(double *a);", 1, 22, "'a' is annotated twice"),
    (
        "// @splittable(returns: sum, returns: sum)\nint f(void);",
        1,
        30,
        "'returns' is annotated twice",
    ),
    ("// @splittable(returns: sum)\nvoid f(double *a);", 1, 16, "f returns void"),
    ("// @splittable(returns: mut S)\nint f(double *a);", 1, 25, "mut on returns"),
    ("// @splittable(n: mut S)\nvoid f(long n);", 1, 19, "mut on 'n', which is not a pointer"),
    ("double *f(long n);", 1, 8, "returning a pointer is not supported"),
    ("int\n  *f(void);", 2, 3, "returning a pointer is not supported"),
    ("void vdAdd(long n, const double *);", 1, 20, "parameter 2 of vdAdd has no name"),
    ("void f(long);", 1, 8, "parameter 1 of f has no name"),
    ("void f(double **a);", 1, 16, "parameter 1 of f (a) is a pointer to a pointer"),
    ("void f(long a, void b);", 1, 21, "parameter 2 of f (b) has type void"),
    ("void f(long a, double *a);", 1, 24, "f has two parameters named 'a'"),
    (
        "// @splittable(a: S)\n\n// @splittable(a: S)\nvoid f(double *a);",
        1,
        4,
        "two annotations in a row",
    ),
    (
        "void f(void);\n  // @splittable(a: S)\n",
        2,
        6,
        "this annotation is not followed by a prototype",
    ),
    (
        "// @splittable(a: T(k=1, 2))\nvoid f(double *a);",
        1,
        26,
        "positional argument after a keyword",
    ),
    ("// @splittable(a: T(k=1, k=2))\nvoid f(double *a);", 1, 26, "argument k is given twice"),
    # syntax
    ("void f(long n)\nint g(void);", 2, 1, "unexpected `int`; expected `;`"),
    ("void f(long n)", 1, 15, "unexpected end of the text; expected `;`"),
    ("void f(long n;", 1, 14, "unexpected `;`; expected `)`, `,`"),
    ("void f(long n, int m", 1, 21, "unexpected end of the text; expected `)`, `,`"),
    ("void f(long n) $", 1, 16, "unexpected character '$'"),
    ("void f(long n); /* not closed\n", 1, 17, "this comment is not closed"),
    ("f(long n);", 1, 2, "unexpected `(`"),
    ("void f(double a[]);", 1, 16, "unexpected character '['"),
    ("void f(long n, // @splittable(n: S)\n long m);", 1, 16, "unexpected annotation"),
    ("// @splittable(a: S\nvoid f(double *a);", 1, 20, "unexpected end of the line; expected"),
    ("// @splittable(a S)\nvoid f(double *a);", 1, 18, "unexpected `S`; expected `:`"),
    ("// @splittable a: S\nvoid f(double *a);", 1, 16, "unexpected `a`; expected `(`"),
    (
        "// @splittable(a: S) x\nvoid f(double *a);",
        1,
        22,
        "unexpected `x`; expected the end of the line",
    ),
    ("// @splittable(a: mut)\nvoid f(double *a);", 1, 22, "unexpected `)`; expected a name"),
    (
        "// @splittable(a: S(k=))\nvoid f(double *a);",
        1,
        23,
        "unexpected `)`; expected a name, an integer",
    ),
    (
        "\n\n    // @splittable(a: S, b: S,)\nvoid f(double *a);",
        3,
        31,
        "unexpected `)`; expected a name",
    ),
]


@pytest.mark.parametrize("text, line, col, message", ERRORS)
def test_errors_are_located(text, line, col, message):
    _raises_at(text, line, col, message)


def test_the_caret_of_an_error_in_an_annotation():
    err = _raises_at("// @splittable(a: S, c: S)\nvoid vdAdd(long n, double *a);", 1, 22, "")
    assert str(err) == (
        "1:22: vdAdd has no parameter 'c'\n  // @splittable(a: S, c: S)\n                       ^"
    )


def test_the_caret_of_an_unnamed_parameter():
    err = _raises_at("void vdAdd(long n, const double *);", 1, 20, "")
    assert str(err).splitlines()[2] == "  " + " " * 19 + "^"
    assert err.message == "parameter 2 of vdAdd has no name"


def test_the_caret_of_a_missing_semicolon():
    err = _raises_at("void f(long n)\n", 1, 15, "")
    assert (
        str(err)
        == "1:15: unexpected end of the text; expected `;`\n  void f(long n)\n                ^"
    )


def test_what_a_prototype_may_start_with_is_said_once():
    err = _raises_at("void f(void); )", 1, 15, "")
    assert err.message == (
        "unexpected `)`; expected a prototype, an annotation, the end of the text"
    )
    err = _raises_at("void f(long n, )", 1, 16, "")
    assert err.message == "unexpected `)`; expected `const`, a name, a type"


def test_a_parse_error_is_a_syntax_error():
    with pytest.raises(SyntaxError):
        parse_header("void f(")


def test_text_must_be_a_string():
    with pytest.raises(TypeError, match="not bytes"):
        parse_header(b"void f(void);")


def test_the_parser_is_built_once():
    assert c_header._lark() is c_header._lark()
    assert c_header._lark().options.parser == "lalr"
