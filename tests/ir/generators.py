"""Hypothesis strategies for random, well-typed daybreak IR programs and their inputs.

A library for property and differential tests (interpreter vs LLVM vs CUDA, optimizer passes):

    from hypothesis import given
    from tests.ir.generators import programs, values_difference

    @given(programs(typed=True, max_nodes=40))
    def test_llvm_agrees_with_interp(case):
        program, args = case                   # args: marshalled inputs (NumPy arrays, ...)
        expected = interp.compile(program)(*args)
        got = llvm.compile(program)(*args)
        assert values_difference(got, expected, program.body.ty) is None

`programs()` builds trees directly from node constructors (no text), type-directed: every node
is made for a type the generator chose, so it knows the type of every node (`typed=True` keeps
them in `node.ty`). Programs are safe to run: indices are brought into range, dictionary
lookups are guarded, loops and `iterate` are bounded, `assert` only checks tautologies, so a
correct implementation never raises on them (unless `allow_runtime_errors=True`).

Every vector parameter of one program has the same length, so the program may `zip` them and
index one by another's loop counter; a test that feeds other inputs must keep that invariant.

Shrinking: every choice puts its simplest option first (a literal before an operator, no
annotation before one), so failing programs shrink to small ones.

The library is split by topic; this module re-exports all of it:
`gen_types` (type strategies, the operator table), `gen_values` (input values, the marshalled-format
check, `values_equal`), `gen_loops` (loops and builders), `gen_mutants` (ill-typed mutants,
`strip_types`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cache

from hypothesis import strategies as st

from daybreak.ir.nodes import (
    Apply,
    Ascribe,
    Cast,
    Expr,
    GetField,
    Ident,
    If,
    Iterate,
    Lambda,
    Let,
    Literal,
    MakeStruct,
    MakeVector,
    NewBuilder,
    Param,
    Program,
    Result,
    Sort,
)
from daybreak.ir.ops import OPS
from daybreak.ir.printer import format as format_ir
from daybreak.ir.types import BOOL, I32, I64, Dict, Func, Scalar, Struct, Type, Vec

from .gen_loops import (
    LoopGen,
    Scope,
    builders_for,
    dict_value_ok,
    i64_lit,
    is_entry_struct,
    len_of,
    lit,
    op_node,
    safe_index,
)

# Re-exported: the library's public face (see __all__).
from .gen_mutants import (
    ill_typed_mutant,
    mutation_sites,
    strip_types,
)
from .gen_types import (
    OP_TABLE,
    dict_types,
    key_types,
    merge_types,
    op_result,
    param_types,
    scalar_types,
    types,
)
from .gen_values import (
    canonical,
    check_marshalled,
    float_values,
    scalar_values,
    structured_dtype,
    values,
    values_difference,
    values_equal,
)

# Identifiers that look like keywords, types, literals or hygienic macro names, to test lexers.
TRICKY_NAMES = (
    "letter",
    "iffy",
    "lookups",
    "merger_",
    "i8x",
    "f32_",
    "u64a",
    "infinity",
    "nanny",
    "true_",
    "falsey",
    "type_",
    "macro_",
    "result_",
    "for_",
    "zip_",
    "iterx",
    "len_",
    "e",
    "E",
    "x__",
    "_",
    "appenders",
    "tovec_",
    "L",
)

# Annotations the generator may attach (name, value-as-source-text); they must print back.
ANNOTATIONS = (("predicate", "true"), ("impl", "global"), ("loopsize", "100"), ("size", "8"))


@dataclass(frozen=True)
class GenConfig:
    """Knobs of `programs()`; every keyword of `programs()` is one of these."""

    max_depth: int = 4  # expression nesting
    max_nodes: int = 60  # past this many nodes, only leaves are generated
    max_len: int = 5  # length of the vector parameters
    max_params: int = 3
    max_type_depth: int = 2  # nesting of the result type and of let-bound values
    finite_floats: bool = False  # inputs and literals without NaN/inf
    float_bound: float | None = None  # |float| <= bound for inputs and literals
    annotations: bool = True  # sometimes attach @(name: value) annotations
    dicts: bool = True  # dictionary types and dict builders
    allow_runtime_errors: bool = False  # unguarded lookups and asserts that may fail
    untyped_lambda_params: bool = True  # may leave a lambda's parameter types to inference
    tricky_names: bool = True  # sometimes name variables like keywords (`letter`, `e5`, `x__3`)
    compare_dicts: bool = True  # `==`/`!=` between dictionaries


_ASCII = st.binary(max_size=6).map(lambda b: bytes(c & 0x7F for c in b))


@cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


class _Gen(LoopGen):
    """One program being drawn. Producers return an Expr of the requested type; the loop and
    builder producers come from LoopGen."""

    def __init__(self, draw, cfg: GenConfig):
        self.draw, self.cfg = draw, cfg
        self.nodes = 0
        self._ids = itertools.count()
        self.value_names: set[str] = {"x"}

    # -- choices (each shrinks toward its first / False option) --------------------------------

    def pick(self, options):
        return options[self.small(0, len(options) - 1)]

    def chance(self, p: float) -> bool:
        return self.small(0, 99) >= 100 - round(p * 100)

    def small(self, lo: int, hi: int) -> int:
        return self.draw(_integers(lo, hi))

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def var_name(self) -> str:
        """A fresh name for a value variable (let, lambda parameter, loop element)."""
        if self.cfg.tricky_names and self.chance(0.1):
            name = self.fresh(self.pick(TRICKY_NAMES))
        else:
            name = self.fresh("v")
        self.value_names.add(name)
        return name

    def shadow_or_fresh(self, scope: Scope) -> str:
        """Often a fresh name, sometimes one already bound here (shadowing it)."""
        shadowable = sorted(n for n in scope.vars if n in self.value_names)
        if shadowable and self.chance(0.3):
            return self.pick(shadowable)
        return self.var_name()

    def bid(self) -> int:
        return next(self._ids)

    def draw_type(self, depth: int | None = None) -> Type:
        d = self.cfg.max_type_depth if depth is None else depth
        return self.draw(types(max_depth=d, allow_dict=self.cfg.dicts))

    def note(self, e: Expr) -> Expr:
        """Count a node and maybe annotate it."""
        self.nodes += 1
        if self.cfg.annotations and self.chance(0.04):
            return replace(e, annotations=(self.pick(ANNOTATIONS),))
        return e

    # -- the entry point: an expression of type t ----------------------------------------------

    def expr(self, t: Type, scope: Scope, depth: int) -> Expr:
        leafy = depth <= 0 or self.nodes >= self.cfg.max_nodes
        options = self._leaves(t, scope)
        if not leafy:
            options += self._rich(t, scope)
        producer = self.pick(options)
        return self.note(producer(t, scope, depth - 1))

    def _leaves(self, t: Type, scope: Scope) -> list:
        out = [self.base]
        if scope.of_type(t):
            out += [self.var, self.var]
        if t == Vec(Scalar("i8")):
            out.append(self.string)
        return out

    def _rich(self, t: Type, scope: Scope) -> list:
        out = [self.let, self.if_, self.getfield, self.lookup_vec, self.apply_direct]
        if isinstance(t, Scalar):
            out += [self.operator] * 6 + [self.cast]
            if t == BOOL:
                out += [self.compare, self.dict_query, self.tautology]
            if t == I64:
                out.append(self.length)
        if isinstance(t, Vec):
            out += [self.base, self.slice, self.sort]
            if is_entry_struct(t.elem, self.cfg.dicts):
                out.append(self.tovec)
        if isinstance(t, Struct) and len(t.fields) == 2 and t.fields[0] == BOOL:
            if dict_value_ok(t.fields[1]) and self.cfg.dicts:
                out.append(self.optlookup)
        if t.is_value:
            out += [self.select, self.iterate, self.ascribe] + [self.result_loop] * 3
        if self.cfg.dicts and dict_value_ok(t):
            out.append(self.lookup_dict)
        if any(ft.ret == t for ft, _ in scope.funcs.values()):
            out.append(self.apply_bound)
        return out

    # -- leaves -----------------------------------------------------------------------------------

    def base(self, t: Type, scope: Scope, depth: int) -> Expr:
        """The plainest expression of type t: a literal, or a literal-like constructor."""
        if isinstance(t, Scalar):
            return self.literal(t)
        if isinstance(t, Vec):
            n = self.small(0, 3)
            elems = tuple(self.expr(t.elem, scope, depth) for _ in range(n))
            vec = MakeVector(elems, ty=t)
            # `[]` has no element type of its own: state it, as a user would.
            return vec if elems else Ascribe(vec, t, ty=t)
        if isinstance(t, Struct):
            return MakeStruct(tuple(self.expr(f, scope, depth) for f in t.fields), ty=t)
        if isinstance(t, Dict):
            spec = self.pick(builders_for(t))
            return Result(NewBuilder(spec, ty=spec), ty=t)
        raise AssertionError(f"no base expression for {t}")

    def literal(self, t: Scalar) -> Literal:
        return lit(self.draw(scalar_values(t, self.cfg.finite_floats, self.cfg.float_bound)), t)

    def var(self, t: Type, scope: Scope, depth: int) -> Expr:
        return Ident(self.pick(sorted(scope.of_type(t))), ty=t)

    def string(self, t: Type, scope: Scope, depth: int) -> Expr:
        data = self.draw(_ASCII)
        return Literal(data, t, ty=t)

    # -- scalars ----------------------------------------------------------------------------------

    def operator(self, t: Scalar, scope: Scope, depth: int) -> Expr:
        choices = OP_TABLE.get(t)
        if not choices:
            return self.literal(t)
        name = self.pick(list(choices))
        arg_t = self.pick(choices[name])
        args = [self.expr(arg_t, scope, depth) for _ in range(OPS[name].arity)]
        return op_node(name, t, *args)

    def cast(self, t: Scalar, scope: Scope, depth: int) -> Expr:
        src = self.draw(scalar_types())
        return Cast(t, self.expr(src, scope, depth), ty=t)

    def compare(self, t: Type, scope: Scope, depth: int) -> Expr:
        """`a op b` on any value type (vectors and structs compare lexicographically)."""
        u = self.draw_type(1)
        if isinstance(u, Dict) and not self.cfg.compare_dicts:
            u = Vec(u.key)
        names = [
            n
            for n in ("==", "!=", "<", "<=", ">", ">=")
            if not (isinstance(u, Dict) and n not in ("==", "!="))
        ]
        name = self.pick(names)
        return op_node(name, BOOL, self.expr(u, scope, depth), self.expr(u, scope, depth))

    def length(self, t: Type, scope: Scope, depth: int) -> Expr:
        if self.cfg.dicts and self.chance(0.2):
            return len_of(self.expr(self.draw(dict_types(1)), scope, depth))
        return len_of(self.expr(Vec(self.draw_type(1)), scope, depth))

    def tautology(self, t: Type, scope: Scope, depth: int) -> Expr:
        if self.cfg.allow_runtime_errors:
            return op_node("assert", BOOL, self.expr(BOOL, scope, depth))
        vec = self.expr(Vec(self.draw(scalar_types())), scope, depth)
        cond = op_node(">=", BOOL, len_of(vec), i64_lit(0)) if self.chance(0.7) else lit(True, BOOL)
        return op_node("assert", BOOL, cond)

    def dict_query(self, t: Type, scope: Scope, depth: int) -> Expr:
        if not self.cfg.dicts:
            return self.literal(BOOL)
        dt = self.draw(dict_types(1))
        d, k = self.expr(dt, scope, depth), self.expr(dt.key, scope, depth)
        if self.chance(0.5):
            return op_node("keyexists", BOOL, d, k)
        return GetField(op_node("optlookup", Struct((BOOL, dt.value)), d, k), 0, ty=BOOL)

    # -- any type ---------------------------------------------------------------------------------

    def let(self, t: Type, scope: Scope, depth: int) -> Expr:
        if self.chance(0.2):
            return self.let_lambda(t, scope, depth)
        u = self.draw_type(min(depth, self.cfg.max_type_depth))
        value = self.expr(u, scope, depth)
        if self.chance(0.2):
            value = Ascribe(value, u, ty=u)  # `let x: T = e`
        name = self.shadow_or_fresh(scope)
        body = self.expr(t, scope.bind(name, u, self.bid()), depth)
        return Let(name, value, body, ty=t)

    def let_lambda(self, t: Type, scope: Scope, depth: int) -> Expr:
        params = tuple(Param(self.var_name(), self.draw_type(1)) for _ in range(self.small(1, 2)))
        ret = t if self.chance(0.7) else self.draw_type(1)
        inner = scope
        for p in params:
            inner = inner.bind(p.name, p.type, self.bid())
        func_t = Func(tuple(p.type for p in params), ret)
        lam = Lambda(params, self.expr(ret, inner, depth), ty=func_t)
        name = self.fresh("g")
        body = self.expr(t, scope.bind_func(name, func_t, self.bid()), depth)
        return Let(name, lam, body, ty=t)

    def apply_bound(self, t: Type, scope: Scope, depth: int) -> Expr:
        name = self.pick(sorted(n for n, (ft, _) in scope.funcs.items() if ft.ret == t))
        ft = scope.funcs[name][0]
        args = tuple(self.expr(p, scope, depth) for p in ft.params)
        return Apply(Ident(name, ty=ft), args, ty=t)

    def apply_direct(self, t: Type, scope: Scope, depth: int) -> Expr:
        u = self.draw_type(1)
        typed = not self.cfg.untyped_lambda_params or self.chance(0.7)
        p = Param(self.var_name(), u if typed else None)
        body = self.expr(t, scope.bind(p.name, u, self.bid()), depth)
        lam = Lambda((p,), body, ty=Func((u,), t))
        return Apply(lam, (self.expr(u, scope, depth),), ty=t)

    def if_(self, t: Type, scope: Scope, depth: int) -> Expr:
        c = self.expr(BOOL, scope, depth)
        return If(c, self.expr(t, scope, depth), self.expr(t, scope, depth), ty=t)

    def select(self, t: Type, scope: Scope, depth: int) -> Expr:
        c = self.expr(BOOL, scope, depth)
        return op_node("select", t, c, self.expr(t, scope, depth), self.expr(t, scope, depth))

    def ascribe(self, t: Type, scope: Scope, depth: int) -> Expr:
        return Ascribe(self.expr(t, scope, depth), t, ty=t)

    def getfield(self, t: Type, scope: Scope, depth: int) -> Expr:
        others = [self.draw_type(1) for _ in range(self.small(0, 2))]
        k = self.small(0, len(others))
        st_t = Struct((*others[:k], t, *others[k:]))
        return GetField(self.expr(st_t, scope, depth), k, ty=t)

    def lookup_vec(self, t: Type, scope: Scope, depth: int) -> Expr:
        """`lookup(v, i)` with i in range: a loop counter known to fit, or a guarded modulus."""
        vt = Vec(t)
        names = scope.of_type(vt)
        if names and self.chance(0.7):
            name = self.pick(sorted(names))
            return self._index(Ident(name, ty=vt), t, scope, depth)
        tmp = self.fresh("t")
        value = self.expr(vt, scope, depth)
        inner = scope.bind(tmp, vt, self.bid())
        return Let(tmp, value, self._index(Ident(tmp, ty=vt), t, inner, depth), ty=t)

    def _index(self, vec: Ident, t: Type, scope: Scope, depth: int) -> Expr:
        counters = scope.safe_counters(vec.name)
        if counters and self.chance(0.6):
            i = Ident(self.pick(sorted(counters)), ty=I64)
            idx = Cast(I32, i, ty=I32) if self.chance(0.2) else i
            return op_node("lookup", t, vec, idx)
        raw = self.expr(self.pick([I64, I32, Scalar("u8"), Scalar("i16")]), scope, depth)
        if self.cfg.allow_runtime_errors:
            return op_node("lookup", t, vec, raw)
        idx = safe_index(raw, vec)
        return If(
            op_node(">", BOOL, len_of(vec), i64_lit(0)),
            op_node("lookup", t, vec, idx),
            self.expr(t, scope, depth),
            ty=t,
        )

    def lookup_dict(self, t: Type, scope: Scope, depth: int) -> Expr:
        """`lookup(d, k)` guarded by `keyexists`, or `optlookup(d, k).$1`."""
        dt = Dict(self.draw(key_types()), t)
        d, k = self.expr(dt, scope, depth), self.expr(dt.key, scope, depth)
        if self.chance(0.4):
            return GetField(op_node("optlookup", Struct((BOOL, t)), d, k), 1, ty=t)
        if self.cfg.allow_runtime_errors:
            return op_node("lookup", t, d, k)
        tmp = self.fresh("t")
        inner = scope.bind(tmp, dt, self.bid())
        ident = Ident(tmp, ty=dt)
        guarded = If(
            op_node("keyexists", BOOL, ident, k),
            op_node("lookup", t, ident, k),
            self.expr(t, inner, depth),
            ty=t,
        )
        return Let(tmp, d, guarded, ty=t)

    def optlookup(self, t: Struct, scope: Scope, depth: int) -> Expr:
        dt = Dict(self.draw(key_types()), t.fields[1])
        return op_node("optlookup", t, self.expr(dt, scope, depth), self.expr(dt.key, scope, depth))

    def iterate(self, t: Type, scope: Scope, depth: int) -> Expr:
        """`iterate({init, 0L}, |s| let v = s.$0; {{step, s.$1 + 1L}, s.$1 + 1L < k}).$0`."""
        state_t = Struct((t, I64))
        s, v = self.fresh("s"), self.var_name()
        s_id = Ident(s, ty=state_t)
        inner = scope.bind(s, state_t, self.bid())
        inner_v = inner.bind(v, t, self.bid())
        count = op_node("+", I64, GetField(s_id, 1, ty=I64), i64_lit(1))
        step = MakeStruct((self.expr(t, inner_v, depth), count), ty=state_t)
        more = op_node("<", BOOL, count, i64_lit(self.small(1, 4)))
        body = Let(
            v,
            GetField(s_id, 0, ty=t),
            MakeStruct((step, more), ty=Struct((state_t, BOOL))),
            ty=Struct((state_t, BOOL)),
        )
        typed = not self.cfg.untyped_lambda_params or self.chance(0.5)
        param = Param(s, state_t if typed else None)
        lam = Lambda((param,), body, ty=Func((state_t,), Struct((state_t, BOOL))))
        init = MakeStruct((self.expr(t, scope, depth), i64_lit(0)), ty=state_t)
        return GetField(Iterate(init, lam, ty=state_t), 0, ty=t)

    # -- vectors ----------------------------------------------------------------------------------

    def slice(self, t: Vec, scope: Scope, depth: int) -> Expr:
        ints = [I64, I32, Scalar("i8")]
        start = self.expr(self.pick(ints), scope, depth)
        size = self.expr(self.pick(ints), scope, depth)
        return op_node("slice", t, self.expr(t, scope, depth), start, size)

    def sort(self, t: Vec, scope: Scope, depth: int) -> Expr:
        a, b = self.fresh("l"), self.fresh("r")
        ka, kb = _sort_key(Ident(a, ty=t.elem)), _sort_key(Ident(b, ty=t.elem))
        if ka is None:
            return self.base(t, scope, depth)
        if self.chance(0.3):
            ka, kb = kb, ka  # descending
        cmp = op_node(
            "select",
            I32,
            op_node("<", BOOL, ka, kb),
            lit(-1, I32),
            op_node("select", I32, op_node("<", BOOL, kb, ka), lit(1, I32), lit(0, I32)),
        )
        typed = not self.cfg.untyped_lambda_params or self.chance(0.5)
        params = (Param(a, t.elem if typed else None), Param(b, t.elem if typed else None))
        lam = Lambda(params, cmp, ty=Func((t.elem, t.elem), I32))
        return Sort(self.expr(t, scope, depth), lam, ty=t)

    def tovec(self, t: Vec, scope: Scope, depth: int) -> Expr:
        k, v = t.elem.fields
        return op_node("tovec", t, self.expr(Dict(k, v), scope, depth))


def _sort_key(e: Expr) -> Expr | None:
    """An integer-valued key of e, so the comparator is a strict weak order (no NaN)."""
    t = e.ty
    if isinstance(t, Scalar):
        return Cast(I64, e, ty=I64) if t.is_float else e
    if isinstance(t, Struct):
        for k, f in enumerate(t.fields):
            key = _sort_key(GetField(e, k, ty=f))
            if key is not None:
                return key
        return None
    if isinstance(t, Vec):
        return len_of(e)
    return None


# ----------------------------------------------------------------------------------------------
# The public strategies.


@st.composite
def programs(
    draw,
    *,
    typed: bool = False,
    result_type: Type | None = None,
    config: GenConfig | None = None,
    **knobs,
):
    """(Program, args): a random well-typed program and inputs for it, marshalled as
    docs/ir.md "From Python" says (NumPy arrays of the exact dtype, tuples, dicts).

    `knobs` are GenConfig fields (max_depth, max_nodes, max_len, ...). With `typed=True` every
    node's `ty` holds the type the generator built it for (otherwise `ty` is None everywhere,
    as after parsing). `result_type` (a value type) fixes the type of the body.
    """
    cfg = replace(config or GenConfig(), **knobs)
    gen = _Gen(draw, cfg)
    n_params = draw(st.integers(0, cfg.max_params))
    params = tuple(Param(f"p{k}", draw(param_types())) for k in range(n_params))
    scope = Scope({}, {})
    for p in params:
        scope = scope.bind(p.name, p.type, gen.bid())
    t = result_type if result_type is not None else gen.draw_type()
    body = gen.expr(t, scope, cfg.max_depth)
    program = Program(params, body)
    if not typed:
        program = Program(params, strip_types(body))
    length = draw(st.integers(0, cfg.max_len))
    args = tuple(draw(values(p.type, length, cfg.finite_floats, cfg.float_bound)) for p in params)
    return program, args


def programs_text(**kwargs):
    """(text, args): `programs(**kwargs)` printed with daybreak.ir.printer.format."""
    return programs(**kwargs).map(lambda case: (format_ir(case[0]), case[1]))


__all__ = [
    "GenConfig",
    "programs",
    "programs_text",
    "types",
    "scalar_types",
    "param_types",
    "key_types",
    "merge_types",
    "dict_types",
    "values",
    "scalar_values",
    "values_equal",
    "values_difference",
    "check_marshalled",
    "strip_types",
    "ill_typed_mutant",
    "mutation_sites",
    "OP_TABLE",
    "op_result",
    "canonical",
    "float_values",
    "structured_dtype",
]
