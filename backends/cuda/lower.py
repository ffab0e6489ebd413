"""Lowering a typed program to CUDA C++: values, operators, control flow (loops: loops.py).

One `Lowering` writes one kernel. Each node kind has a handler in `NODES` (a `NodeTable`, so
tests/test_completeness.py names any construct left out), each op an emitter in `OPS_C`. A
handler emits C++ statements into `Lowering.code` and returns what the node's value is: a C++
expression (a variable, a literal) for data, or a builder value (loops.py) for builders.

Code is written in one of two modes (docs/cuda.md): *uniform* code, which every thread of the
grid runs alike (the program outside parallel loops: a failure there returns from the kernel
in every thread), and *thread* code, which runs on one thread (a parallel loop's body and
everything nested in it: a failure jumps to the end of the thread's share of the loop, and the
loop's grid barrier tells the others).

    >>> from daybreak.ir.parser import parse
    >>> from daybreak.ir.typecheck import typecheck
    >>> text = lower_program(typecheck(parse("|a: i64, b: i64| a / b")), ErrorTable()).kernel
    >>> "db_idiv<db_i64>(a.p0, a.p1)" in text
    True
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ...ir import nodes as N
from ...ir.dispatch import NodeTable, OpTable
from ...ir.errors import Loc, UnsupportedError
from ...ir.ops import OPS
from ...ir.types import (
    FLOATS,
    SIGNED_INTS,
    BuilderType,
    Dict,
    Scalar,
    Struct,
    Type,
    Vec,
    children,
)
from .ctypes_layout import CNames

# ----------------------------------------------------------------------------------------------
# Where errors come from: code -> (message, location), as the LLVM backend keeps them.


class ErrorTable:
    """Runtime error sites. The kernel reports `site + FIRST_SITE - 1` (codes below
    FIRST_SITE are the runtime's own: DB_ARENA_FULL)."""

    FIRST_SITE = 2

    def __init__(self):
        self.sites: list[tuple[str, Loc | None]] = []

    def add(self, message: str, loc: Loc | None) -> int:
        self.sites.append((message, loc))
        return len(self.sites) - 1 + self.FIRST_SITE

    def lookup(self, code: int) -> tuple[str, Loc | None]:
        return self.sites[code - self.FIRST_SITE]


def unsupported(what: str, detail: str = "") -> UnsupportedError:
    return UnsupportedError(what, "cuda", detail)


# ----------------------------------------------------------------------------------------------
# The source being written.


@dataclass
class Code:
    lines: list[str] = field(default_factory=list)
    depth: int = 1

    def emit(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    @contextmanager
    def block(self, head: str) -> Iterator[None]:
        self.emit(head + " {")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.emit("}")

    def mark(self) -> tuple[int, int]:
        """Where lines can be added later (`insert`), at the current indentation."""
        return len(self.lines), self.depth

    def insert(self, marks: list[tuple[tuple[int, int], list[str]]]) -> None:
        """Add each list of lines at its mark (marks made in the order of the code)."""
        for (at, depth), lines in sorted(marks, key=lambda m: m[0][0], reverse=True):
            self.lines[at:at] = ["  " * depth + line for line in lines]

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class LambdaValue:
    """A let-bound lambda: applied where it is called, in the scope it was bound in."""

    func: N.Lambda
    env: dict


class Lowering:
    """The state of lowering one program (see the module docstring)."""

    def __init__(self, errors: ErrorTable):
        self.errors = errors
        self.names = CNames()
        self.code = Code()
        self.uniform = True  # False inside parallel loop bodies
        self.stop = "return;"  # what thread code does after a failure
        self.functors: list[str] = []  # declarations the kernel's code uses (loops.combiner)
        self.functor_names: dict = {}  # (type, op) -> the functor combining them
        self._count = 0

    # -- helpers ---------------------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def ctype(self, t: Type) -> str:
        return self.names.of(t)

    def temp(self, t: Type, expr: str, prefix: str = "t") -> str:
        name = self.fresh(prefix)
        self.code.emit(f"{self.ctype(t)} {name} = {expr};")
        return name

    def declare(self, t: Type, prefix: str = "t") -> str:
        name = self.fresh(prefix)
        self.code.emit(f"{self.ctype(t)} {name};")
        return name

    def fail(self, message: str, loc: Loc | None) -> None:
        """Record a runtime error at `loc` and stop this code (see the module docstring)."""
        code = self.errors.add(message, loc)
        self.code.emit(f"db_fail(g, {code}); {self.stop}")

    def fail_if(self, condition: str, message: str, loc: Loc | None) -> None:
        with self.code.block(f"if ({condition})"):
            self.fail(message, loc)

    def alloc(self, elem: Type, count: str) -> str:
        """A pointer to room for `count` elements (the arena's uniform or thread half)."""
        return self.alloc_raw(self.ctype(elem), count)

    def alloc_raw(self, c: str, count: str) -> str:
        kind = "db_ualloc" if self.uniform else "db_talloc"
        p = self.temp_raw(f"{c} *", f"({c} *){kind}(g, ({count}) * (db_i64)sizeof({c}))", "p")
        self.code.emit(f"if (!{p}) {self.stop}")
        return p

    def temp_raw(self, ctype: str, expr: str, prefix: str = "t") -> str:
        name = self.fresh(prefix)
        self.code.emit(f"{ctype} {name} = {expr};")
        return name

    @contextmanager
    def thread_code(self, stop: str) -> Iterator[None]:
        before = self.uniform, self.stop
        self.uniform, self.stop = False, stop
        try:
            yield
        finally:
            self.uniform, self.stop = before

    # -- values ----------------------------------------------------------------------------

    def value(self, node: N.Expr, env: dict):
        return NODES[type(node)](self, node, env)

    def apply(self, func: N.Lambda, env: dict, args: list):
        """The value of `func`'s body with its parameters bound to `args` (C expressions or
        builder values)."""
        inner = dict(env)
        for p, a in zip(func.params, args, strict=True):
            inner[p.name] = a
        return self.value(func.body, inner)


# ----------------------------------------------------------------------------------------------
# Literals.


def scalar_literal(value, t: Scalar) -> str:
    """An exact C++ literal of `value` as a `t`."""
    kind = t.kind
    if kind == "bool":
        return "true" if value else "false"
    if kind == "f64":
        v = float(value)
        if math.isfinite(v):
            return f"(db_f64){v!r}"
        bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        return f"db_f64_bits({bits}ULL)"
    if kind == "f32":
        bits = struct.unpack("<I", struct.pack("<f", float(value)))[0]
        return f"db_f32_bits({bits}u)"
    v = int(value)
    if kind in SIGNED_INTS:
        unsigned = v & ((1 << int(kind[1:])) - 1)
        return f"(db_{kind})(db_u{kind[1:]}){unsigned}ULL"
    return f"(db_{kind}){v}ULL"


def zero_of(L: Lowering, t: Type) -> str:
    if isinstance(t, Scalar):
        return scalar_literal(0, t)
    return f"{L.ctype(t)}{{}}"


# ----------------------------------------------------------------------------------------------
# Node handlers.

NODES = NodeTable("cuda")


@NODES.register(N.Literal)
def _literal(L: Lowering, n: N.Literal, env):
    if isinstance(n.type, Scalar):
        return scalar_literal(n.value, n.type)
    return vector_of(L, n.type, [scalar_literal(b, n.type.elem) for b in n.value])


def vector_of(L: Lowering, t: Vec, elems: list[str]) -> str:
    if not elems:
        return f"{L.ctype(t)}{{0, 0}}"
    p = L.alloc(t.elem, str(len(elems)))
    for k, e in enumerate(elems):
        L.code.emit(f"{p}[{k}] = {e};")
    return L.temp(t, f"{L.ctype(t)}{{{p}, {len(elems)}}}", "v")


@NODES.register(N.Ident)
def _ident(L: Lowering, n: N.Ident, env):
    try:
        return env[n.name]
    except KeyError:
        raise unsupported("a free name", n.name) from None


@NODES.register(N.MakeVector)
def _make_vector(L: Lowering, n: N.MakeVector, env):
    return vector_of(L, n.ty, [L.value(e, env) for e in n.elems])


@NODES.register(N.MakeStruct)
def _make_struct(L: Lowering, n: N.MakeStruct, env):
    from .loops import BuilderStruct, is_builder

    values = [L.value(e, env) for e in n.elems]
    if is_builder(n.ty):
        return BuilderStruct(tuple(values))
    if not values:
        raise unsupported("an empty struct")
    return L.temp(n.ty, f"{L.ctype(n.ty)}{{{', '.join(values)}}}", "s")


@NODES.register(N.GetField)
def _get_field(L: Lowering, n: N.GetField, env):
    from .loops import BuilderStruct

    inner = L.value(n.expr, env)
    if isinstance(inner, BuilderStruct):
        return inner.fields[n.index]
    return f"{inner}.f{n.index}"


@NODES.register(N.Op)
def _op(L: Lowering, n: N.Op, env):
    decl = OPS[n.op]
    if decl.short_circuit:
        return _short_circuit(L, n, env, decl.short_circuit_on)
    args = [L.value(a, env) for a in n.args]
    types = [a.ty for a in n.args]
    return OPS_C[n.op](L, n, args, types)


def _short_circuit(L: Lowering, n: N.Op, env, stops_on: bool) -> str:
    first = L.value(n.args[0], env)
    r = L.temp_raw("bool", first, "c")
    with L.code.block(f"if ({'!' if stops_on else ''}{r})"):
        L.code.emit(f"{r} = {L.value(n.args[1], env)};")
    return r


@NODES.register(N.Cast)
def _cast(L: Lowering, n: N.Cast, env):
    x = L.value(n.expr, env)
    return L.temp(n.to, cast(x, n.expr.ty, n.to))


@NODES.register(N.Ascribe)
def _ascribe(L: Lowering, n: N.Ascribe, env):
    return L.value(n.expr, env)


@NODES.register(N.Let)
def _let(L: Lowering, n: N.Let, env):
    from .loops import is_builder

    if isinstance(n.value, N.Lambda):
        bound = LambdaValue(n.value, env)
    elif is_builder(n.value.ty):
        bound = L.value(n.value, env)
    else:
        bound = L.temp(n.value.ty, L.value(n.value, env), "x")
    return L.value(n.body, {**env, n.name: bound})


@NODES.register(N.If)
def _if(L: Lowering, n: N.If, env):
    from .loops import is_builder

    cond = L.value(n.cond, env)
    if is_builder(n.ty):
        if L.uniform:
            from .loops import uniform_branches

            return uniform_branches(L, n, env, cond)
        before = L.code.mark()
        with L.code.block(f"if ({cond})"):
            then = L.value(n.then, env)
            then_end = L.code.mark()
        with L.code.block("else"):
            other = L.value(n.else_, env)
            other_end = L.code.mark()
        if then == other:
            return then
        from .loops import join_branches

        return join_branches(L, then, other, before, then_end, other_end)
    r = L.declare(n.ty, "r")
    with L.code.block(f"if ({cond})"):
        L.code.emit(f"{r} = {L.value(n.then, env)};")
    with L.code.block("else"):
        L.code.emit(f"{r} = {L.value(n.else_, env)};")
    return r


@NODES.register(N.Lambda)
def _lambda(L: Lowering, n: N.Lambda, env):
    raise unsupported("a lambda as a value")


@NODES.register(N.Apply)
def _apply(L: Lowering, n: N.Apply, env):
    func, scope = n.func, env
    if isinstance(func, N.Ident) and isinstance(env.get(func.name), LambdaValue):
        bound = env[func.name]
        func, scope = bound.func, bound.env
    if not isinstance(func, N.Lambda):
        raise unsupported("apply", "a call of something other than a lambda")
    args = [L.value(a, env) for a in n.args]
    args = [
        a if not isinstance(a, str) else L.temp(e.ty, a, "a")
        for a, e in zip(args, n.args, strict=True)
    ]
    return L.apply(func, scope, args)


@NODES.register(N.Iterate)
def _iterate(L: Lowering, n: N.Iterate, env):
    state = L.temp(n.initial.ty, L.value(n.initial, env), "it")
    with L.code.block("while (true)"):
        step = L.apply(n.func, env, [state])
        L.code.emit(f"{state} = {step}.f0;")
        L.code.emit(f"if (!{step}.f1) break;")
    return state


@NODES.register(N.CUDF)
def _cudf(L: Lowering, n: N.CUDF, env):
    raise unsupported("cudf", f"cudf[{n.name}] calls host code")


# (For, Merge, Result, NewBuilder: loops.py registers them; Sort: sort.py.)

# ----------------------------------------------------------------------------------------------
# Casts (docs/ir.md): integers wrap, floats round, float to integer truncates and saturates
# (NaN gives 0), numbers to bool compare with 0.


def cast(x: str, source: Type, to: Scalar) -> str:
    if not isinstance(source, Scalar):
        raise unsupported("cast", f"from {source}")
    f, t = source.kind, to.kind
    if t == "bool":
        return f"({x} != 0)"
    if f == "bool":
        return f"(db_{t})({x} ? 1 : 0)"
    if f in FLOATS and t not in FLOATS:
        bits = int(t[1:])
        if t in SIGNED_INTS:
            lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1)
            low, high = f"(db_{t})(db_u{bits}){2 ** (bits - 1)}ULL", f"(db_{t}){hi - 1}LL"
        else:
            lo, hi = 0, 2**bits
            low, high = f"(db_{t})0", f"(db_{t}){hi - 1}ULL"
        return (
            f"db_ftoi<db_{t}, db_{f}>({x}, (db_{f}){float(lo)!r}, (db_{f}){float(hi)!r}, "
            f"{low}, {high})"
        )
    return f"(db_{t})({x})"


# ----------------------------------------------------------------------------------------------
# Operators: one emitter per op of ir/ops.py.

OPS_C = OpTable("cuda ops")


def _is_float(t: Type) -> bool:
    return isinstance(t, Scalar) and t.kind in FLOATS


def _scalar_only(n: N.Op, types) -> None:
    if not all(isinstance(t, Scalar) for t in types):
        raise unsupported(n.op, f"on {', '.join(map(str, types))}")


def _arith(int_fn: str, float_op: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        _scalar_only(n, types)
        a, b = args
        if _is_float(types[0]):
            return L.temp(n.ty, f"{a} {float_op} {b}")
        return L.temp(n.ty, f"{int_fn}<db_{types[0].kind}>({a}, {b})")

    return emit


for _name, _int, _float in [
    ("+", "db_iadd", "+"),
    ("-", "db_isub", "-"),
    ("*", "db_imul", "*"),
    ("/", "db_idiv", "/"),
]:
    OPS_C[_name] = _arith(_int, _float)


@OPS_C.register("%")
def _rem(L: Lowering, n: N.Op, args, types) -> str:
    _scalar_only(n, types)
    a, b = args
    if _is_float(types[0]):
        return L.temp(n.ty, f"{'fmodf' if types[0].kind == 'f32' else 'fmod'}({a}, {b})")
    return L.temp(n.ty, f"db_irem<db_{types[0].kind}>({a}, {b})")


def _bitwise(op: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        _scalar_only(n, types)
        return L.temp(n.ty, f"({L.ctype(n.ty)})({args[0]} {op} {args[1]})")

    return emit


for _name in ("&", "^", "|"):
    OPS_C[_name] = _bitwise(_name)


def _shift(fn: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        _scalar_only(n, types)
        return L.temp(n.ty, f"{fn}<db_{types[0].kind}>({args[0]}, {args[1]})")

    return emit


OPS_C["<<"] = _shift("db_shl")
OPS_C[">>"] = _shift("db_shr")


# What a three-way comparison's result (-1, 0, 1, or 2: unordered, a NaN on the way) means
# for each operator of structs and vectors.
_ORDERED = {
    "==": "{c} == 0",
    "!=": "{c} != 0",
    "<": "{c} == -1",
    "<=": "({c} == -1 || {c} == 0)",
    ">": "{c} == 1",
    ">=": "({c} == 1 || {c} == 0)",
}


def _compare(op: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        if isinstance(types[0], Scalar):
            return L.temp(n.ty, f"({args[0]} {op} {args[1]})")
        c = L.temp_raw("int", f"{three_way(L, types[0])}({args[0]}, {args[1]})", "c")
        return L.temp(n.ty, _ORDERED[op].format(c=c))

    return emit


def three_way(L: Lowering, t: Type) -> str:
    """A device function comparing two `t`s lexicographically (docs/ir.md): -1, 0 or 1, and 2
    when a NaN met on the way makes them unordered."""
    return comparer(L, t, "cmp", "return a < b ? -1 : b < a ? 1 : a == b ? 0 : 2;")


def comparer(L: Lowering, t: Type, kind: str, scalars: str) -> str:
    """The device function `int name(const T &a, const T &b)` of the comparison `kind` of two
    `t`s: `scalars` is its body on scalars; structs compare field by field and vectors element
    by element, a shorter vector before its extensions (`cmp`: `three_way`; `key`: the key
    order of dictionaries, dicts.py)."""
    name = L.functor_names.get((kind, t))
    if name is not None:
        return name
    if isinstance(t, Scalar):
        body = scalars
    elif isinstance(t, Struct):
        fields = [f"c = {comparer(L, f, kind, scalars)}(a.f{k}, b.f{k}); if (c != 0) return c;"
                  for k, f in enumerate(t.fields)]  # fmt: skip
        body = "int c; " + " ".join(fields) + " return 0;"
    elif isinstance(t, Vec):
        inner = comparer(L, t.elem, kind, scalars)
        body = (
            "db_i64 n = a.len < b.len ? a.len : b.len; "
            f"for (db_i64 k = 0; k < n; ++k) {{ int c = {inner}(a.data[k], b.data[k]); "
            "if (c != 0) return c; } return a.len < b.len ? -1 : b.len < a.len ? 1 : 0;"
        )
    elif isinstance(t, Dict) and kind == "cmp":  # (== and != only: keys as keys are)
        from .dicts import key_order

        keys, values = key_order(L, t.key), three_way(L, t.value)
        body = (
            "if (a.len != b.len) return 1; for (db_i64 k = 0; k < a.len; ++k) { "
            f"if ({keys}(a.data[k].f0, b.data[k].f0) != 0) return 1; "
            f"int c = {values}(a.data[k].f1, b.data[k].f1); if (c != 0) return c; }} return 0;"
        )
    else:
        raise unsupported("a comparison", f"of {t}")
    name = L.functor_names[(kind, t)] = L.fresh(f"db_{kind}")
    c = L.ctype(t)
    L.functors.append(f"DB_FN int {name}(const {c} &a, const {c} &b) {{ {body} }}")
    return name


for _name in ("==", "!=", "<", "<=", ">", ">="):
    OPS_C[_name] = _compare(_name)


def _short(L: Lowering, n: N.Op, args, types) -> str:  # pragma: no cover - see _op
    raise AssertionError("short-circuit operators are lowered by _short_circuit")


OPS_C["&&"] = OPS_C["||"] = _short


@OPS_C.register("neg")
def _neg(L: Lowering, n: N.Op, args, types) -> str:
    _scalar_only(n, types)
    if _is_float(types[0]):
        return L.temp(n.ty, f"-{args[0]}")
    return L.temp(n.ty, f"db_ineg<db_{types[0].kind}>({args[0]})")


@OPS_C.register("not")
def _not(L: Lowering, n: N.Op, args, types) -> str:
    return L.temp(n.ty, f"!{args[0]}")


def _math(name: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        _scalar_only(n, types)
        fn = name + ("f" if types[0].kind == "f32" else "")
        return L.temp(n.ty, f"{fn}({', '.join(args)})")

    return emit


for _name in (
    "exp log log2 log10 log1p expm1 sqrt cbrt sin cos tan asin acos atan sinh cosh tanh asinh "
    "acosh atanh erf erfc floor ceil trunc rint pow atan2 hypot copysign"
).split():
    OPS_C[_name] = _math(_name)


def _classify(name: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        return L.temp(n.ty, f"(bool){name}({args[0]})")

    return emit


for _name in ("isnan", "isinf", "isfinite"):
    OPS_C[_name] = _classify(_name)


@OPS_C.register("abs")
def _abs(L: Lowering, n: N.Op, args, types) -> str:
    _scalar_only(n, types)
    kind = types[0].kind
    if kind in FLOATS:
        return L.temp(n.ty, f"{'fabsf' if kind == 'f32' else 'fabs'}({args[0]})")
    return L.temp(n.ty, f"db_iabs<db_{kind}>({args[0]})")


def _extreme(name: str):
    def emit(L: Lowering, n: N.Op, args, types) -> str:
        _scalar_only(n, types)
        fn = ("db_f" if _is_float(types[0]) else "db_") + name
        return L.temp(n.ty, f"{fn}<db_{types[0].kind}>({args[0]}, {args[1]})")

    return emit


OPS_C["min"], OPS_C["max"] = _extreme("min"), _extreme("max")


@OPS_C.register("select")
def _select(L: Lowering, n: N.Op, args, types) -> str:
    return L.temp(n.ty, f"{args[0]} ? {args[1]} : {args[2]}")


@OPS_C.register("len")
def _len(L: Lowering, n: N.Op, args, types) -> str:
    return f"{args[0]}.len"  # (a dictionary is its entries: dicts.py)


@OPS_C.register("lookup")
def _lookup(L: Lowering, n: N.Op, args, types) -> str:
    v, i = args
    if isinstance(types[0], Dict):
        from .dicts import dict_lookup

        return dict_lookup(L, n, v, i, types[0])
    k = L.temp_raw("db_i64", f"db_index({i})", "k")
    L.fail_if(f"{k} < 0 || {k} >= {v}.len", "index out of bounds in lookup", n.loc)
    return L.temp(n.ty, f"{v}.data[{k}]", "e")


@OPS_C.register("slice")
def _slice(L: Lowering, n: N.Op, args, types) -> str:
    v, s, size = args
    if not isinstance(types[0], Vec):
        raise unsupported("slice", f"of a {types[0]}")
    # clamped (docs/ir.md): the start to [0, len], the end to start + max(size, 0) <= len
    start = L.temp_raw("db_i64", f"db_min<db_i64>(db_max<db_i64>(db_index({s}), 0), {v}.len)")
    room = f"{v}.len - {start}"
    count = L.temp_raw("db_i64", f"db_min<db_i64>(db_max<db_i64>(db_index({size}), 0), {room})")
    return L.temp(n.ty, f"{L.ctype(n.ty)}{{{v}.data + {start}, {count}}}", "v")


@OPS_C.register("assert")
def _assert(L: Lowering, n: N.Op, args, types) -> str:
    L.fail_if(f"!({args[0]})", "assertion failed", n.loc)
    return "true"


# (optlookup, keyexists, tovec: dicts.py registers them.)

# ----------------------------------------------------------------------------------------------
# A whole program.


@dataclass(frozen=True)
class Kernel:
    """A program's kernel: the C++ text after the prelude (struct declarations, the argument
    struct, the kernel function `db_program`), and what the host needs to call it."""

    kernel: str
    errors: ErrorTable
    param_types: tuple[Type, ...]
    result_type: Type


def lower_program(program: N.Program, errors: ErrorTable) -> Kernel:
    from . import dicts, loops, sort  # noqa: F401  (register the handlers of those files)

    L = Lowering(errors)
    types = [p.type for p in program.params]
    for t in (*types, program.body.ty):
        _check_crossing(t)
    env = {p.name: f"a.p{k}" for k, p in enumerate(program.params)}
    result = L.value(program.body, env)
    if not isinstance(result, str):
        raise unsupported("a builder as the program's result")
    rtype = L.ctype(program.body.ty)
    args = " ".join(f"{L.ctype(t)} p{k};" for k, t in enumerate(types)) or "db_i64 unused;"
    head = [
        L.names.declarations(),
        *L.functors,
        f"struct db_args {{ {args} }};",
        "DB_KERNEL void db_program(const char *db_bytes, char *db_arena, db_i64 db_cap, "
        "db_status *db_st, char *db_out) {",
        "  db_grid g = db_grid_make(db_arena, db_cap, db_st);",
        "  const db_args &a = *(const db_args *)db_bytes;",
        "  (void)a;",
    ]
    tail = [f"  if (g.rank == 0) *({rtype} *)db_out = {result};", "}"]
    text = "\n".join([*head, L.code.text(), *tail])
    return Kernel(text, errors, tuple(types), program.body.ty)


def _check_crossing(t: Type) -> None:
    """Arguments and results cross as values: scalars, vectors, structs and dictionaries."""
    if isinstance(t, BuilderType):
        raise unsupported("a builder argument or result")
    if isinstance(t, Struct) and not t.fields:
        raise unsupported("an empty struct")
    for inner in children(t):
        _check_crossing(inner)


__all__ = ["ErrorTable", "Kernel", "Lowering", "NODES", "OPS_C", "lower_program"]
