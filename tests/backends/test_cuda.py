"""The CUDA backend against the reference interpreter.

Without a GPU (every CI run): each corpus program is lowered to CUDA C++; the kernels run in
the CPU emulation (backends/cuda/emulator.py: the same source compiled by g++, one host thread
per CUDA thread, real barriers and atomics) and must agree with the interpreter; the sources
compile with nvcc where it is installed. A program the backend does not lower must say why,
with a reason from `KNOWN_GAPS`: a construct that lowered before and stops lowering fails here.

With a GPU (CuPy and a device): the same corpus on the device.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings

import daybreak as db
from daybreak.backends.cuda import CudaBackend, CudaEmulatorBackend, _lower
from daybreak.backends.cuda.device import device_count
from daybreak.backends.cuda.emulator import available, build
from daybreak.backends.cuda.executable import CudaExecutable, EmulatedLauncher
from daybreak.backends.cuda.source import check_source, device_source
from daybreak.backends.interp import InterpBackend
from daybreak.ir.errors import LoweringError, UnsupportedError, WeldRuntimeError
from daybreak.ir.linearity import check_linear
from daybreak.ir.parser import parse
from daybreak.ir.printer import format as format_ir
from daybreak.ir.typecheck import typecheck

from ..ir.generators import programs, values_difference
from .corpus import CASES, Case
from .nvrtc import compile_ptx
from .test_llvm import _interp_result, assert_same

pytestmark = pytest.mark.skipif(not available(), reason="no C++ compiler for the emulation")

# What the backend does not lower yet (docs/cuda.md): scans (a scanner's merges run in order).
KNOWN_GAPS: list[str] = [r"^scanner\[\w+,[^\]]+\] is not supported by the cuda backend: scans run"]


def _known_gap(reason: str) -> bool:
    return any(re.search(p, reason) for p in KNOWN_GAPS)


@functools.cache
def _lowered():
    """(kernels by case name, gaps by case name) for the whole corpus."""
    kernels, gaps = {}, {}
    for case in CASES:
        try:
            kernels[case.name] = _lower(db.optimize(parse(case.text)))
        except UnsupportedError as gap:
            gaps[case.name] = str(gap)
    return kernels, gaps


@functools.cache
def _library():
    kernels, _ = _lowered()
    return build({_symbol(name): k for name, (_, k) in kernels.items()})


def _symbol(name: str) -> str:
    return "c_" + re.sub(r"\W", "_", name)


def _emulated(case: Case, blocks: int = 3, threads: int = 4) -> CudaExecutable:
    typed, kernel = _lowered()[0][case.name]
    function = getattr(_library(), f"db_emu_{_symbol(case.name)}")
    return CudaExecutable(typed, kernel, EmulatedLauncher(function, blocks, threads))


def _check(case: Case, f) -> None:
    want = _interp_result(case)
    inputs = copy.deepcopy(case.args)
    try:
        got = f(*inputs)
    except WeldRuntimeError as e:
        got = e
    assert_same(list(inputs), list(case.args), path="the inputs after the run")
    if case.error is not None:
        assert isinstance(got, WeldRuntimeError), f"cuda did not fail ({case.error}): {got!r}"
        assert got.loc is not None and got.loc == want.loc, f"{got} is not at {want.loc}"
        return
    assert not isinstance(got, WeldRuntimeError), f"cuda failed: {got}"
    assert_same(got, want, case.approx)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_emulated_kernels_match_interp(case: Case):
    kernels, gaps = _lowered()
    if case.name in gaps:
        assert _known_gap(gaps[case.name]), f"a new gap: {gaps[case.name]}"
        pytest.skip(f"not lowered: {gaps[case.name]}")
    _check(case, _emulated(case))


def test_most_of_the_corpus_is_lowered():
    kernels, gaps = _lowered()
    assert len(kernels) >= 250, f"{len(kernels)} of {len(CASES)} corpus programs lowered"


@pytest.mark.parametrize("grid", [(1, 1), (2, 5), (7, 3)])
def test_other_grids_agree(grid):
    """The split of iterations, the prefix sums and the block reductions on other grids
    (one thread; more threads than some loops have iterations)."""
    kernels, _ = _lowered()
    cases = [c for c in CASES if c.name in kernels and ("parallel" in c.needs or "iterate" in c.name
             or "filter" in c.name or "merger" in c.name)]  # fmt: skip
    assert len(cases) >= 20
    for case in cases:
        _check(case, _emulated(case, *grid))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_generated_sources_compile_with_nvcc(tmp_path):
    kernels, _ = _lowered()
    source = tmp_path / "corpus.cu"
    source.write_text(check_source({_symbol(n): k for n, (_, k) in kernels.items()}))
    done = subprocess.run(
        ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", str(source), "-o", str(tmp_path / "c.ptx")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "c.ptx").read_text().count(".entry") == len(kernels)


# ----------------------------------------------------------------------------------------------
# Random programs.

_interp = InterpBackend()
_emulator = CudaEmulatorBackend()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(typed=False, max_nodes=30, max_len=12))
def test_emulated_kernels_agree_on_random_programs(case):
    program, args = case
    text = format_ir(program)
    note(text)
    typed = typecheck(program)
    if check_linear(typed):
        with pytest.raises(LoweringError):
            _emulator.compile(program)
        return
    try:
        compiled = _emulator.compile(db.optimize(program))
    except UnsupportedError as gap:
        assert _known_gap(str(gap)), f"a new gap: {gap}\n{text}"
        return
    expected = _interp.compile(program)(*args)
    got = compiled(*args)
    difference = values_difference(got, expected, typed.body.ty, rtol=1e-9, atol=1e-12)
    assert difference is None, f"{difference}\n{text}"


@pytest.mark.skipif(compile_ptx is None, reason="no NVRTC (nvidia-cuda-nvrtc) or CUDA headers")
def test_generated_sources_compile_with_nvrtc():
    """What the device compiles: each program's own unit (`device_source`: its kernel by name,
    extern "C") for a few, and the whole corpus in one unit, through NVRTC itself."""
    kernels, _ = _lowered()
    for name in ("merger_i32_add_0", "zip_vectors", "sort_big_random"):
        assert ".entry db_program" in compile_ptx(device_source(kernels[name][1]))
    ptx = compile_ptx(check_source({_symbol(n): k for n, (_, k) in kernels.items()}))
    assert ptx.count(".entry") == len(kernels)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_random_program_sources_compile_with_nvcc(tmp_path):
    """The sources of hypothesis-generated programs, all in one unit, through nvcc."""
    kernels = {}

    @settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate])
    @given(programs(typed=False, max_nodes=30, max_len=12))
    def collect(case):
        program, _ = case
        try:
            kernels[f"r{len(kernels)}"] = _lower(db.optimize(program))[1]
        except (UnsupportedError, LoweringError):
            pass  # (non-linear programs; the property test above checks the gaps)

    collect()
    assert len(kernels) >= 20
    source = tmp_path / "random.cu"
    source.write_text(check_source(kernels))
    done = subprocess.run(
        ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", str(source), "-o", str(tmp_path / "r.ptx")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]


# ----------------------------------------------------------------------------------------------
# Errors and fallbacks.


def test_arena_grows_until_the_results_fit():
    """Results far larger than the first arena: the run is repeated with a bigger one."""
    f = db.compile(
        "|v: vec[i64]| result(for(v, appender[i64], |b, i, x| "
        "for(rangeiter(0L, x, 1L), b, |b2, j, y| merge(b2, y))))",
        backend="cuda-emu",
    )
    v = np.full(64, 20_000, dtype=np.int64)
    got = f(v)
    assert got.shape == (64 * 20_000,)
    assert np.array_equal(got, np.tile(np.arange(20_000), 64))


def test_wrong_arguments_raise_the_usual_errors():
    f = db.compile("|v: vec[f64], n: i64| len(v) + n", backend="cuda-emu")
    with pytest.raises(TypeError, match="parameter 'v'.*1-D array of float64, got int32"):
        f(np.arange(3, dtype=np.int32), 1)
    with pytest.raises(TypeError, match="parameter 'v'.*got list"):
        f([1.0, 2.0], 3)
    assert f(np.arange(6.0)[::2], 3) == 6  # (a strided view is made contiguous)


def test_without_a_device_cuda_falls_back_to_the_cpu_counted():
    if device_count() > 0:
        pytest.skip("a device is present")
    db.stats(reset=True)
    f = db.compile("|x: f64| x * 2.0", backend="cuda")
    assert f.backend == "llvm" and f(2.0) == 4.0
    assert any(r.startswith("cuda -> llvm") for r in db.stats()["fallbacks"])
    before = db.config(strict=True)
    try:
        with pytest.raises(UnsupportedError, match="cuda"):
            db.compile("|x: f64| x * 3.0", backend="cuda")
    finally:
        db.config(**before)


def test_a_construct_not_lowered_falls_back_to_the_cpu_counted():
    db.register_udf("cuda_test_twice", lambda x: 2 * x, ["i64"], "i64")
    db.stats(reset=True)
    f = db.compile("|x: i64| cudf[cuda_test_twice, i64](x)", backend="cuda-emu")
    assert f.backend != "cuda-emu" and f(4) == 8  # (llvm, or the interpreter after it)
    assert any(r.startswith("cuda-emu -> llvm: cudf") for r in db.stats()["fallbacks"])


# ----------------------------------------------------------------------------------------------
# On a device.

on_device = pytest.mark.skipif(device_count() == 0, reason="no CUDA device")
_device = CudaBackend()


@on_device
@settings(max_examples=200, deadline=None)
@given(programs(typed=False, max_nodes=40))
def test_device_agrees_on_random_programs(case):  # pragma: no cover - needs a GPU
    program, args = case
    typed = typecheck(program)
    note(format_ir(program))
    if check_linear(typed):
        return
    try:
        compiled = _device.compile(db.optimize(program))
    except UnsupportedError as gap:
        assert _known_gap(str(gap)), f"a new gap: {gap}"
        return
    expected = _interp.compile(program)(*args)
    difference = values_difference(compiled(*args), expected, typed.body.ty, rtol=1e-9, atol=1e-12)
    assert difference is None, difference


@on_device
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_device_matches_interp(case: Case):  # pragma: no cover - needs a GPU
    kernels, gaps = _lowered()
    if case.name in gaps:
        pytest.skip(f"not lowered: {gaps[case.name]}")
    before = db.config(strict=True)
    try:
        f = db.compile(case.text, backend="cuda")
    finally:
        db.config(**before)
    assert f.backend == "cuda"
    _check(case, f)


def test_the_device_benchmark_runs_emulated():
    """bench/cuda/run.py's programs and result checks, tiny and emulated (the device run is
    the benchmark; this keeps the script from going stale between device sessions)."""
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "bench" / "cuda" / "run.py"
    done = subprocess.run(
        [sys.executable, str(script), "--emulate"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| Black-Scholes, 2^12 |" in done.stdout and "| group-by sum" in done.stdout


@pytest.mark.parametrize("grid", ["1,1", "3,4", "7,3"])
def test_the_failure_reported_is_the_first_in_loop_order(grid, monkeypatch):
    """One site fails in every iteration from 100 on, another in iteration 50 only: threads
    meet the first site sooner in time, but the interpreter meets iteration 50's failure
    first, and so must the report."""
    text = """|v: vec[i64]|
  result(for(v, merger[i64,+], |b, i, x|
    merge(b, if(i >= 100L, lookup(v, -1L), 0L) + if(i == 50L, lookup(v, -2L), 0L))))"""
    monkeypatch.setenv("DAYBREAK_CUDA_EMU_GRID", grid)
    v = np.arange(1000, dtype=np.int64)
    with pytest.raises(WeldRuntimeError) as interp:
        db.compile(text, backend="interp")(v)
    with pytest.raises(WeldRuntimeError) as emulated:
        CudaEmulatorBackend().compile(db.optimize(parse(text)))(v)
    assert emulated.value.loc == interp.value.loc and emulated.value.loc.col > 40


@pytest.mark.parametrize(
    "text",
    [
        # each branch makes its own builder, inside a loop body
        """|v: vec[i64]| result(for(v, appender[i64], |b, i, x|
             merge(b, result(if(x > 2L, merge(merger[i64,+], x), merger[i64,+](5L))))))""",
        """|v: vec[i64]| result(for(v, appender[i64], |b, i, x|
             merge(b, len(result(if(x % 2L == 0L,
               for(rangeiter(0L, x, 1L), appender[i64], |c, j, y| merge(c, y)),
               appender[i64]))))))""",
        # builders chosen outside loops, then filled by one
        """|v: vec[f64], c: bool| let d = if(c, merge(dictmerger[i64,f64,+], {1L, 2.0}),
             dictmerger[i64,f64,+]);
           tovec(result(for(v, d, |b, i, x| merge(b, {i % 3L, x}))))""",
    ],
)
def test_builders_chosen_by_branches(text):
    program = db.optimize(parse(text))
    args = (np.arange(7, dtype=np.int64),) if "vec[i64]" in text else (np.arange(7.0), True)
    want = InterpBackend().compile(program)(*args)
    got = CudaEmulatorBackend().compile(program)(*args)
    assert values_difference(got, want, typecheck(program).body.ty, rtol=1e-12) is None


def test_dictionaries_compare_equal_by_entries():
    text = """|v: vec[i64], w: vec[i64]|
      let a = result(for(v, dictmerger[i64,f64,+], |b, i, x| merge(b, {x % 3L, f64(x)})));
      let c = result(for(w, dictmerger[i64,f64,+], |b, i, x| merge(b, {x % 3L, f64(x)})));
      {a == c, a != c}"""
    f = db.compile(text, backend="cuda-emu")
    assert f.backend == "cuda-emu"
    same, other = np.arange(6), np.arange(6)[::-1].copy()
    assert f(same, other) == (True, False) and f(same, np.arange(7)) == (False, True)
