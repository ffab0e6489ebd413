"""The loop-body view (optimizer/loop_body.py) that vertical, consumer and gather fusion, dce
and presize share, and the scoped walk (optimizer/uses.py) the let-based passes share."""

from __future__ import annotations

import pytest

from daybreak.ir import nodes as N
from daybreak.ir.parser import parse_expr
from daybreak.ir.printer import format as format_ir
from daybreak.optimizer.loop_body import (
    MergePaths,
    field_bodies,
    map_value,
    merge_paths,
    peel_lets,
    splice,
    wrap_lets,
)
from daybreak.optimizer.memo import Facts
from daybreak.optimizer.uses import UseWalk, field_reads, rewrite_uses

B = N.Ident("b")


@pytest.mark.parametrize(
    "body, paths",
    [
        ("merge(b, x * 2.0)", MergePaths(merges=True, skips=False)),
        ("let y = x; if(y > 0.0, merge(b, y), b)", MergePaths(merges=True, skips=True)),
        ("if(x > 0.0, if(x > 1.0, merge(b, x), b), b)", MergePaths(merges=True, skips=True)),
        ("b", MergePaths(merges=False, skips=True)),
        ("merge(merge(b, x), x)", None),  # two merges on one path
        ("if(len(b) > 0L, b, b)", None),  # the condition reads the builder
        ("let c = b; merge(c, x)", None),  # a let touches the builder
        ("merge(b, f(b))", None),
    ],
)
def test_merge_paths(body, paths):
    assert merge_paths(parse_expr(body), B) == paths


def test_merge_paths_of_a_field_of_a_struct_of_builders():
    body = parse_expr("if(x > 0.0, merge(b.$1, x), b.$1)")
    assert merge_paths(body, N.GetField(B, 1)) == MergePaths(merges=True, skips=True)
    assert merge_paths(body, N.GetField(B, 0)) is None


def test_splice_puts_the_consumer_where_the_producer_merged():
    body = parse_expr("let y = x * 2.0; if(y > 0.0, merge(b, y), b)")
    spliced = splice(body, lambda v: N.Merge(N.Ident("s"), v), N.Ident("s"))
    assert format_ir(spliced) == format_ir(
        parse_expr("let y = x * 2.0; if(y > 0.0, merge(s, y), s)")
    )


def test_peel_lets_stops_at_a_let_that_touches_the_builder():
    body = parse_expr("let a = x; let c = b; let d = a; merge(c, d)")
    lets, rest = peel_lets(body, avoid="b")
    assert [let.name for let in lets] == ["a"]
    assert isinstance(rest, N.Let) and rest.name == "c"
    assert wrap_lets(*peel_lets(body)) == body


def test_map_value_and_field_bodies():
    func = parse_expr("|b: appender[f64], i: i64, x: f64| let y = x + 1.0; merge(b, y * y)")
    lets, value = map_value(func)
    assert [let.name for let in lets] == ["y"] and format_ir(value) == "y * y"
    assert map_value(parse_expr("|b, i, x| if(x > 0.0, merge(b, x), b)")) is None
    struct_body = parse_expr("let y = x; {merge(b.$0, y), merge(b.$1, x)}")
    lets, fields = field_bodies(struct_body, "b", 2)
    assert [let.name for let in lets] == ["y"] and len(fields.elems) == 2
    assert field_bodies(struct_body, "b", 3) is None


def test_use_walk_skips_where_the_name_is_rebound_and_knows_what_is_deferred():
    e = parse_expr("{x, if(c, x, 0L), |x: i64| x, (let x = 1L; x), c && x > 0L}")
    seen = [(type(n).__name__, w.strict, w.lambdas) for n, w in UseWalk("x", Facts()).nodes(e)]
    idents = [s for s in seen if s[0] == "Ident"]
    # the free uses: strict in the struct, deferred in a branch and right of `&&`; none under
    # the lambda or the let that bind another x
    assert idents == [("Ident", True, 0), ("Ident", False, 0), ("Ident", False, 0)]


def test_rewrite_uses_and_field_reads_follow_the_free_uses_only():
    e = parse_expr("{s.$0 + s.$1, |s: {i64, i64}| s.$0}")
    assert field_reads(e, "s", Facts()) == {0, 1}
    assert field_reads(parse_expr("{s.$0, s}"), "s", Facts()) is None

    def rename(node, _):
        return N.Ident("t") if isinstance(node, N.Ident) else None

    assert format_ir(rewrite_uses(e, "s", Facts(), rename)) == format_ir(
        parse_expr("{t.$0 + t.$1, |s: {i64, i64}| s.$0}")
    )
