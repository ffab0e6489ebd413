"""Lowering of typed IR programs to LLVM IR.

One emitter per node kind in `_NODE_EMITTERS`; operators go through `ops.OP_EMITTERS`; builders
through `builders.py`. The program becomes one function

    void entry(ctx*, args*, out*)

reading its parameters from the `args` struct and writing its result to `out`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from llvmlite import ir

from ...ir import nodes as N
from ...ir.errors import DaybreakError, IRError, Loc, LoweringError
from ...ir.types import Appender, Dict, Scalar, Struct, Type, Vec
from . import builders, dicts, loops
from .cgutils import alloca_entry, for_range, i64, memcpy, saturating, sizeof, truth
from .layout import I1, I8, I32, VOIDPTR, lltype, vec_type
from .ops import OP_EMITTERS, cast
from .runtime_interrupt import SORT_CHECK_PERIOD, check_interrupts, check_interrupts_every
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
    def __init__(self, module: ir.Module, errors: ErrorTable):
        self.module = module
        self.errors = errors
        self.runtime = declare_runtime(module)
        self.builder: ir.IRBuilder | None = None
        self.ctx: ir.Value | None = None
        self.loop_depth = 0  # > 0 inside a loop body: loops there run sequentially
        self.straight_line = True  # False inside if branches and applied lambdas
        self.unchecked_merges: frozenset[int] = frozenset()  # appender merges with room reserved
        self.frees_after: dict[int, list[ir.Value]] = {}  # id(let) -> blocks to free after it
        self._names: dict[str, int] = {}
        self.outlined: dict[tuple, tuple] = {}  # top-level loops' functions (loops.py)

    def fresh_name(self, prefix: str) -> str:
        """A symbol name unique in this module and the same on every compile of the program
        (the disk cache is keyed by the LLVM IR text)."""
        n = self._names.get(prefix, 0)
        self._names[prefix] = n + 1
        return f"{prefix}{n}"

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

    def declare(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        return ir.Function(self.module, ir.FunctionType(ret, args), name=name)

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

    def compare(self, op: str, a: ir.Value, b: ir.Value, t: Type) -> ir.Value:
        """An i1: `a op b` for values of type `t` (IEEE on floats, lexicographic on structs
        and vectors, with NaN making a pair unordered)."""
        bld = self.builder
        if isinstance(t, Scalar):
            if t.is_float:
                if op == "!=":
                    return bld.fcmp_unordered("!=", a, b)
                return bld.fcmp_ordered(op, a, b)
            if t.is_signed:
                return bld.icmp_signed(op, a, b)
            return bld.icmp_unsigned(op, a, b)
        if isinstance(t, Dict):
            # equal dicts have the same entries: compare the key-sorted entry vectors
            from . import dicts

            pairs = Vec(Struct((t.key, t.value)))
            return self.compare(op, dicts.tovec(self, a, t), dicts.tovec(self, b, t), pairs)
        order = self.three_way(a, b, t)  # i32: -1, 0, 1, or 2 when unordered
        c = ir.Constant(order.type, 0)
        two = ir.Constant(order.type, 2)
        if op == "!=":
            return bld.icmp_signed("!=", order, c)
        ordered = bld.icmp_signed("!=", order, two)
        return bld.and_(ordered, bld.icmp_signed(op, order, c))

    def three_way(self, a: ir.Value, b: ir.Value, t: Type) -> ir.Value:
        """-1, 0, 1 (or 2 when unordered) as an i32, comparing lexicographically."""
        bld = self.builder
        i32 = ir.IntType(32)
        if isinstance(t, Scalar):
            lt = self.compare("<", a, b, t)
            gt = self.compare(">", a, b, t)
            eq = self.compare("==", a, b, t)
            r = bld.select(lt, ir.Constant(i32, -1), ir.Constant(i32, 2))
            r = bld.select(gt, ir.Constant(i32, 1), r)
            return bld.select(eq, ir.Constant(i32, 0), r)
        result = alloca_entry(bld, i32)
        bld.store(ir.Constant(i32, 0), result)
        if isinstance(t, Struct):
            done = bld.append_basic_block("cmp.done")
            for i, ft in enumerate(t.fields):
                c = self.three_way(bld.extract_value(a, i), bld.extract_value(b, i), ft)
                bld.store(c, result)
                nxt = bld.append_basic_block("cmp.next")
                bld.cbranch(bld.icmp_signed("!=", c, ir.Constant(i32, 0)), done, nxt)
                bld.position_at_end(nxt)
            bld.branch(done)
            bld.position_at_end(done)
            return bld.load(result)
        if isinstance(t, Vec):
            na, nb = bld.extract_value(a, 1), bld.extract_value(b, 1)
            n = bld.select(bld.icmp_signed("<", na, nb), na, nb)
            index = alloca_entry(bld, i64(0).type)
            bld.store(i64(0), index)
            head = bld.append_basic_block("vcmp.head")
            body = bld.append_basic_block("vcmp.body")
            tail = bld.append_basic_block("vcmp.tail")
            done = bld.append_basic_block("vcmp.done")
            bld.branch(head)
            bld.position_at_end(head)
            i = bld.load(index)
            bld.cbranch(bld.icmp_signed("<", i, n), body, tail)
            bld.position_at_end(body)
            x = bld.load(bld.gep(bld.extract_value(a, 0), [i]))
            y = bld.load(bld.gep(bld.extract_value(b, 0), [i]))
            c = self.three_way(x, y, t.elem)
            bld.store(c, result)
            bld.store(bld.add(i, i64(1)), index)
            bld.cbranch(bld.icmp_signed("!=", c, ir.Constant(i32, 0)), done, head)
            bld.position_at_end(tail)
            longer = bld.select(
                bld.icmp_signed(">", na, nb), ir.Constant(i32, 1), ir.Constant(i32, 0)
            )
            shorter = bld.select(bld.icmp_signed("<", na, nb), ir.Constant(i32, -1), longer)
            bld.store(shorter, result)
            bld.branch(done)
            bld.position_at_end(done)
            return bld.load(result)
        raise LoweringError(f"the llvm backend cannot compare values of type {t}")

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
        saved, self.straight_line = self.straight_line, False
        try:
            return self.lower(lam.body, inner)
        finally:
            self.straight_line = saved


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
    if n.op in ("&&", "||"):
        return _short_circuit(L, n, env)
    emitter = _COLLECTION_OPS.get(n.op) or OP_EMITTERS.get(n.op)
    if emitter is None:
        raise LoweringError(f"the llvm backend cannot lower the operator {n.op}", n.loc)
    args = [L.lower(a, env) for a in n.args]
    types = [a.ty for a in n.args]
    if n.op in _COLLECTION_OPS:
        return emitter(L, n, args, types)
    return emitter(L, n.op, args, types, n.ty)


def _short_circuit(L: Lowerer, n: N.Op, env) -> ir.Value:
    b = L.builder
    left = L.lower(n.args[0], env)
    start = b.block
    rhs_block = b.append_basic_block("sc.rhs")
    done = b.append_basic_block("sc.done")
    if n.op == "&&":
        b.cbranch(L.truth(left), rhs_block, done)
    else:
        b.cbranch(L.truth(left), done, rhs_block)
    b.position_at_end(rhs_block)
    right = L.lower(n.args[1], env)
    rhs_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(I8)
    phi.add_incoming(ir.Constant(I8, 0 if n.op == "&&" else 1), start)
    phi.add_incoming(right, rhs_end)
    return phi


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
            L.builder.call(L.runtime["db_free"], [L.ctx, L.builder.bitcast(block, VOIDPTR)])
        if L.straight_line and L.loop_depth == 0:
            _free_after_last_use(L, n, value)
    return L.lower(n.body, {**env, n.name: value})


def _free_after_last_use(L: Lowerer, n: N.Let, value: ir.Value) -> None:
    """Free an intermediate vector right after the last let of the chain that reads it.

    Only a fresh block (the result of an appender, a vector literal, a sort) of scalars whose
    every use cannot let it escape (loop data, len, lookup of an element) and whose name is
    not rebound, and only when the chain's final expression does not use it.
    """
    if not (isinstance(n.value.ty, Vec) and isinstance(n.value.ty.elem, Scalar)):
        return
    fresh = isinstance(n.value, N.MakeVector | N.Sort) or (
        isinstance(n.value, N.Result) and isinstance(n.value.builder.ty, Appender)
    )
    if not fresh or not _only_reads(n.name, n.body):
        return
    chain, node = [], n.body
    while isinstance(node, N.Let):
        chain.append(node)
        node = node.body
    if _mentions(node, n.name):
        return  # the final expression reads it: it may be part of the result
    users = [let for let in chain if _mentions(let.value, n.name)]
    if users:
        L.frees_after.setdefault(id(users[-1]), []).append(L.builder.extract_value(value, 0))


def _mentions(expr: N.Expr, name: str) -> bool:
    return any(isinstance(x, N.Ident) and x.name == name for x in expr.walk())


def _only_reads(name: str, body: N.Expr) -> bool:
    """Every use of `name` in `body` reads the vector (loop data, len, lookup) and no binder
    in `body` rebinds the name."""
    uses = reads = 0
    for x in body.walk():
        if isinstance(x, N.Ident) and x.name == name:
            uses += 1
        elif isinstance(x, N.Let) and x.name == name:
            return False
        elif isinstance(x, N.Lambda) and any(p.name == name for p in x.params):
            return False
        elif isinstance(x, N.For):
            reads += sum(
                1 for it in x.iters if isinstance(it.data, N.Ident) and it.data.name == name
            )
        elif isinstance(x, N.Op) and x.op in ("len", "lookup"):
            first = x.args[0]
            reads += isinstance(first, N.Ident) and first.name == name
    return uses == reads


def _if(L: Lowerer, n: N.If, env) -> ir.Value:
    b = L.builder
    cond = L.truth(L.lower(n.cond, env))
    then_block = b.append_basic_block("if.then")
    else_block = b.append_basic_block("if.else")
    done = b.append_basic_block("if.done")
    b.cbranch(cond, then_block, else_block)
    saved, L.straight_line = L.straight_line, False  # a branch may not run
    b.position_at_end(then_block)
    then_value = L.lower(n.then, env)
    then_end = b.block
    b.branch(done)
    b.position_at_end(else_block)
    else_value = L.lower(n.else_, env)
    else_end = b.block
    L.straight_line = saved
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(then_value.type)
    phi.add_incoming(then_value, then_end)
    phi.add_incoming(else_value, else_end)
    return phi


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
    initial = L.lower(n.initial, env)
    pre = b.block
    head = b.append_basic_block("iterate.body")
    done = b.append_basic_block("iterate.done")
    b.branch(head)
    b.position_at_end(head)
    state = b.phi(initial.type)
    state.add_incoming(initial, pre)
    out = L.apply_lambda(n.func, [state], env)
    check_interrupts(L, i64(1))  # a step may be short, but there may be no end of them
    nxt = b.extract_value(out, 0)
    state.add_incoming(nxt, b.block)
    # After a runtime error the code goes on with safe values, which may never end the loop
    # (`assert` gives true): stop iterating once an error is recorded.
    error = b.load(b.gep(L.ctx, [ir.Constant(I32, 0), ir.Constant(I32, 3)]))
    go_on = b.and_(L.truth(b.extract_value(out, 1)), b.icmp_signed("==", error, i64(0)))
    b.cbranch(go_on, head, done)
    b.position_at_end(done)
    return nxt


def _sort(L: Lowerer, n: N.Sort, env) -> ir.Value:
    """A stable bottom-up merge sort into a new buffer; the comparator is inlined."""
    b = L.builder
    vec = L.lower(n.data, env)
    elem_ty = lltype(n.ty.elem)
    count = b.extract_value(vec, 1)
    size = sizeof(b, elem_ty)
    src = L.alloc_array(elem_ty, count)
    dst = L.alloc_array(elem_ty, count)
    memcpy(b, src, b.extract_value(vec, 0), b.mul(count, size))
    src_slot, dst_slot = alloca_entry(b, src.type), alloca_entry(b, dst.type)
    width_slot = alloca_entry(b, i64(0).type)
    b.store(src, src_slot)
    b.store(dst, dst_slot)
    b.store(i64(1), width_slot)
    pass_head = b.append_basic_block("sort.pass")
    pass_body = b.append_basic_block("sort.passbody")
    done = b.append_basic_block("sort.done")
    b.branch(pass_head)
    b.position_at_end(pass_head)
    width = b.load(width_slot)
    b.cbranch(b.icmp_signed("<", width, count), pass_body, done)
    b.position_at_end(pass_body)
    s, d = b.load(src_slot), b.load(dst_slot)
    runs = b.sdiv(b.add(count, b.sub(b.mul(width, i64(2)), i64(1))), b.mul(width, i64(2)))
    L.loop_depth += 1  # loops inside the comparator run sequentially
    with for_range(b, runs, "run") as r:
        lo = b.mul(r, b.mul(width, i64(2)))
        mid = _min_i64(b, b.add(lo, width), count)
        hi = _min_i64(b, b.add(mid, width), count)
        _merge_runs(L, n.func, env, s, d, lo, mid, hi)
    L.loop_depth -= 1
    b.store(d, src_slot)
    b.store(s, dst_slot)
    b.store(b.mul(width, i64(2)), width_slot)
    b.branch(pass_head)
    b.position_at_end(done)
    out = ir.Constant(lltype(n.ty), ir.Undefined)
    out = b.insert_value(out, b.load(src_slot), 0)
    return b.insert_value(out, count, 1)


def _min_i64(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _merge_runs(L, lam, env, src, dst, lo, mid, hi):
    """Merge src[lo:mid] and src[mid:hi] into dst[lo:hi], taking the left one on ties."""
    b = L.builder
    i_slot, j_slot = alloca_entry(b, i64(0).type), alloca_entry(b, i64(0).type)
    b.store(lo, i_slot)
    b.store(mid, j_slot)
    with for_range(b, b.sub(hi, lo), "k") as k:
        check_interrupts_every(L, b.add(lo, k), SORT_CHECK_PERIOD)
        i, j = b.load(i_slot), b.load(j_slot)
        left_live = b.icmp_signed("<", i, mid)
        right_live = b.icmp_signed("<", j, hi)
        left_done = b.not_(left_live)
        take_left_block = b.append_basic_block("sort.cmp")
        decide = b.append_basic_block("sort.decide")
        pre = b.block
        b.cbranch(b.and_(left_live, right_live), take_left_block, decide)
        b.position_at_end(take_left_block)
        x = b.load(b.gep(src, [i]))
        y = b.load(b.gep(src, [j]))
        order = L.apply_lambda(lam, [y, x], env)  # right before left only if strictly less
        right_first = b.icmp_signed("<", order, ir.Constant(order.type, 0))
        cmp_end = b.block
        b.branch(decide)
        b.position_at_end(decide)
        use_right = b.phi(I1)
        use_right.add_incoming(left_done, pre)
        use_right.add_incoming(right_first, cmp_end)
        src_index = b.select(use_right, j, i)
        b.store(b.load(b.gep(src, [src_index])), b.gep(dst, [b.add(lo, k)]))
        b.store(b.select(use_right, i, b.add(i, i64(1))), i_slot)
        b.store(b.select(use_right, b.add(j, i64(1)), j), j_slot)


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


# Collection operators that need the lowerer's memory and error helpers.


def _len(L: Lowerer, n: N.Op, args, types) -> ir.Value:
    if isinstance(types[0], Vec):
        return L.builder.extract_value(args[0], 1)
    return builders.dict_len(L, args[0], types[0])


def _lookup(L: Lowerer, n: N.Op, args, types) -> ir.Value:
    if not isinstance(types[0], Vec):
        return builders.dict_lookup(L, n, args, types)
    b = L.builder
    vec, index = args
    index = L.index_i64(index, types[1])
    length = b.extract_value(vec, 1)
    ok = b.icmp_unsigned("<", index, length)  # unsigned: negative indices are huge
    L.fail_unless(ok, "index out of bounds in lookup", n.loc)
    safe = b.select(ok, index, i64(0))
    # An empty vector has no element 0 either: load from a zeroed slot instead.
    slot = alloca_entry(b, lltype(n.ty))
    b.store(ir.Constant(lltype(n.ty), None), slot)
    ptr = b.select(ok, L.element_ptr(vec, safe), slot)
    return b.load(ptr)


def _slice(L: Lowerer, n: N.Op, args, types) -> ir.Value:
    b = L.builder
    vec = args[0]
    length = b.extract_value(vec, 1)
    # Clamp without overflow: negative signed bounds become 0, then every bound is compared
    # as unsigned (a u64 above i64's range is just large), and the size is clamped to the
    # room left after the start rather than added to it.
    start, size = (_non_negative(L, v, t) for v, t in zip(args[1:], types[1:], strict=True))
    start = _umin_i64(b, start, length)
    size = _umin_i64(b, size, b.sub(length, start))
    out = b.insert_value(vec, L.element_ptr(vec, start), 0)
    return b.insert_value(out, size, 1)


def _non_negative(L: Lowerer, value: ir.Value, t: Scalar) -> ir.Value:
    """An integer index as an i64 to be read as unsigned: negative signed values become 0."""
    value = L.index_i64(value, t)
    if not t.is_signed:
        return value
    b = L.builder
    return b.select(b.icmp_signed("<", value, i64(0)), i64(0), value)


def _umin_i64(b, x, y):
    return b.select(b.icmp_unsigned("<", x, y), x, y)


def _assert(L: Lowerer, n: N.Op, args, types) -> ir.Value:
    L.fail_unless(L.truth(args[0]), "assertion failed", n.loc)
    return ir.Constant(I8, 1)


_COLLECTION_OPS = {
    "len": _len,
    "lookup": _lookup,
    "slice": _slice,
    "assert": _assert,
    "optlookup": lambda L, n, args, types: builders.dict_optlookup(L, n, args, types),
    "keyexists": lambda L, n, args, types: builders.dict_keyexists(L, n, args, types),
    "tovec": lambda L, n, args, types: builders.dict_tovec(L, n, args, types),
}


def _unsupported_lambda(L: Lowerer, n: N.Lambda, env) -> ir.Value:
    raise LoweringError("a lambda is not a value; it can only be applied", n.loc)


_NODE_EMITTERS = {
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

__all__ = ["Lowerer", "ErrorTable", "LambdaValue"]
