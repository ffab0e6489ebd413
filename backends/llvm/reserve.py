"""Vectorisable appender merges: room reserved once per loop instead of checked per merge.

A merge into an appender checks the capacity and grows the buffer when it is full; that
conditional call keeps LLVM from vectorising the loop. When the body of a loop merges into
an appender of the loop's builder at most k times per iteration (counted on the source:
through `if` (the larger branch), `let`, struct literals and chained merges), the loop can
make room for k * (end - start) more elements before it starts, and those merges can store
without checking.

    for(v, {appender[f64](n), merger[f64,+]}, |b, i, x|
        {merge(b.$0, exp(x)), merge(b.$1, x)})        # b.$0: k = 1, reserved

Any other use of the builder inside the body (handed to an inner loop, a lambda, a
`result`) makes the loop keep its checked merges.
"""

from __future__ import annotations

from ...ir import nodes as N
from ...ir.types import Vec, VecMerger

Path = tuple[int, ...]  # field indexes from the loop's builder to one of its builders
MAX_PER_ITERATION = 8


class _Unknown(Exception):
    """The body uses the builder in a way the count does not follow."""


def reservable_merges(func: N.Lambda) -> dict[Path, tuple[int, list[N.Merge]]]:
    """{path: (k, merge nodes)} for the builders of a loop body `|b, i, x| ...` that get at
    most k merges per iteration, through exactly these Merge nodes; {} when unknown."""
    merges: dict[Path, list[N.Merge]] = {}
    try:
        counts = _count(func.body, {func.params[0].name: ()}, merges)
    except _Unknown:
        return {}
    return {p: (k, merges[p]) for p, k in counts.items() if k <= MAX_PER_ITERATION}


def guaranteed_merges(func: N.Lambda) -> dict[Path, int]:
    """{path: k} for the builders of a loop body that get at least k >= 1 merges on every way
    through it: a loop of n iterations appends at least k * n elements to them, so room for
    that many can be made before it starts without ever making too much (and a loop whose
    output cannot fit in memory fails at once, rather than after filling it)."""
    try:
        fewest = _count(func.body, {func.params[0].name: ()}, {}, fewest=True)
    except _Unknown:
        return {}
    return {p: k for p, k in fewest.items() if k >= 1}


def exact_merges(func: N.Lambda) -> frozenset[Path]:
    """The builder paths of a loop body that get exactly one merge on every way through it
    (a map, not a filter): the element of iteration i is then the i-th the loop appends."""
    most: dict[Path, list[N.Merge]] = {}
    try:
        at_most = _count(func.body, {func.params[0].name: ()}, most)
        at_least = _count(func.body, {func.params[0].name: ()}, {}, fewest=True)
    except _Unknown:
        return frozenset()
    return frozenset(p for p, k in at_most.items() if k == 1 and at_least.get(p) == 1)


def row_loop(func: N.Lambda) -> N.For | None:
    """The loop nested in a loop body `|b, i, x| let ...; for(iters, b, |c, j, y| ...)` that
    merges into the outer loop's appender `b` exactly once per iteration of its own, when that
    is all the body does with `b` (the lets before it do not mention it): a frontend's loop
    over the rows of a strided region, one row per iteration. Iteration i of the outer loop
    then appends exactly as many elements as the inner loop iterates; None otherwise."""
    outer = func.params[0].name
    body = func.body
    while isinstance(body, N.Let):
        if body.name == outer or _mentions(body.value, {outer: ()}):
            return None
        body = body.body
    if not (
        isinstance(body, N.For)
        and isinstance(body.builder, N.Ident)
        and body.builder.name == outer
        and not any(_mentions(e, {outer: ()}) for it in body.iters for e in it.children())
        and not _mentions(body.func, {outer: ()})
        and exact_merges(body.func) == frozenset({()})
    ):
        return None
    return body


def _path(e: N.Expr, env: dict[str, Path]) -> Path | None:
    """Which of the loop's builders `e` is (after merges into it), or None."""
    if isinstance(e, N.Ident):
        return env.get(e.name)
    if isinstance(e, N.GetField):
        if isinstance(e.expr, N.MakeStruct):  # `{.., x, ..}.$k` is x
            return _path(e.expr.elems[e.index], env)
        inner = _path(e.expr, env)
        return None if inner is None else (*inner, e.index)
    if isinstance(e, N.Merge):
        return _path(e.builder, env)
    return None


def _projection(e: N.Expr, env: dict[str, Path]) -> bool:
    """Whether `e` is one of the loop's builders reached by field reads alone (`b.$0.$1`):
    nothing in it merges."""
    while isinstance(e, N.GetField):
        e = e.expr
    return isinstance(e, N.Ident) and e.name in env


def _then(a: dict[Path, int], b: dict[Path, int]) -> dict[Path, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def _count(e: N.Expr, env: dict[str, Path], merges, fewest: bool = False) -> dict[Path, int]:
    """The most merges into each builder path on any one way through `e` (the fewest, with
    `fewest`)."""
    if isinstance(e, N.Ident | N.Literal):
        return {}
    if isinstance(e, N.GetField) and _projection(e, env):
        return {}
    if isinstance(e, N.Merge):
        # The builder operand is a local builder, or one of the loop's (possibly after
        # earlier merges into it, which the recursion counts).
        out = _then(_count(e.builder, env, merges, fewest), _count(e.value, env, merges, fewest))
        target = _path(e.builder, env)
        if target is not None:
            out[target] = out.get(target, 0) + 1
            merges.setdefault(target, []).append(e)
        elif _mentions(e.builder, env):
            # one of the loop's builders by a way `_path` does not follow (picked by an `if`):
            # a merge the counts would miss (a map that merges twice would look like one)
            raise _Unknown
        return out
    if isinstance(e, N.If):
        a, b = _count(e.then, env, merges, fewest), _count(e.else_, env, merges, fewest)
        pick = min if fewest else max
        branches = {k: pick(a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys()}
        return _then(_count(e.cond, env, merges, fewest), branches)
    if isinstance(e, N.Let):
        value = _count(e.value, env, merges, fewest)
        inner_env = {k: v for k, v in env.items() if k != e.name}
        alias = _path(e.value, env)
        if alias is not None:
            inner_env[e.name] = alias
        elif _mentions(e.value, env):
            # the loop's builders under a name by a way `_path` does not follow (a struct of
            # them, `let s = {merge(b.$0, x)}; merge(s.$0, y)`): merges the counts would miss
            raise _Unknown
        return _then(value, _count(e.body, inner_env, merges, fewest))
    if isinstance(e, N.For | N.Lambda | N.Iterate | N.Sort | N.Result | N.Apply | N.CUDF):
        if _mentions(e, env):
            raise _Unknown
        return {}
    out: dict[Path, int] = {}
    for child in e.children():
        out = _then(out, _count(child, env, merges, fewest))
    return out


def _mentions(e: N.Expr, env: dict[str, Path]) -> bool:
    """Whether `e` refers to any of the names in `env` (a binder inside `e` shadows them)."""
    return any(
        isinstance(x, N.Ident) and x.name in env and x.name not in bound
        for x, bound in N.walk_with_scope(e)
    )


# ----------------------------------------------------------------------------------------------
# Vecmerger merges and lookups at the loop's own position: checked once per loop instead of
# once per merge or read.

_NOT_A_POSITION = -1


def _position_source(index: N.Expr, i_param: str, x_param: str, rebound, ranges, sources):
    """Which position `index` is: None for the loop index `i`, k for the element of the
    `rangeiter` source k, `_NOT_A_POSITION` for anything else (or a name the body rebinds)."""
    if isinstance(index, N.Ident) and index.name == i_param and i_param not in rebound:
        return None
    if x_param in rebound:
        return _NOT_A_POSITION
    if isinstance(index, N.Ident) and index.name == x_param and sources == 1 and 0 in ranges:
        return 0
    if (
        isinstance(index, N.GetField)
        and isinstance(index.expr, N.Ident)
        and index.expr.name == x_param
        and index.index in ranges
    ):
        return index.index
    return _NOT_A_POSITION


def positional_vecmerges(
    func: N.Lambda, plan, range_sources: frozenset[int], sources: int
) -> list[tuple[Path, N.Merge, int | None]]:
    """The merges into vecmergers of the loop's builder whose index is the iteration's own
    position: the loop index `i` (None) or the element of a `rangeiter` source k (k):

        for(zip(iter(v, s, e, 1L), rangeiter(0L, n, 1L)), b, |b, i, x| merge(b, {x.$1, x.$0}))

    Their indexes over iterations [start, end) are known before the loop, so one check there
    replaces a check per merge (`loops.run_iterations`), and the loop can vectorise. `plan`
    is `reservable_merges(func)`; names the body rebinds are never taken for positions."""
    _, i_param, x_param = (p.name for p in func.params)
    rebound = {name for e in func.body.walk() for name in N.binders(e)}
    found = []
    for path, (_, merges) in plan.items():
        for m in merges:
            if not (
                isinstance(m.builder.ty, VecMerger)
                and isinstance(m.value, N.MakeStruct)
                and len(m.value.elems) == 2
            ):
                continue  # ({key, value} into a groupmerger or dictmerger is not a position)
            source = _position_source(
                m.value.elems[0], i_param, x_param, rebound, range_sources, sources
            )
            if source != _NOT_A_POSITION:
                found.append((path, m, source))
    return found


def positional_lookups(
    func: N.Lambda, range_sources: frozenset[int], sources: int
) -> list[tuple[N.Op, int | None]]:
    """The lookups `lookup(v, p)` in the loop's body of a vector `v` from outside the loop
    at the iteration's own position `p` (as `positional_vecmerges`: None for `i`, k for a
    `rangeiter` source), and where they are in the body does not matter (under an `if` too:
    the check before the loop only picks the copy of the loop that runs, and the checked
    copy fails where and as the program says). A broadcast operand read inside a reduction
    (`lookup(mean, o)`) is one: checked per element, the loop stays scalar."""
    params = {p.name for p in func.params}
    _, i_param, x_param = (p.name for p in func.params)
    rebound = {name for e in func.body.walk() for name in N.binders(e)}
    found = []
    for e in func.body.walk():
        if not (isinstance(e, N.Op) and e.op == "lookup" and isinstance(e.args[0], N.Ident)):
            continue
        vec = e.args[0]
        if not isinstance(vec.ty, Vec) or vec.name in rebound or vec.name in params:
            continue
        source = _position_source(e.args[1], i_param, x_param, rebound, range_sources, sources)
        if source != _NOT_A_POSITION:
            found.append((e, source))
    return found
