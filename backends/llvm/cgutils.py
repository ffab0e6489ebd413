"""Small code-generation helpers: loops, entry-block allocas, intrinsics (Numba's cgutils idea)."""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir

from .layout import I1, I8, I64, VOIDPTR


def i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def to_bool(builder: ir.IRBuilder, flag: ir.Value) -> ir.Value:
    """An i1 condition as the IR's bool (i8 0/1)."""
    return builder.zext(flag, I8)


def truth(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    """The IR's bool (i8) as an i1 condition."""
    if value.type == I1:
        return value
    return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))


def alloca_entry(builder: ir.IRBuilder, ty: ir.Type, name: str = "") -> ir.AllocaInstr:
    """An alloca in the entry block, where LLVM's mem2reg can promote it to a register."""
    fn = builder.function
    entry = fn.entry_basic_block
    with builder.goto_block(entry):
        if entry.instructions:
            builder.position_before(entry.instructions[0])
        return builder.alloca(ty, name=name)


@contextmanager
def for_range(builder: ir.IRBuilder, count: ir.Value, name: str = "i"):
    """`for (i = 0; i < count; i++) { body }`; yields i (an i64)."""
    with for_range_until(builder, count, name) as (index, _):
        yield index


@contextmanager
def for_range_until(builder: ir.IRBuilder, count: ir.Value, name: str = "i"):
    """`for (i = 0; i < count; i++) { body }` that the body may leave early: yields (i, leave),
    where `leave(cond)` ends the loop when the i1 `cond` holds. After the with-block the
    builder is where the loop ends, whichever way it ended (a search's early exit)."""
    pre = builder.block
    cond_block = builder.append_basic_block(f"{name}.cond")
    body_block = builder.append_basic_block(f"{name}.body")
    end_block = builder.append_basic_block(f"{name}.end")
    builder.branch(cond_block)
    builder.position_at_end(cond_block)
    index = builder.phi(I64, name=name)
    index.add_incoming(i64(0), pre)
    builder.cbranch(builder.icmp_signed("<", index, count), body_block, end_block)
    builder.position_at_end(body_block)

    def leave(cond: ir.Value) -> None:
        go_on = builder.append_basic_block(f"{name}.on")
        builder.cbranch(cond, end_block, go_on)
        builder.position_at_end(go_on)

    yield index, leave
    nxt = builder.add(index, i64(1), name=f"{name}.next", flags=["nsw"])
    index.add_incoming(nxt, builder.block)
    builder.branch(cond_block)
    builder.position_at_end(end_block)


@contextmanager
def for_chunks(builder: ir.IRBuilder, count: ir.Value, chunk: int, name: str = "chunk"):
    """[0, count) in chunks of `chunk` (a power of two): yields (first, size) of each, the
    last one shorter. (A negative count, like for_range's, is no iterations.)"""
    assert chunk & (chunk - 1) == 0
    shift, size = ir.Constant(I64, chunk.bit_length() - 1), ir.Constant(I64, chunk)
    zero = ir.Constant(I64, 0)
    count = builder.select(builder.icmp_signed("<", count, zero), zero, count)
    partial = builder.icmp_unsigned("!=", builder.and_(count, ir.Constant(I64, chunk - 1)), zero)
    chunks = builder.add(builder.lshr(count, shift), builder.zext(partial, I64))
    with for_range(builder, chunks, name) as c:
        first = builder.shl(c, shift)
        left = builder.sub(count, first)
        yield first, builder.select(builder.icmp_unsigned("<", left, size), left, size)


@contextmanager
def while_loop(builder: ir.IRBuilder, condition, name: str = "while"):
    """`while (condition()) { body }`: `condition` emits the test (an i1) each time round."""
    cond_block = builder.append_basic_block(f"{name}.cond")
    body_block = builder.append_basic_block(f"{name}.body")
    end_block = builder.append_basic_block(f"{name}.end")
    builder.branch(cond_block)
    builder.position_at_end(cond_block)
    builder.cbranch(condition(), body_block, end_block)
    builder.position_at_end(body_block)
    yield
    builder.branch(cond_block)
    builder.position_at_end(end_block)


def do_while(builder: ir.IRBuilder, initial: ir.Value, step, name: str = "do") -> ir.Value:
    """`state = initial; do { state, go_on = step(state) } while (go_on); return state`:
    `step` emits one round, given the state as a value, and returns the next state and an
    i1 that says whether to go round again."""
    before = builder.block
    body_block = builder.append_basic_block(f"{name}.body")
    end_block = builder.append_basic_block(f"{name}.done")
    builder.branch(body_block)
    builder.position_at_end(body_block)
    state = builder.phi(initial.type)
    state.add_incoming(initial, before)
    following, go_on = step(state)
    state.add_incoming(following, builder.block)
    builder.cbranch(go_on, body_block, end_block)
    builder.position_at_end(end_block)
    return following


def select_lazily(builder: ir.IRBuilder, cond: ir.Value, if_true, if_false, name: str = "sel"):
    """`cond ? if_true : if_false`, where a side given as a function (no arguments, returning
    the value) is emitted in its own block, only on the way that takes it; a side given as a
    value was computed before. Short-circuit logic, `if`, a comparison made only when both
    sides exist."""
    if not (callable(if_true) or callable(if_false)):
        return builder.select(cond, if_true, if_false)
    start = builder.block
    sides = [
        (side, builder.append_basic_block(f"{name}.{way}") if callable(side) else None)
        for side, way in ((if_true, "then"), (if_false, "else"))
    ]
    done = builder.append_basic_block(f"{name}.done")
    builder.cbranch(cond, *(block or done for _, block in sides))
    incoming = []
    for side, block in sides:
        if block is None:
            incoming.append((side, start))
            continue
        builder.position_at_end(block)
        value = side()
        incoming.append((value, builder.block))  # the side may have ended in another block
        builder.branch(done)
    builder.position_at_end(done)
    phi = builder.phi(incoming[0][0].type)
    for value, block in incoming:
        phi.add_incoming(value, block)
    return phi


def declare(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    """A function declaration (declared once per module)."""
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ret, args), name=name)


def _suffix(t: ir.Type) -> str:
    if isinstance(t, ir.IntType):
        return f"i{t.width}"
    return {"float": "f32", "double": "f64"}[str(t)]


def intrinsic(
    module: ir.Module, name: str, overloads: list[ir.Type], ret: ir.Type, args: list[ir.Type]
) -> ir.Function:
    """An overloaded LLVM intrinsic with an explicit signature: `llvm.minimum.f64`,
    `llvm.fptosi.sat.i32.f64` (llvmlite only knows the signatures of some)."""
    full = ".".join([name, *(_suffix(t) for t in overloads)])
    return declare(module, full, ret, args)


def memcpy(builder: ir.IRBuilder, dst: ir.Value, src: ir.Value, nbytes: ir.Value) -> None:
    fn = builder.module.declare_intrinsic("llvm.memcpy", [VOIDPTR, VOIDPTR, I64])
    builder.call(
        fn,
        [builder.bitcast(dst, VOIDPTR), builder.bitcast(src, VOIDPTR), nbytes, ir.Constant(I1, 0)],
    )


INT64_MAX = (1 << 63) - 1


def saturating(builder: ir.IRBuilder, op: str, x: ir.Value, y: ir.Value) -> ir.Value:
    """x op y ("add" or "mul", signed i64s) or, when it overflows, INT64_MAX: a size that
    overflowed stays too big to allocate (db_alloc refuses it) instead of wrapping round
    to a small one that the code would then write past."""
    emit = builder.sadd_with_overflow if op == "add" else builder.smul_with_overflow
    result = emit(x, y)
    overflowed = builder.extract_value(result, 1)
    return builder.select(overflowed, ir.Constant(I64, INT64_MAX), builder.extract_value(result, 0))


def sizeof(builder: ir.IRBuilder, ty: ir.Type) -> ir.Value:
    """The allocation size of `ty` as an i64 (getelementptr null, 1)."""
    null = ir.Constant(ty.as_pointer(), None)
    end = builder.gep(null, [ir.Constant(ir.IntType(32), 1)])
    return builder.ptrtoint(end, I64)
