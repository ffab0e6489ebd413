"""The pipeline: the pass table, passes_off, the report, db.optimize / db.explain, and fusion
checked structurally (how many loops run over the data)."""

from __future__ import annotations

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.interp import InterpBackend
from daybreak.ir.nodes import For
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck
from daybreak.optimizer import PASS_NAMES, PASSES, OptimizeReport, data_passes, optimize
from daybreak.optimizer.pipeline import OptimizerError, Pass, _run_pass

FIVE_MAPS_AND_SUM = """|v: vec[f64]|
let a = map(v, |x| x + 1.0);
let b = map(a, |x| x * 2.0);
let c = map(b, |x| x - 3.0);
let d = map(c, |x| x * x);
let e = map(d, |x| x / 4.0);
result(for(e, merger[f64,+], |s, i, x| merge(s, x)))"""

MULTI_OUTPUT = """|x: vec[f64]|
{result(for(x, merger[f64,+], |b, i, e| merge(b, e))),
 result(for(x, merger[f64,max], |b, i, e| merge(b, e))),
 map(x, |e| e * 2.0)}"""

MAP_FILTER_REDUCE = """|v: vec[f64]|
let t = map(v, |x| x * 2.0);
let f = filter(t, |x| x > 1.0);
{result(for(f, merger[f64,+], |s, i, x| merge(s, x))),
 result(for(f, merger[f64,max], |s, i, x| merge(s, x))), map(v, |x| x + 1.0)}"""

_interp = InterpBackend()


def _same_results(text: str, *args):
    program = parse(text)
    expected = _interp.compile(program)(*args)
    got = _interp.compile(optimize(program, verify=True))(*args)
    if isinstance(expected, tuple):
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e)
    else:
        np.testing.assert_allclose(got, expected)


def test_five_maps_and_a_sum_become_one_loop():
    program = parse(FIVE_MAPS_AND_SUM)
    assert data_passes(program) == 6
    optimized = optimize(program, verify=True)
    assert data_passes(optimized) == 1
    assert sum(isinstance(n, For) for n in optimized.body.walk()) == 1
    _same_results(FIVE_MAPS_AND_SUM, np.linspace(-3, 3, 11))


def test_sum_max_and_map_from_one_pass():
    assert data_passes(optimize(parse(MULTI_OUTPUT), verify=True)) == 1
    _same_results(MULTI_OUTPUT, np.array([3.0, -1.0, 2.5]))


def test_map_filter_two_reductions_and_a_map_from_one_pass():
    assert data_passes(optimize(parse(MAP_FILTER_REDUCE), verify=True)) == 1
    _same_results(MAP_FILTER_REDUCE, np.array([3.0, -1.0, 2.5, 0.25]))


def test_horizontal_fusion_can_be_switched_off():
    program = parse(MULTI_OUTPUT)
    assert data_passes(optimize(program, passes_off={"fuse_horizontal"})) == 3
    before = db.config(passes_off={"fuse_horizontal"})
    try:
        # the setting is the public API's: the optimizer itself only takes arguments
        assert data_passes(optimize(program)) == 1
        assert data_passes(db.optimize(program)) == 3
    finally:
        db.config(**before)
    assert data_passes(db.optimize(program)) == 1


def test_vertical_fusion_off_keeps_the_loops():
    program = parse(FIVE_MAPS_AND_SUM)
    assert data_passes(optimize(program, passes_off={"fuse_vertical"})) == 6


def test_unknown_pass_names_are_errors():
    with pytest.raises(ValueError, match="unknown passes"):
        optimize(parse("|x: i32| x"), passes_off={"fuse_everything"})
    with pytest.raises(TypeError):
        db.config(passes_off="fold")


def test_report_counts_runs_fired_and_time():
    report = OptimizeReport(parse(FIVE_MAPS_AND_SUM))
    optimize(parse(FIVE_MAPS_AND_SUM), report=report)
    assert list(report.passes) == list(PASS_NAMES)
    assert {"inline", "fuse_vertical"} <= set(report.fired)
    final = {p.name for p in PASSES if p.final}
    assert final == {"hoist", "presize"}
    assert all(s.runs == report.rounds for n, s in report.passes.items() if n not in final)
    assert all(report.passes[n].runs == 1 for n in final)  # once, after the fixpoint
    assert all(s.seconds >= 0 for s in report.passes.values())
    assert report.after is not None and data_passes(report.after) == 1


def test_a_broken_pass_is_caught_by_the_verifier():
    from daybreak.ir.nodes import Literal, Program
    from daybreak.ir.types import F64

    broken = Pass("broken", lambda p: Program(p.params, Literal(1.0, F64)))
    program = optimize(parse("|x: i32| x + 1"))
    report = OptimizeReport(program)
    with pytest.raises(OptimizerError, match="signature"):
        _run_pass(broken, program, True, True, report)
    assert _run_pass(broken, program, True, False, report) is None  # dropped, not applied
    assert report.passes["broken"].rejected == 2


def test_optimize_keeps_types_and_parameters():
    program = parse(MULTI_OUTPUT)
    optimized = optimize(program)
    assert optimized.params == program.params
    assert all(n.ty is not None for n in optimized.body.walk())


def test_db_optimize_and_explain():
    out = db.explain(MULTI_OUTPUT)
    assert "== before (3 passes over the data) ==" in out
    assert "== after (1 pass over the data) ==" in out
    assert "fuse_horizontal  fired" in out
    assert db.ir.format(db.optimize("|x: i64| let y = x * 1L; y + 0L")) == "|x: i64| x"
    with pytest.raises(TypeError):
        db.optimize(42)


def test_explain_lists_passes_that_are_off():
    before = db.config(passes_off={"cse"})
    try:
        assert "cse              off" in db.explain("|x: i32| x")
    finally:
        db.config(**before)


def test_llvm_runs_the_optimised_program():
    v = np.linspace(-3, 3, 101)
    f = db.compile(FIVE_MAPS_AND_SUM, backend="llvm")
    expected = _interp.compile(parse(FIVE_MAPS_AND_SUM))(v)
    np.testing.assert_allclose(f(v), expected)
    g = db.compile(MAP_FILTER_REDUCE, backend="llvm")
    for got, want in zip(g(v), _interp.compile(parse(MAP_FILTER_REDUCE))(v), strict=True):
        np.testing.assert_allclose(got, want)


def test_a_pass_that_breaks_linearity_is_dropped(monkeypatch):
    """Without verify, linearity is checked once at the end; when a pass broke it, the passes
    run again checked one by one and the culprit's output is dropped."""
    from daybreak.ir.linearity import check_linear
    from daybreak.optimizer import pipeline

    bad = parse("|v: vec[i64]| let b = merger[i64,+]; let c = merge(b, 1L); result(merge(b, 2L))")
    assert check_linear(typecheck(bad))  # what the broken pass produces is not linear
    breaker = Pass("breaker", lambda p: bad)
    monkeypatch.setattr(pipeline, "PASSES", (*pipeline.PASSES, breaker))
    source = parse("|v: vec[i64]| result(for(v, merger[i64,+], |b, i, x| merge(b, x)))")
    report = OptimizeReport(source)
    out = optimize(source, verify=False, report=report)
    assert not check_linear(out)
    assert report.passes["breaker"].rejected >= 1 and report.passes["breaker"].fired == 0
    with pytest.raises(OptimizerError, match="not linear"):
        optimize(source, verify=True)
