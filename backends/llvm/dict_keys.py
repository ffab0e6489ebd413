"""What a hash table needs of its keys, generated per key type: hashing, equality, a total
order and the canonical form (docs/ir.md, "Dictionaries").

Keys are equal when their values are, except that all NaNs are one key and -0.0 is the key 0.0;
`tovec` orders them with scalars ascending (NaN last) and structs and vectors lexicographically.
Each function is an internal LLVM function per key type (`db.hash.<tag>`, `db.keyeq.<tag>`,
`db.keycmp.<tag>`) that calls the functions of its parts; LLVM inlines them where that pays.

    >>> from daybreak.ir.types import F64, I32, Struct
    >>> tag(Struct((I32, F64)))
    '_i32_f64_.2466e6d1'
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

from llvmlite import ir

from ...ir.errors import LoweringError
from ...ir.types import Dict, Scalar, Struct, Type, Vec
from .cgutils import alloca_entry, declare, for_range, i64
from .layout import I1, I32, I64, VOIDPTR, lltype
from .runtime_ir import CTX_PTR


def _c64(value: int) -> ir.Constant:
    """An i64 constant from an unsigned 64-bit pattern (LLVM's text wants it signed)."""
    return i64(value - (1 << 64) if value >= 1 << 63 else value)


def tag(t: Type) -> str:
    """A name part for the functions of type `t`: readable, and unique through a checksum."""
    text = str(t)
    return f"{re.sub(r'[^A-Za-z0-9]', '_', text)}.{zlib.crc32(text.encode()):x}"


def function(L, name: str, ret: ir.Type, args: list[ir.Type], emit: Callable) -> ir.Function:
    """The module's internal function `name`, emitting its body with `emit(L, *args)` the
    first time. While the body is emitted, `L.builder` writes into it and `L.ctx` is its first
    argument when that is the run's context."""
    existing = L.module.globals.get(name)
    if existing is not None:
        return existing
    fn = ir.Function(L.module, ir.FunctionType(ret, args), name=name)
    fn.linkage = "internal"
    with L.emitting_into(fn, fn.args[0] if args and args[0] == CTX_PTR else None):
        emit(L, *fn.args)
    return fn


def contains(t: Type, kind: type) -> bool:
    """Whether a value of type `t` holds a `kind` (Scalar floats: pass `float`)."""
    if kind is float and isinstance(t, Scalar):
        return t.is_float
    if isinstance(t, kind):
        return True
    if isinstance(t, Struct):
        return any(contains(f, kind) for f in t.fields)
    if isinstance(t, Vec):
        return contains(t.elem, kind)
    if isinstance(t, Dict):
        return contains(t.key, kind) or contains(t.value, kind)
    return False


def check_key_type(t: Type, loc=None) -> None:
    if contains(t, Dict):
        raise LoweringError(f"the llvm backend cannot use {t} as a dictionary key", loc)


def _is_int_scalar(t: Type) -> bool:
    return isinstance(t, Scalar) and not t.is_float


def _int_bits(t: Scalar) -> int:
    return 8 if t.kind == "bool" else t.bits


# ----------------------------------------------------------------------------------------------
# Canonical keys: what a table stores.


def canonical(L, x: ir.Value, t: Type) -> ir.Value:
    """`x` with every float made canonical: one NaN, and 0.0 for -0.0. Vectors holding floats
    are copied (only when a new key is stored)."""
    b = L.builder
    if not contains(t, float):
        return x
    if isinstance(t, Scalar):
        nan = b.fcmp_unordered("uno", x, x)
        return b.select(nan, ir.Constant(x.type, float("nan")), b.fadd(x, ir.Constant(x.type, 0.0)))
    if isinstance(t, Struct):
        for i, f in enumerate(t.fields):
            x = b.insert_value(x, canonical(L, b.extract_value(x, i), f), i)
        return x
    data, n = b.extract_value(x, 0), b.extract_value(x, 1)
    copy = L.alloc_array(lltype(t.elem), n)
    with for_range(b, n, "canon") as i:
        b.store(canonical(L, b.load(b.gep(data, [i])), t.elem), b.gep(copy, [i]))
    return b.insert_value(x, copy, 0)


# ----------------------------------------------------------------------------------------------
# Hashing: murmur3's finaliser on scalars, murmur3's block mix over the bytes of integer
# vectors (strings), and a multiply-rotate fold for structs and other vectors.

_K1, _K2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
_GOLDEN = 0x9E3779B97F4A7C15


def _rotl(b: ir.IRBuilder, x: ir.Value, r: int) -> ir.Value:
    return b.or_(b.shl(x, i64(r)), b.lshr(x, i64(64 - r)))


def _fmix(b: ir.IRBuilder, h: ir.Value) -> ir.Value:
    h = b.xor(h, b.lshr(h, i64(33)))
    h = b.mul(h, _c64(0xFF51AFD7ED558CCD))
    h = b.xor(h, b.lshr(h, i64(33)))
    h = b.mul(h, _c64(0xC4CEB9FE1A85EC53))
    return b.xor(h, b.lshr(h, i64(33)))


def _mix_block(b: ir.IRBuilder, h: ir.Value, k: ir.Value) -> ir.Value:
    k = b.mul(_rotl(b, b.mul(k, _c64(_K1)), 31), _c64(_K2))
    h = _rotl(b, b.xor(h, k), 27)
    return b.add(b.mul(h, i64(5)), i64(0x52DCE729))


def _fold(b: ir.IRBuilder, h: ir.Value, part: ir.Value) -> ir.Value:
    return b.mul(b.xor(_rotl(b, h, 27), part), _c64(_GOLDEN))


def hash_value(L, x: ir.Value, t: Type) -> ir.Value:
    """An i64 hash of the key `x` (equal keys, in the sense above, hash alike)."""
    fn = function(L, f"db.hash.{tag(t)}", I64, [lltype(t)], lambda L, v: _emit_hash(L, v, t))
    return L.builder.call(fn, [x])


def _emit_hash(L, x: ir.Value, t: Type) -> None:
    b = L.builder
    if isinstance(t, Scalar):
        if t.is_float:
            x = b.bitcast(canonical(L, x, t), ir.IntType(t.bits))
        if x.type.width < 64:
            x = b.zext(x, I64)
        b.ret(_fmix(b, x))
    elif isinstance(t, Struct):
        h = _c64(_GOLDEN)
        for i, f in enumerate(t.fields):
            h = _fold(b, h, hash_value(L, b.extract_value(x, i), f))
        b.ret(_fmix(b, h))
    elif _is_int_scalar(t.elem):
        b.ret(_hash_bytes(L, x, _int_bits(t.elem) // 8))
    else:
        n = b.extract_value(x, 1)
        h = alloca_entry(b, I64)
        b.store(n, h)
        with for_range(b, n, "hash") as i:
            part = hash_value(L, b.load(b.gep(b.extract_value(x, 0), [i])), t.elem)
            b.store(_fold(b, b.load(h), part), h)
        b.ret(_fmix(b, b.load(h)))


def _hash_bytes(L, vec: ir.Value, elem_size: int) -> ir.Value:
    b = L.builder
    data = b.bitcast(b.extract_value(vec, 0), VOIDPTR)
    nbytes = b.mul(b.extract_value(vec, 1), i64(elem_size))
    words = b.lshr(nbytes, i64(3))
    h = alloca_entry(b, I64)
    b.store(_c64(_GOLDEN), h)
    with for_range(b, words, "word") as w:
        ptr = b.bitcast(b.gep(data, [b.shl(w, i64(3))]), I64.as_pointer())
        b.store(_mix_block(b, b.load(h), b.load(ptr, align=1)), h)
    tail = alloca_entry(b, I64)
    b.store(i64(0), tail)
    done = b.shl(words, i64(3))
    with for_range(b, b.sub(nbytes, done), "tail") as r:
        byte = b.zext(b.load(b.gep(data, [b.add(done, r)])), I64)
        b.store(b.or_(b.load(tail), b.shl(byte, b.shl(r, i64(3)))), tail)
    mixed = _mix_block(b, b.load(h), b.load(tail))
    return _fmix(b, b.xor(mixed, nbytes))


# ----------------------------------------------------------------------------------------------
# Equality of keys (NaN is NaN, -0.0 is 0.0).


def keys_equal(L, x: ir.Value, y: ir.Value, t: Type) -> ir.Value:
    """An i1: whether `x` and `y` are the same key."""
    ll = lltype(t)
    fn = function(L, f"db.keyeq.{tag(t)}", I1, [ll, ll], lambda L, a, c: _emit_equal(L, a, c, t))
    return L.builder.call(fn, [x, y])


def _emit_equal(L, x: ir.Value, y: ir.Value, t: Type) -> None:
    b = L.builder
    if isinstance(t, Scalar):
        if t.is_float:
            both_nan = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_unordered("uno", y, y))
            b.ret(b.or_(b.fcmp_ordered("==", x, y), both_nan))
        else:
            b.ret(b.icmp_unsigned("==", x, y))
        return
    differ = b.append_basic_block("differ")
    if isinstance(t, Struct):
        for i, f in enumerate(t.fields):
            same = keys_equal(L, b.extract_value(x, i), b.extract_value(y, i), f)
            nxt = b.append_basic_block("same")
            b.cbranch(same, nxt, differ)
            b.position_at_end(nxt)
    else:
        n = b.extract_value(x, 1)
        same_length = b.append_basic_block("same_length")
        b.cbranch(b.icmp_signed("==", n, b.extract_value(y, 1)), same_length, differ)
        b.position_at_end(same_length)
        if _is_int_scalar(t.elem):
            _equal_bytes(L, x, y, b.mul(n, i64(_int_bits(t.elem) // 8)), differ)
        else:
            with for_range(b, n, "eq") as i:
                xi = b.load(b.gep(b.extract_value(x, 0), [i]))
                yi = b.load(b.gep(b.extract_value(y, 0), [i]))
                nxt = b.append_basic_block("same")
                b.cbranch(keys_equal(L, xi, yi, t.elem), nxt, differ)
                b.position_at_end(nxt)
    b.ret(ir.Constant(I1, 1))
    b.position_at_end(differ)
    b.ret(ir.Constant(I1, 0))


def _equal_bytes(L, x, y, nbytes, differ) -> None:
    b = L.builder
    memcmp = declare(L.module, "memcmp", I32, [VOIDPTR, VOIDPTR, I64])
    compare = b.append_basic_block("memcmp")
    same = b.append_basic_block("same")
    b.cbranch(b.icmp_signed("==", nbytes, i64(0)), same, compare)
    b.position_at_end(compare)
    xs = b.bitcast(b.extract_value(x, 0), VOIDPTR)
    ys = b.bitcast(b.extract_value(y, 0), VOIDPTR)
    order = b.call(memcmp, [xs, ys, nbytes])
    b.cbranch(b.icmp_signed("==", order, ir.Constant(I32, 0)), same, differ)
    b.position_at_end(same)


# ----------------------------------------------------------------------------------------------
# The total order of keys for tovec: -1, 0 or 1 as an i32.


def compare_keys(L, x: ir.Value, y: ir.Value, t: Type) -> ir.Value:
    ll = lltype(t)
    fn = function(L, f"db.keycmp.{tag(t)}", I32, [ll, ll], lambda L, a, c: _emit_order(L, a, c, t))
    return L.builder.call(fn, [x, y])


def _three_way(b: ir.IRBuilder, less: ir.Value, greater: ir.Value) -> ir.Value:
    r = b.select(greater, ir.Constant(I32, 1), ir.Constant(I32, 0))
    return b.select(less, ir.Constant(I32, -1), r)


def _emit_order(L, x: ir.Value, y: ir.Value, t: Type) -> None:
    b = L.builder
    if isinstance(t, Scalar):
        if t.is_float:
            order = _three_way(b, b.fcmp_ordered("<", x, y), b.fcmp_ordered(">", x, y))
            x_nan, y_nan = b.fcmp_unordered("uno", x, x), b.fcmp_unordered("uno", y, y)
            one_nan = _three_way(b, y_nan, x_nan)  # a NaN goes last; two NaNs are one key
            b.ret(b.select(b.or_(x_nan, y_nan), one_nan, order))
        elif t.is_signed:
            b.ret(_three_way(b, b.icmp_signed("<", x, y), b.icmp_signed(">", x, y)))
        else:
            b.ret(_three_way(b, b.icmp_unsigned("<", x, y), b.icmp_unsigned(">", x, y)))
        return
    if isinstance(t, Struct):
        pairs = [(b.extract_value(x, i), b.extract_value(y, i), f) for i, f in enumerate(t.fields)]
        for xi, yi, f in pairs:
            _return_if_unequal(L, compare_keys(L, xi, yi, f))
        b.ret(ir.Constant(I32, 0))
        return
    nx, ny = b.extract_value(x, 1), b.extract_value(y, 1)
    shorter = b.select(b.icmp_signed("<", nx, ny), nx, ny)
    with for_range(b, shorter, "cmp") as i:
        xi = b.load(b.gep(b.extract_value(x, 0), [i]))
        yi = b.load(b.gep(b.extract_value(y, 0), [i]))
        _return_if_unequal(L, compare_keys(L, xi, yi, t.elem))
    b.ret(_three_way(b, b.icmp_signed("<", nx, ny), b.icmp_signed(">", nx, ny)))


def _return_if_unequal(L, order: ir.Value) -> None:
    b = L.builder
    unequal = b.append_basic_block("unequal")
    equal = b.append_basic_block("equal")
    b.cbranch(b.icmp_signed("!=", order, ir.Constant(I32, 0)), unequal, equal)
    b.position_at_end(unequal)
    b.ret(order)
    b.position_at_end(equal)


__all__ = [
    "canonical",
    "check_key_type",
    "compare_keys",
    "contains",
    "function",
    "hash_value",
    "keys_equal",
    "tag",
]
