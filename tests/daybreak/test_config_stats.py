"""db.config, db.stats and counted fallbacks."""

import numpy as np
import pytest

import daybreak as db
from daybreak.ir.errors import LoweringError, UnsupportedError

PY_UDF = "|v: vec[f64]| cudf[py_double, vec[f64]](v)"


@pytest.fixture
def settings():
    before = db.config()
    yield
    db.config(**before)


def test_config_rejects_unknown_and_bad_values(settings):
    with pytest.raises(TypeError, match="unknown setting"):
        db.config(nope=1)
    with pytest.raises(ValueError, match="threads"):
        db.config(threads=0)


def test_fallback_is_counted_with_its_reason(settings):
    db.register_udf("py_double", lambda v: v * 2.0)
    try:
        db.stats(reset=True)
        f = db.compile(PY_UDF)  # llvm cannot call a Python function: runs on interp
        np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [2.0, 4.0])
        (reason,) = db.stats()["fallbacks"]
        assert reason.startswith("llvm -> interp") and "py_double" in reason
    finally:
        db.unregister_udf("py_double")


def test_strict_turns_fallbacks_into_errors(settings):
    db.register_udf("py_double", lambda v: v * 2.0)
    try:
        db.config(strict=True)
        with pytest.raises((UnsupportedError, LoweringError)):
            db.compile(PY_UDF)
    finally:
        db.unregister_udf("py_double")


def test_stats_count_compiles_and_reset(settings):
    db.stats(reset=True)
    db.compile("|x: i64| x * 7L + 1L", backend="llvm")
    s = db.stats()
    assert s["cache_misses"] + s["cache_disk_hits"] == 1
    assert s["compile_seconds"] > 0
    assert db.stats(reset=True)["cache_misses"] == s["cache_misses"]
    assert db.stats()["cache_misses"] == 0


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_results_do_not_depend_on_thread_count(settings, threads):
    rng = np.random.default_rng(1)
    v = rng.integers(-1000, 1000, 300_000)
    prog = (
        "|v: vec[i64]| {result(for(v, merger[i64,+], |b, i, x| merge(b, x * x))),"
        " result(for(v, appender[i64], |b, i, x| if(x % 7L == 0L, merge(b, i), b))),"
        " result(for(v, vecmerger[i64,+]([0L, 0L, 0L]), |b, i, x| merge(b, {i % 3L, x}))),"
        " result(for(v, merger[i64,min], |b, i, x| merge(b, x)))}"
    )
    db.config(threads=threads)
    total, idx, buckets, low = db.compile(prog, backend="llvm")(v)
    assert total == int((v * v).sum())
    np.testing.assert_array_equal(idx, np.flatnonzero(v % 7 == 0))
    np.testing.assert_array_equal(buckets, [v[k::3].sum() for k in range(3)])
    assert low == v.min()


@pytest.mark.parametrize("backend", ["llvm", "interp"])
def test_stats_count_runs_time_and_bytes(settings, backend):
    f = db.compile(
        "|v: vec[f64], k: i64| {result(for(v, appender[f64], |b, i, x| merge(b, x))), k}",
        backend=backend,
    )
    db.stats(reset=True)
    f(np.ones(100), 3)
    f(np.ones(50), 3)
    s = db.stats()
    assert s["runs"] == 2 and s["run_seconds"] > 0
    assert s["bytes_in"] == (800 + 8) + (400 + 8)
    assert s["bytes_out"] == (800 + 8) + (400 + 8)


def test_fallbacks_are_logged(settings, caplog):
    import logging

    from daybreak.runtime.stats import record_fallback

    with caplog.at_level(logging.INFO, logger="daybreak.fallback"):
        record_fallback("numpy: function median")
    assert [r.getMessage() for r in caplog.records] == ["fallback: numpy: function median"]
    assert db.stats()["fallbacks"]["numpy: function median"] >= 1
