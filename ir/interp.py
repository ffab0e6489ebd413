"""The reference interpreter: the meaning of a typed program, obviously right, and the oracle
that every backend and every optimizer pass is tested against.

    >>> from daybreak.ir.parser import parse
    >>> from daybreak.ir.typecheck import typecheck
    >>> p = typecheck(parse("|v: vec[i32]| result(for(v, merger[i32,+], |b, i, x| merge(b, x)))"))
    >>> interpret(p, [(1, 2, 2147483647)])      # integers wrap
    -2147483646

Values: `bool`/`int`/`float` Python scalars (ints already wrapped to their width, f32 values
exactly representable as float32), vectors and structs as tuples, dictionaries as Python dicts
keyed by `ops.canonical_key`, builders as the persistent states of `interp_builders`.

How: the tree is compiled once into nested Python closures, `code(env) -> value` (one table
entry per node class), so that a loop body costs a few closure calls per element and no
dispatch. Every name gets its own slot in one flat `env` list, fixed at compile time. That is
enough even for let-bound lambdas applied later: the language has no recursion, so a binding is
never live twice at once and the slots a lambda reads still hold the values it closed over.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from . import nodes as N
from .dispatch import IterTable, NodeTable
from .errors import TypeCheckError, UnsupportedError, WeldRuntimeError
from .interp_builders import NEW_BUILDER, merge_function, result_function
from .ops import OPS, OpRuntimeError, fix_scalar, int_max, int_min, to_f32, wrap_int
from .trampoline import Walk, trampoline
from .types import I8, Scalar, Type

Code = Callable[[list], Any]  # a compiled node: env -> value
UdfCall = Callable[[str, Callable, list, tuple, Type], Any]


def interpret(
    program: N.Program,
    args: Sequence,
    udfs: Mapping[str, Callable] | None = None,
    *,
    call_udf: UdfCall | None = None,
):
    """Run a typed program on interpreter values (see the module docstring).

    `udfs` maps a `cudf` name to a Python callable. By default it is called with the
    interpreter values of the arguments and must return an interpreter value;
    `call_udf(name, fn, values, arg_types, ret_type)` replaces that call (the interp backend
    marshals NumPy values in and out there).
    """
    return compile_program(program).run(args, udfs, call_udf=call_udf)


def compile_program(program: N.Program) -> CompiledProgram:
    """Compile a typed program into closures once, to run it many times."""
    _check_typed(program)
    compiler = _Compiler()
    with compiler.binding([p.name for p in program.params]) as slots:
        body = trampoline(compiler.compile(program.body))
    frames = _frames_needed(program.body)
    return CompiledProgram(program, tuple(slots), body, compiler.n_slots, frames)


def _default_call_udf(name, fn, values, arg_types, ret_type):
    return fn(*values)


@dataclass(frozen=True)
class _RunContext:
    """What the running code needs besides values: it lives in env[0]."""

    udfs: Mapping[str, Callable]
    call_udf: UdfCall


@dataclass(frozen=True)
class CompiledProgram:
    program: N.Program
    param_slots: tuple[int, ...]
    body: Code
    n_slots: int
    frames: int = 0  # the Python recursion limit a run needs (_frames_needed)

    def run(self, args: Sequence, udfs=None, *, call_udf: UdfCall | None = None):
        """Run on interpreter values; runtime failures raise `WeldRuntimeError`."""
        if len(args) != len(self.param_slots):
            raise TypeError(f"the program takes {len(self.param_slots)} arguments, not {len(args)}")
        if sys.getrecursionlimit() < self.frames:  # checked at each run: a caller may have
            sys.setrecursionlimit(self.frames)  # put a lower limit back since compiling
        env: list = [None] * self.n_slots
        env[0] = _RunContext(udfs or {}, call_udf or _default_call_udf)
        for slot, value in zip(self.param_slots, args, strict=True):
            env[slot] = value
        with np.errstate(all="ignore"):
            return self.body(env)


# ----------------------------------------------------------------------------------------------
# The compiler: scopes map names to env slots; one handler per node class.


class _Compiler:
    """Compiles nodes to closures. Its methods and the handlers are walks run by `trampoline`
    (a child's code is `yield`ed, not compiled by a recursive call): programs nest deeper
    than Python recursion goes."""

    def __init__(self):
        self.scope: dict[str, int] = {}
        self.n_slots = 1  # slot 0 holds the _RunContext

    def compile(self, node: N.Expr) -> Walk[Code]:
        handler = _COMPILERS.get(type(node))
        if handler is None:
            raise UnsupportedError(type(node).__name__, "interp")
        return handler(self, node)

    def compile_all(self, nodes) -> Walk[list[Code]]:
        codes = []
        for node in nodes:
            codes.append((yield self.compile(node)))
        return codes

    @contextmanager
    def binding(self, names: Sequence[str]) -> Iterator[list[int]]:
        """Give each name a fresh slot while the `with` body compiles their scope."""
        with _Scope(self) as scope:
            yield [scope.bind(name) for name in names]

    def function(self, lam: N.Lambda) -> Walk[Callable[[list, Sequence], Any]]:
        """A lambda as a value (let-bound, then applied): `function(env, args)`. A plain
        function, not an object with __call__: calling that would go through C, and a
        program's run recurses once per nesting level."""
        with self.binding([p.name for p in lam.params]) as slots:
            body = yield self.compile(lam.body)

        def function(env: list, values: Sequence):
            for slot, value in zip(slots, values, strict=True):
                env[slot] = value
            return body(env)

        return function


_COMPILERS = NodeTable("interp")


def _fail(message: str, node: N.Expr) -> NoReturn:
    raise WeldRuntimeError(message, node.loc)


@_COMPILERS.register(N.Literal)
def _literal(c: _Compiler, n: N.Literal) -> Code:
    if isinstance(n.value, bytes):  # a string: vec[i8]
        value = tuple(wrap_int(b, I8) for b in n.value)
    else:
        value = fix_scalar(n.value, n.type)
    return lambda env: value


@_COMPILERS.register(N.Ident)
def _ident(c: _Compiler, n: N.Ident) -> Code:
    if n.name not in c.scope:
        raise TypeCheckError(f"undefined name '{n.name}'", n.loc)
    slot = c.scope[n.name]
    return lambda env: env[slot]


@_COMPILERS.register(N.MakeVector, N.MakeStruct)
def _make_tuple(c: _Compiler, n: N.MakeVector | N.MakeStruct) -> Walk[Code]:
    elems = yield c.compile_all(n.elems)
    return lambda env: tuple([e(env) for e in elems])


@_COMPILERS.register(N.GetField)
def _get_field(c: _Compiler, n: N.GetField) -> Walk[Code]:
    expr, index = (yield c.compile(n.expr)), n.index
    return lambda env: expr(env)[index]


@_COMPILERS.register(N.Op)
def _op(c: _Compiler, n: N.Op) -> Walk[Code]:
    decl = OPS[n.op]
    evaluate = decl.evaluate
    types = tuple(a.ty for a in n.args)
    result_type = n.ty
    args = yield c.compile_all(n.args)
    if decl.short_circuit:
        return _short_circuit(n, decl, types, args)

    if len(args) == 1:
        (a,) = args
        compute = lambda env: evaluate([a(env)], types, result_type)
    elif len(args) == 2:
        a, b = args
        compute = lambda env: evaluate([a(env), b(env)], types, result_type)
    else:
        compute = lambda env: evaluate([f(env) for f in args], types, result_type)

    def run(env):
        try:
            return compute(env)
        except OpRuntimeError as e:
            _fail(str(e), n)

    return run


def _short_circuit(n: N.Op, decl, types, args) -> Code:
    # The left operand's value that decides (`&&` false, `||` true) is the result.
    left, right = args
    decisive, evaluate = decl.short_circuit_on, decl.evaluate

    def run(env):
        a = left(env)
        if a == decisive:  # (== not `is`: a marshalled numpy bool counts too)
            return decisive
        return evaluate([a, right(env)], types, n.ty)

    return run


@_COMPILERS.register(N.Cast)
def _cast(c: _Compiler, n: N.Cast) -> Walk[Code]:
    convert = cast_function(n.expr.ty, n.to)
    expr = yield c.compile(n.expr)
    return lambda env: convert(expr(env))


@_COMPILERS.register(N.Ascribe)
def _ascribe(c: _Compiler, n: N.Ascribe) -> Walk[Code]:
    return c.compile(n.expr)  # a statement about the type only


@_COMPILERS.register(N.Let)
def _let(c: _Compiler, n: N.Let) -> Walk[Code]:
    # A chain of lets is compiled as one loop, not as nested closures: programs written by
    # frontends can have thousands of them.
    bindings: list[tuple[int, Code]] = []
    node: N.Expr = n
    with _Scope(c) as scope:
        while isinstance(node, N.Let):
            value = yield c.compile(node.value)
            slot = scope.bind(node.name)
            bindings.append((slot, value))
            node = node.body
        body = yield c.compile(node)
    if len(bindings) == 1:
        ((slot, value),) = bindings

        def run_one(env):
            env[slot] = value(env)
            return body(env)

        return run_one

    def run(env):
        for slot, value in bindings:
            env[slot] = value(env)
        return body(env)

    return run


class _Scope:
    """Bind names one by one to fresh slots (each sees the previous ones); unbind on exit."""

    def __init__(self, compiler: _Compiler):
        self.compiler = compiler
        self.saved: list[tuple[str, int | None]] = []

    def __enter__(self):
        return self

    def bind(self, name: str) -> int:
        c = self.compiler
        self.saved.append((name, c.scope.get(name)))
        slot = c.n_slots
        c.n_slots += 1
        c.scope[name] = slot
        return slot

    def __exit__(self, *exc):
        for name, old in reversed(self.saved):
            if old is None:
                del self.compiler.scope[name]
            else:
                self.compiler.scope[name] = old
        return False


@_COMPILERS.register(N.If)
def _if(c: _Compiler, n: N.If) -> Walk[Code]:
    cond, then, else_ = yield c.compile_all((n.cond, n.then, n.else_))
    return lambda env: then(env) if cond(env) else else_(env)


@_COMPILERS.register(N.Lambda)
def _lambda(c: _Compiler, n: N.Lambda) -> Walk[Code]:
    function = yield c.function(n)
    return lambda env: function


@_COMPILERS.register(N.Apply)
def _apply(c: _Compiler, n: N.Apply) -> Walk[Code]:
    func = yield c.compile(n.func)
    args = yield c.compile_all(n.args)
    # All arguments are evaluated before any parameter slot is written.
    return lambda env: func(env)(env, [a(env) for a in args])


# ----------------------------------------------------------------------------------------------
# Loops.


# How each iterator kind runs: the sequence of its elements, from the loop's environment.
_ITERS = IterTable("interp iterator")


@_ITERS.register("scalar")
def _scalar_iter(c: _Compiler, it: N.Iter, loop: N.For) -> Walk[Code]:
    data = yield c.compile(it.data)
    if it.is_plain:
        return data
    bounds = []  # start is given when end and stride are; end and stride may be left out
    for e in (it.start, it.end, it.stride):
        bounds.append((yield c.compile(e)) if e is not None else None)
    start, end, stride = bounds

    def run(env):
        v = data(env)
        s = start(env)
        e = end(env) if end is not None else len(v)
        st = stride(env) if stride is not None else 1
        if not (0 <= s <= e <= len(v) and st > 0):
            _fail(
                f"iter(v, {s}, {e}, {st}) is out of bounds for a vector of length {len(v)} "
                "(needs 0 <= start <= end <= len(v) and stride > 0)",
                loop,
            )
        return v[s:e:st]

    return run


@_ITERS.register("range")
def _range_iter(c: _Compiler, it: N.Iter, loop: N.For) -> Walk[Code]:
    start, end, stride = yield c.compile_all((it.start, it.end, it.stride))

    def run(env):
        s, e, st = start(env), end(env), stride(env)
        if st <= 0:
            _fail(f"rangeiter({s}, {e}, {st}) needs a stride > 0", loop)
        return range(s, e, st)

    return run


@_COMPILERS.register(N.For)
def _for(c: _Compiler, n: N.For) -> Walk[Code]:
    iters = []
    for it in n.iters:
        iters.append((yield _ITERS[it.kind](c, it, n)))
    builder = yield c.compile(n.builder)
    with c.binding([p.name for p in n.func.params]) as (b_slot, i_slot, x_slot):
        body = yield c.compile(n.func.body)

    if len(iters) == 1:
        (data,) = iters
    else:

        def data(env):
            seqs = [it(env) for it in iters]
            if len({len(s) for s in seqs}) > 1:
                lengths = ", ".join(str(len(s)) for s in seqs)
                _fail(f"zip of iterators of different lengths ({lengths})", n)
            return zip(*seqs, strict=True)

    def run(env):
        seq = data(env)
        b = builder(env)
        for i, x in enumerate(seq):
            env[b_slot] = b
            env[i_slot] = i
            env[x_slot] = x
            b = body(env)
        return b

    return run


@_COMPILERS.register(N.Merge)
def _merge(c: _Compiler, n: N.Merge) -> Walk[Code]:
    combine = merge_function(n.builder.ty)
    builder, value = yield c.compile_all((n.builder, n.value))

    def run(env):
        try:
            return combine(builder(env), value(env))
        except OpRuntimeError as e:
            _fail(str(e), n)

    return run


@_COMPILERS.register(N.Result)
def _result(c: _Compiler, n: N.Result) -> Walk[Code]:
    finish = result_function(n.builder.ty)
    builder = yield c.compile(n.builder)
    return lambda env: finish(builder(env))


@_COMPILERS.register(N.NewBuilder)
def _new_builder(c: _Compiler, n: N.NewBuilder) -> Walk[Code]:
    start = NEW_BUILDER[type(n.type)](n.type)
    if n.arg is None:
        return lambda env: start(None)  # a fresh state each time: states own their buffers
    arg = yield c.compile(n.arg)
    return lambda env: start(arg(env))


@_COMPILERS.register(N.Iterate)
def _iterate(c: _Compiler, n: N.Iterate) -> Walk[Code]:
    initial = yield c.compile(n.initial)
    step = yield c.function(n.func)

    def run(env):
        x = initial(env)
        while True:
            x, more = step(env, (x,))
            if not more:
                return x

    return run


@_COMPILERS.register(N.Sort)
def _sort(c: _Compiler, n: N.Sort) -> Walk[Code]:
    data = yield c.compile(n.data)
    compare = yield c.function(n.func)

    def run(env):
        key = functools.cmp_to_key(lambda a, b: compare(env, (a, b)))
        return tuple(sorted(data(env), key=key))  # sorted() is stable

    return run


@_COMPILERS.register(N.CUDF)
def _cudf(c: _Compiler, n: N.CUDF) -> Walk[Code]:
    args = yield c.compile_all(n.args)
    arg_types = tuple(a.ty for a in n.args)

    def run(env):
        context: _RunContext = env[0]
        values = [a(env) for a in args]
        fn = context.udfs.get(n.name)
        if fn is None:
            _fail(f"no function is registered as '{n.name}' (called by cudf[{n.name}, {n.ret}])", n)
        return context.call_udf(n.name, fn, values, arg_types, n.ret)

    return run


# ----------------------------------------------------------------------------------------------
# Casts between scalars (docs/ir.md, "Casts"): one converter per (from, to) kind of scalar.


def _scalar_class(t: Scalar) -> str:
    return "bool" if t.kind == "bool" else "int" if t.is_int else "float"


def int_to_f32(v: int) -> float:
    """The float32 nearest to an integer (ties to even), rounded once, exactly.

    Going through float64 would round twice and can be off by one unit for large i64/u64.
    """
    magnitude = abs(v)
    extra = magnitude.bit_length() - 24  # float32 has a 24-bit significand
    if extra > 0:
        kept, dropped = magnitude >> extra, magnitude & ((1 << extra) - 1)
        half = 1 << (extra - 1)
        if dropped > half or (dropped == half and kept & 1):
            kept += 1
        magnitude = kept << extra
    return -float(magnitude) if v < 0 else float(magnitude)


def float_to_int(v: float, to: Scalar) -> int:
    """Truncate toward zero, saturating at the bounds of `to`; NaN gives 0."""
    if math.isnan(v):
        return 0
    lo, hi = int_min(to), int_max(to)
    if math.isinf(v):
        return hi if v > 0 else lo
    return min(max(int(v), lo), hi)


def _to_float(to: Scalar) -> Callable[[Any], float]:
    return float if to.kind == "f64" else (lambda v: to_f32(float(v)))


_CASTS: dict[tuple[str, str], Callable[[Scalar], Callable[[Any], Any]]] = {
    ("int", "int"): lambda to: lambda v: wrap_int(v, to),
    ("int", "float"): lambda to: float if to.kind == "f64" else int_to_f32,
    ("int", "bool"): lambda to: lambda v: v != 0,
    ("float", "int"): lambda to: lambda v: float_to_int(v, to),
    ("float", "float"): _to_float,
    ("float", "bool"): lambda to: lambda v: v != 0,  # NaN != 0: true, as in C
    ("bool", "int"): lambda to: int,
    ("bool", "float"): lambda to: float,
    ("bool", "bool"): lambda to: bool,
}


def cast_function(source: Type, to: Scalar) -> Callable[[Any], Any]:
    """The converter of interpreter values for a cast from `source` to `to`."""
    if not isinstance(source, Scalar):
        raise TypeError(f"cannot cast {source} to {to}")
    return _CASTS[_scalar_class(source), _scalar_class(to)](to)


# ----------------------------------------------------------------------------------------------
# Checks before compiling.


def _check_typed(program: N.Program) -> None:
    for node in program.body.walk():
        if node.ty is None:
            raise TypeCheckError(
                f"the interpreter needs a typed program ({type(node).__name__} has no type; "
                "run typecheck first)",
                node.loc,
            )


def _frames_needed(body: N.Expr) -> int:
    # Compiling is a trampolined walk, but running the closures calls a child's closure
    # from its parent's: a few frames per tree level (let chains excepted). Those are
    # Python-to-Python calls, which Python 3.11+ keeps off the C stack (the closures are
    # plain functions for that reason), so a higher limit only costs memory. A run raises
    # the limit as far as its program needs, never lowers it (other threads may be running).
    return 4 * N.tree_depth(body) + 1000
