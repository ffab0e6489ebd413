"""What each node kind declares about its children: the names bound around them and how often
they are evaluated (nodes.children_with_scope), and the walks built on it."""

from hypothesis import given, settings

from daybreak.ir import nodes as N
from daybreak.ir.nodes import Evaluation, binders, children_with_scope, walk_with_scope
from daybreak.ir.parser import parse, parse_expr
from daybreak.ir.substitute import free_vars

from .generators import programs

ONCE, MAYBE, PER_CALL = Evaluation.ONCE, Evaluation.MAYBE, Evaluation.PER_CALL

# One program with every node kind in it.
EVERY_KIND = """|v: vec[i64], d: dict[i64, f64]|
  let f = |a: i64| a * 2L;
  let s = result(for(v, merger[i64,+], |b, i, x| merge(b, f(x))));
  let t = sort(v, |p, q| i32(p - q));
  let n = iterate(0L, |k| {k + 1L, k < 3L && s > 0L});
  let w = cudf[twice, vec[i64]](v);
  if(keyexists(d, 1L), {f64(n): f64, lookup(d, 1L)}.$0, -1.0) + f64(len([s, n]) + len(t) + len(w))
"""


def _scopes(text: str):
    scoped = children_with_scope(parse_expr(text))
    return [(type(c.expr).__name__, c.binds, c.evaluation) for c in scoped]


def test_every_node_kind_declares_one_scope_per_child():
    program = parse(EVERY_KIND)
    seen = set()
    for node in program.body.walk():
        seen.add(type(node))
        scoped = children_with_scope(node)
        assert tuple(c.expr for c in scoped) == node.children()
    assert seen == set(N.NODE_KINDS), "EVERY_KIND needs a sample of each node kind"


def test_every_node_kind_that_binds_names_can_rename_them():
    # walks that rename binders (the optimizer's freshen and let inlining) rebuild nodes
    # with `rebuild(node, kids, rename=...)`, which asks the node kind where its names are
    seen = set()
    for node in parse(EVERY_KIND).body.walk():
        names = binders(node)
        if not names:
            continue
        seen.add(type(node))
        rename = {name: f"{name}_renamed" for name in names}
        renamed = N.rebuild(node, node.children(), rename=rename)
        assert binders(renamed) == tuple(rename.values()), type(node).__name__
        assert renamed.children() == node.children()
        assert N.rebuild(node, node.children(), rename={}) is node
    assert seen, "EVERY_KIND binds no names"


def test_binders_and_evaluation_of_each_kind():
    assert _scopes("let x = a; x") == [("Ident", (), ONCE), ("Ident", ("x",), ONCE)]
    assert _scopes("|x, y| x") == [("Ident", ("x", "y"), PER_CALL)]
    branch = ("Ident", (), MAYBE)
    assert _scopes("if(c, a, b)") == [("Ident", (), ONCE), branch, branch]
    assert _scopes("a && b") == [("Ident", (), ONCE), ("Ident", (), MAYBE)]
    assert _scopes("a || b") == [("Ident", (), ONCE), ("Ident", (), MAYBE)]
    assert _scopes("a & b") == [("Ident", (), ONCE), ("Ident", (), ONCE)]
    # a loop's function is a lambda: the lambda binds b, i, x and runs its body per element
    loop = parse_expr("for(v, appender[i64], |b, i, x| merge(b, x))")
    assert [c.evaluation for c in children_with_scope(loop)] == [ONCE, ONCE, ONCE]
    assert binders(loop) == () and binders(loop.func) == ("b", "i", "x")
    assert len(N.For.func_roles) == 3 and len(N.Iterate.func_roles) == 1
    assert len(N.Sort.func_roles) == 2


def test_walk_with_scope_sees_shadowing_and_outer_names():
    e = parse_expr("let x = x; |y| x + y + z")
    scoped = {(n.name, frozenset(b)) for n, b in walk_with_scope(e, frozenset({"z"}))
              if type(n) is N.Ident}  # fmt: skip
    assert scoped == {
        ("x", frozenset({"z"})),  # the value: before x is bound
        ("x", frozenset({"x", "y", "z"})),
        ("y", frozenset({"x", "y", "z"})),
        ("z", frozenset({"x", "y", "z"})),
    }
    assert free_vars(e) == {"x", "z"}


@settings(max_examples=60, deadline=None)
@given(programs(typed=True, max_depth=4, max_nodes=50, max_len=5))
def test_every_name_of_a_well_typed_program_is_bound_by_a_declared_binder(case):
    # The type checker accepted every name; if a node kind bound a name without declaring it,
    # the name would look free here.
    program, _ = case
    params = frozenset(p.name for p in program.params)
    for node, bound in walk_with_scope(program.body, params):
        if type(node) is N.Ident:
            assert node.name in bound
    assert free_vars(program.body) <= params
