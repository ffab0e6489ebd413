"""The public API: db.compile, db.ir.parse/format, db.register_udf."""

import numpy as np
import pytest

import daybreak as db
from daybreak.ir.errors import (
    ParseError,
    TypeCheckError,
    UnknownBackendError,
    UnsupportedError,
)


def test_compile_text_and_program_give_same_results():
    text = "|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x * x)))"
    v = np.array([1.0, 2.0, 3.0])
    assert db.compile(text)(v) == 14.0
    assert db.compile(db.ir.parse(text), backend="interp")(v) == 14.0


def test_parse_format_round_trip_public():
    p = db.ir.parse("|x: i32| x + 1")
    assert db.ir.parse(db.ir.format(p)) == p


def test_compile_reports_bad_programs_with_locations():
    with pytest.raises(ParseError) as info:
        db.compile("|x: i32| x +")
    assert "1:" in str(info.value)
    with pytest.raises(TypeCheckError):
        db.compile("|x: i32| x + 1.0")


def test_compile_rejects_other_objects():
    with pytest.raises(TypeError, match="Program or IR text"):
        db.compile(42)


def test_unknown_backend_is_a_clear_error():
    # the caller's mistake (a ValueError), not a backend gap (UnsupportedError) to fall back from
    with pytest.raises(UnknownBackendError, match="no such backend 'nope'") as info:
        db.compile("1", backend="nope")
    assert isinstance(info.value, ValueError) and not isinstance(info.value, UnsupportedError)


def test_wrong_arguments_name_the_parameter():
    f = db.compile("|v: vec[f64], n: i64| len(v) + n")
    with pytest.raises(TypeError):
        f(np.zeros(3))  # too few
    with pytest.raises(TypeError, match="'v'"):
        f(np.zeros(3, dtype=np.int32), 1)
    assert f(np.zeros(3), 2) == 5


def test_register_udf_is_called_by_cudf():
    db.register_udf("scale_by_two", lambda v: v * 2.0)
    try:
        f = db.compile("|v: vec[f64]| cudf[scale_by_two, vec[f64]](v)")
        np.testing.assert_array_equal(f(np.array([1.0, 2.5])), [2.0, 5.0])
    finally:
        db.unregister_udf("scale_by_two")


def test_a_dropped_optimizer_pass_is_counted_and_strict_refuses_it(monkeypatch):
    """A pass that raises (a bug in the pass) is dropped without verify, but never silently:
    the drop is a counted fallback with its reason, and an error under strict=True."""
    import daybreak.optimizer.pipeline as pipeline

    broken = pipeline.Pass("fold_broken", lambda program: 1 / 0)
    monkeypatch.setattr(pipeline, "PASSES", (broken, *pipeline.PASSES))
    monkeypatch.delenv("DAYBREAK_VERIFY_PASSES", raising=False)
    text = "|x: i64| x * 1L + 0L + 7L"  # a program no memo has seen in this test
    before = db.config()
    try:
        db.stats(reset=True)
        assert db.ir.format(db.optimize(text)) == "|x: i64| x + 7L"
        (reason,) = db.stats()["fallbacks"]
        assert "fold_broken" in reason and "ZeroDivisionError" in reason
        db.config(strict=True)
        with pytest.raises(pipeline.OptimizerError, match="fold_broken"):
            db.optimize(text)
    finally:
        db.config(**before)
