"""Lowering of typed IR programs to LLVM IR.

One emitter per node kind in `_NODE_EMITTERS`; operators go through `ops.OP_EMITTERS`; builders
through `builders.py`; multi-block algorithms (comparisons, sorting) are in `algorithms.py`.
The program becomes one function

    void entry(ctx*, args*, out*)

reading its parameters from the `args` struct and writing its result to `out`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from llvmlite import ir

from ...ir import nodes as N
from ...ir.dispatch import NodeTable
from ...ir.errors import DaybreakError, IRError, Loc, LoweringError
from ...ir.last_use import last_reader
from ...ir.ops import OPS
from ...ir.types import Scalar
from . import builders, dicts, loops
from .algorithms import merge_sort
from .cgutils import alloca_entry, do_while, i64, memcpy, saturating, select_lazily, sizeof, truth
from .layout import I8, I32, VOIDPTR, lltype, vec_type
from .ops import OP_EMITTERS, OpSite, cast
from .runtime_interrupt import check_interrupts
from .runtime_ir import CTX_PTR, declare_runtime


@dataclass(frozen=True)
class LambdaValue:
    """A let-bound lambda: inlined where it is applied, in the scope it was defined in."""

    node: N.Lambda
    env: dict


class ErrorTable:
    """Runtime error sites: code -> (message, location). Code 0 means no error."""

    def __init__(self):
        self.sites: list[tuple[str, Loc | None]] = []

    def add(self, message: str, loc: Loc | None) -> int:
        self.sites.append((message, loc))
        return len(self.sites)

    def lookup(self, code: int) -> tuple[str, Loc | None]:
        return self.sites[code - 1]


class Lowerer:
    """Lowers one program into one module. Where code goes (`builder`, `ctx`) and what the
    code being emitted is inside of (`in_loop_body`, `straight_line`, `unchecked_merges`,
    `unchecked_reads`) are
    changed only by the context managers below, which restore them however lowering ends."""

    def __init__(self, module: ir.Module, errors: ErrorTable):
        self.module = module
        self.errors = errors
        self.runtime = declare_runtime(module)
        self.builder: ir.IRBuilder | None = None
        self.ctx: ir.Value | None = None
        self.in_loop_body = False  # loops inside a loop body run sequentially
        self.straight_line = True  # False inside if branches and applied lambdas
        self.unchecked_merges: frozenset[int] = frozenset()  # merges whose room/bounds are known
        self.unchecked_reads: frozenset[int] = frozenset()  # lookups known in bounds
        self.frees_after: dict[int, list[ir.Value]] = {}  # id(let) -> blocks to free after it
        self._names: dict[str, int] = {}
        self.outlined: dict[tuple, tuple] = {}  # top-level loops' functions (loops.py)
        # The loop whose appender is the program's result, when the host may ask it to
        # write into a destination of its own (`loops.destination_loop`): (id, kind) or None
        self.destination: tuple[int, str] | None = None

    def fresh_name(self, prefix: str) -> str:
        """A symbol name unique in this module and the same on every compile of the program
        (the disk cache is keyed by the LLVM IR text)."""
        n = self._names.get(prefix, 0)
        self._names[prefix] = n + 1
        return f"{prefix}{n}"

    # -- lowering state ------------------------------------------------------------------------

    @contextmanager
    def _changed(self, **state) -> Iterator[None]:
        saved = {name: getattr(self, name) for name in state}
        for name, value in state.items():
            setattr(self, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    def emitting_into(self, fn: ir.Function, ctx: ir.Value | None = None):
        """Emit into a new entry block of `fn` (an outlined loop, a helper function), with
        `ctx` as the run's context when given; then back to where lowering was."""
        builder = ir.IRBuilder(fn.append_basic_block("entry"))
        return self._changed(builder=builder, ctx=self.ctx if ctx is None else ctx)

    def entering_branch(self):
        """Code that may not run (a branch of an if, an applied lambda)."""
        return self._changed(straight_line=False)

    def reading_unchecked(self, lookups: frozenset[int]):
        """Code where the lookups `lookups` (Op node ids) are known in bounds (checked once,
        before the loop they run in)."""
        return self._changed(unchecked_reads=self.unchecked_reads | lookups)

    def entering_loop_body(self, unchecked_merges: frozenset[int] | None = None):
        """Code run once per iteration of a loop; `unchecked_merges` (Merge node ids) may
        store without checks in it (their room or bounds were checked before the loop)."""
        if unchecked_merges is None:
            unchecked_merges = self.unchecked_merges
        return self._changed(in_loop_body=True, unchecked_merges=unchecked_merges)

    # -- entry point --------------------------------------------------------------------------

    def lower_program(self, program: N.Program) -> ir.Function:
        _ensure_recursion_room(program.body)
        args_ty = ir.LiteralStructType([lltype(p.type) for p in program.params])
        out_ty = lltype(program.body.ty)
        fnty = ir.FunctionType(ir.VoidType(), [CTX_PTR, args_ty.as_pointer(), out_ty.as_pointer()])
        fn = ir.Function(self.module, fnty, "entry")
        ctx, args, out = fn.args
        self.builder = ir.IRBuilder(fn.append_basic_block("entry"))
        self.ctx = ctx
        loaded = self.builder.load(args) if program.params else None
        env = {
            p.name: dicts.import_value(self, self.builder.extract_value(loaded, i), p.type)
            for i, p in enumerate(program.params)
        }
        self.destination = loops.destination_loop(program.body)
        result = dicts.export_value(self, self.lower(program.body, env), program.body.ty)
        self.builder.store(result, out)
        self.builder.ret_void()
        return fn

    # -- dispatch -----------------------------------------------------------------------------

    def lower(self, node: N.Expr, env: dict) -> ir.Value:
        emitter = _NODE_EMITTERS.get(type(node))
        if emitter is None:
            raise LoweringError(f"the llvm backend cannot lower {type(node).__name__}", node.loc)
        try:
            return emitter(self, node, env)
        except (IRError, DaybreakError):
            raise  # ours already, located where it happened (the innermost node)
        except Exception as err:  # a gap or bug inside an emitter: say where, as a gap
            raise LoweringError(
                f"while lowering {type(node).__name__}: {type(err).__name__}: {err}", node.loc
            ) from err

    # -- helpers used by emitters ---------------------------------------------------------------

    def truth(self, value: ir.Value) -> ir.Value:
        return truth(self.builder, value)

    def alloc(self, nbytes: ir.Value) -> ir.Value:
        return self.builder.call(self.runtime["db_alloc"], [self.ctx, nbytes])

    def alloc_array(self, elem: ir.Type, count: ir.Value) -> ir.Value:
        nbytes = saturating(self.builder, "mul", sizeof(self.builder, elem), count)
        return self.builder.bitcast(self.alloc(nbytes), elem.as_pointer())

    def free(self, block: ir.Value) -> None:
        """Give a block of this run back before the run ends (db_free: only a block this
        thread's context owns; anything else is left to its owner)."""
        b = self.builder
        b.call(self.runtime["db_free"], [self.ctx, b.bitcast(block, VOIDPTR)])

    def grow_array(self, data: ir.Value, old_count: ir.Value, new_count: ir.Value) -> ir.Value:
        """A block of `new_count` elements holding `data`'s first `old_count`, which it
        replaces (db_grow: the old block is freed at once when this thread's context owns
        it; a size that overflows stops the run out of memory)."""
        b = self.builder
        size = sizeof(b, data.type.pointee)
        grown = b.call(
            self.runtime["db_grow"],
            [
                self.ctx,
                b.bitcast(data, VOIDPTR),
                b.mul(size, old_count),
                saturating(b, "mul", size, new_count),
            ],
        )
        return b.bitcast(grown, data.type)

    def fail(self, message: str, loc: Loc | None) -> None:
        code = self.errors.add(message, loc)
        self.builder.call(self.runtime["db_fail"], [self.ctx, i64(code)])

    def fail_unless(self, ok: ir.Value, message: str, loc: Loc | None) -> None:
        with self.builder.if_then(self.builder.not_(ok), likely=False):
            self.fail(message, loc)

    def element_ptr(self, vec: ir.Value, index: ir.Value) -> ir.Value:
        return self.builder.gep(self.builder.extract_value(vec, 0), [index])

    def index_i64(self, value: ir.Value, t: Scalar) -> ir.Value:
        if value.type.width == 64:
            return value
        if t.is_signed:
            return self.builder.sext(value, i64(0).type)
        return self.builder.zext(value, i64(0).type)

    def apply_lambda(self, lam: N.Lambda, args: list[ir.Value], env: dict) -> ir.Value:
        inner = dict(env)
        for p, a in zip(lam.params, args, strict=True):
            inner[p.name] = a
        with self.entering_branch():
            return self.lower(lam.body, inner)


def _ensure_recursion_room(body: N.Expr) -> None:
    # Lowering recurses a few Python frames per tree level (a deep let chain or a long sum).
    # Python 3.11+ runs these Python-to-Python calls without the C stack, so a higher limit is
    # safe; it is raised only as far as this program needs, never lowered (as the interpreter).
    deepest, stack = 0, [(body, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children())
    needed = 6 * deepest + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


# ----------------------------------------------------------------------------------------------
# Node emitters.


def _literal(L: Lowerer, n: N.Literal, env) -> ir.Value:
    if isinstance(n.type, Scalar):
        value = n.value
        if n.type.kind == "bool":
            value = int(value)
        return ir.Constant(lltype(n.type), value)
    # a string: a private constant, viewed as vec[i8] (never freed, never written)
    data = bytearray(n.value)
    arr_ty = ir.ArrayType(I8, max(len(data), 1))
    gv = ir.GlobalVariable(L.module, arr_ty, name=L.fresh_name("str."))
    gv.global_constant = True
    gv.linkage = "private"
    gv.initializer = ir.Constant(arr_ty, data or bytearray(1))
    ptr = L.builder.bitcast(gv, I8.as_pointer())
    vec = ir.Constant(vec_type(I8), ir.Undefined)
    vec = L.builder.insert_value(vec, ptr, 0)
    return L.builder.insert_value(vec, i64(len(data)), 1)


def _ident(L: Lowerer, n: N.Ident, env) -> ir.Value:
    return env[n.name]


def _make_vector(L: Lowerer, n: N.MakeVector, env) -> ir.Value:
    elem = lltype(n.ty.elem)
    data = L.alloc_array(elem, i64(len(n.elems)))
    for i, e in enumerate(n.elems):
        L.builder.store(L.lower(e, env), L.builder.gep(data, [i64(i)]))
    vec = ir.Constant(lltype(n.ty), ir.Undefined)
    vec = L.builder.insert_value(vec, data, 0)
    return L.builder.insert_value(vec, i64(len(n.elems)), 1)


def _make_struct(L: Lowerer, n: N.MakeStruct, env) -> ir.Value:
    value = ir.Constant(lltype(n.ty), ir.Undefined)
    for i, e in enumerate(n.elems):
        value = L.builder.insert_value(value, L.lower(e, env), i)
    return value


def _get_field(L: Lowerer, n: N.GetField, env) -> ir.Value:
    return L.builder.extract_value(L.lower(n.expr, env), n.index)


def _op(L: Lowerer, n: N.Op, env) -> ir.Value:
    emitter = OP_EMITTERS.get(n.op)
    if emitter is None:
        raise LoweringError(f"the llvm backend cannot lower the operator {n.op}", n.loc)
    site = OpSite(n.op, tuple(a.ty for a in n.args), n.ty, n.loc, id(n) not in L.unchecked_reads)
    if OPS[n.op].short_circuit:
        args = LoweredOnDemand(L, n.args, env)
    else:
        args = [L.lower(a, env) for a in n.args]
    return emitter(L, site, args)


class LoweredOnDemand(Sequence):
    """The arguments of a short-circuit op: each is lowered when the emitter first reads it,
    into the block its builder is in then."""

    def __init__(self, L: Lowerer, exprs: Sequence[N.Expr], env: dict):
        self._lowerer, self._exprs, self._env = L, exprs, env
        self._values: dict[int, ir.Value] = {}

    def __len__(self) -> int:
        return len(self._exprs)

    def __getitem__(self, k: int) -> ir.Value:
        if k not in self._values:
            self._values[k] = self._lowerer.lower(self._exprs[k], self._env)
        return self._values[k]


def _cast(L: Lowerer, n: N.Cast, env) -> ir.Value:
    return cast(L, L.lower(n.expr, env), n.expr.ty, n.to)


def _ascribe(L: Lowerer, n: N.Ascribe, env) -> ir.Value:
    return L.lower(n.expr, env)


def _let(L: Lowerer, n: N.Let, env) -> ir.Value:
    if isinstance(n.value, N.Lambda):
        value = LambdaValue(n.value, env)
    else:
        value = L.lower(n.value, env)
        for block in L.frees_after.pop(id(n), ()):
            L.free(block)
        # Evaluated once, with the rest of its chain: a vector read for the last time by a
        # later let of the chain is freed right after that let's value.
        if L.straight_line and not L.in_loop_body:
            reader = last_reader(n)
            if reader is not None:
                L.frees_after.setdefault(id(reader), []).append(L.builder.extract_value(value, 0))
    return L.lower(n.body, {**env, n.name: value})


def _if(L: Lowerer, n: N.If, env) -> ir.Value:
    cond = L.truth(L.lower(n.cond, env))
    with L.entering_branch():
        then, else_ = (lambda: L.lower(n.then, env)), (lambda: L.lower(n.else_, env))
        return select_lazily(L.builder, cond, then, else_, "if")


def _apply(L: Lowerer, n: N.Apply, env) -> ir.Value:
    args = [L.lower(a, env) for a in n.args]
    if isinstance(n.func, N.Lambda):
        return L.apply_lambda(n.func, args, env)
    if isinstance(n.func, N.Ident) and isinstance(env.get(n.func.name), LambdaValue):
        bound = env[n.func.name]
        return L.apply_lambda(bound.node, args, bound.env)
    raise LoweringError("only lambdas can be applied", n.loc)


def _iterate(L: Lowerer, n: N.Iterate, env) -> ir.Value:
    b = L.builder

    def step(state: ir.Value) -> tuple[ir.Value, ir.Value]:
        out = L.apply_lambda(n.func, [state], env)
        check_interrupts(L, i64(1))  # a step may be short, but there may be no end of them
        # After a runtime error the code goes on with safe values, which may never end the
        # loop (`assert` gives true): stop iterating once an error is recorded.
        error = b.load(b.gep(L.ctx, [ir.Constant(I32, 0), ir.Constant(I32, 3)]))
        go_on = b.and_(L.truth(b.extract_value(out, 1)), b.icmp_signed("==", error, i64(0)))
        return b.extract_value(out, 0), go_on

    return do_while(b, L.lower(n.initial, env), step, "iterate")


def _sort(L: Lowerer, n: N.Sort, env) -> ir.Value:
    """A stable merge sort into a new buffer (algorithms.py); the comparator is inlined."""
    b = L.builder
    vec = L.lower(n.data, env)
    elem_ty = lltype(n.ty.elem)
    count = b.extract_value(vec, 1)
    data, spare = L.alloc_array(elem_ty, count), L.alloc_array(elem_ty, count)
    memcpy(b, data, b.extract_value(vec, 0), b.mul(count, sizeof(b, elem_ty)))

    def right_first(left: ir.Value, right: ir.Value) -> ir.Value:
        with L.entering_loop_body():  # loops inside the comparator run sequentially
            order = L.apply_lambda(n.func, [right, left], env)
        return b.icmp_signed("<", order, ir.Constant(order.type, 0))  # strictly less

    out = ir.Constant(lltype(n.ty), ir.Undefined)
    out = b.insert_value(out, merge_sort(L, data, spare, count, right_first), 0)
    return b.insert_value(out, count, 1)


def _cudf(L: Lowerer, n: N.CUDF, env) -> ir.Value:
    """Weld's convention: `void name(T1* a1, ..., R* out)`; the address comes from the UDF
    registry at compile time (a native function registered with its address)."""
    from ...runtime.udf import lookup_udf

    try:
        entry = lookup_udf(n.name)
    except KeyError:
        entry = None
    address = getattr(entry, "address", None)
    if not address:
        raise LoweringError(
            f"cudf[{n.name}]: no native function is registered under this name", n.loc
        )
    if entry.vector is not None:
        return _vector_cudf(L, n, env, entry)
    b = L.builder
    arg_slots = []
    for a in n.args:
        v = L.lower(a, env)
        slot = alloca_entry(b, v.type)
        b.store(v, slot)
        arg_slots.append(slot)
    out_ty = lltype(n.ty)
    out = alloca_entry(b, out_ty)
    fnty = ir.FunctionType(ir.VoidType(), [s.type for s in arg_slots] + [out.type])
    fn = b.inttoptr(i64(address), fnty.as_pointer())
    b.call(fn, [*arg_slots, out])
    return b.load(out)


def _vector_cudf(L: Lowerer, n: N.CUDF, env, entry) -> ir.Value:
    """A C function of the vector-library convention (`runtime.udf.VectorCall`): its vectors
    must have one length (a runtime error otherwise: the C function reads that many elements
    of each), the result vector is allocated for the run, and the function is called with
    the length, the data pointers and the scalars in its own parameter order."""
    call = entry.vector
    entry.check_call([a.ty for a in n.args], n.ty)
    b = L.builder
    values = iter([L.lower(a, env) for a in n.args])
    lowered = [next(values) if role in ("in", "scalar") else None for role in call.roles]
    vectors = [v for v, role in zip(lowered, call.roles, strict=True) if role == "in"]
    length = b.extract_value(vectors[0], 1)
    for v in vectors[1:]:
        same = b.icmp_signed("==", b.extract_value(v, 1), length)
        L.fail_unless(same, f"cudf[{n.name}]: its vectors have different lengths", n.loc)
    out_vec = None
    args, arg_types = [], []
    for role, t, v in zip(call.roles, call.types, lowered, strict=True):
        if role == "size":
            width = lltype(t)
            if width.width < 64:
                fits = b.icmp_signed("<=", length, i64((1 << (width.width - 1)) - 1))
                L.fail_unless(fits, f"cudf[{n.name}]: a vector too long for its size", n.loc)
                args.append(b.trunc(length, width))
            else:
                args.append(length)
            arg_types.append(width)
        elif role == "in":
            args.append(b.extract_value(v, 0))
            arg_types.append(lltype(t).as_pointer())
        elif role == "out":
            data = L.alloc_array(lltype(t), length)
            out_vec = b.insert_value(ir.Constant(vec_type(lltype(t)), ir.Undefined), data, 0)
            out_vec = b.insert_value(out_vec, length, 1)
            args.append(data)
            arg_types.append(data.type)
        else:
            args.append(v)
            arg_types.append(v.type)
    returns = ir.VoidType() if call.returns is None else lltype(call.returns)
    fn = b.inttoptr(i64(entry.address), ir.FunctionType(returns, arg_types).as_pointer())
    result = b.call(fn, args)
    return out_vec if out_vec is not None else result


def _unsupported_lambda(L: Lowerer, n: N.Lambda, env) -> ir.Value:
    raise LoweringError("a lambda is not a value; it can only be applied", n.loc)


_NODE_EMITTERS = NodeTable("llvm")  # tests/test_completeness.py: every node kind has one
_NODE_EMITTERS.update(
    {
        N.Literal: _literal,
        N.Ident: _ident,
        N.MakeVector: _make_vector,
        N.MakeStruct: _make_struct,
        N.GetField: _get_field,
        N.Op: _op,
        N.Cast: _cast,
        N.Ascribe: _ascribe,
        N.Let: _let,
        N.If: _if,
        N.Lambda: _unsupported_lambda,
        N.Apply: _apply,
        N.Iterate: _iterate,
        N.Sort: _sort,
        N.CUDF: _cudf,
        N.For: loops.lower_for,
        N.Merge: builders.lower_merge,
        N.Result: builders.lower_result,
        N.NewBuilder: builders.lower_new_builder,
    }
)

__all__ = ["Lowerer", "ErrorTable", "LambdaValue"]
