"""daybreak.numpy on the CUDA backend's kernels, emulated on CPU threads (`cuda-emu`), against
NumPy: the programs the numpy frontend builds (fused maps and reductions, masks, selects,
broadcasts, stencils, bincount) lowered to CUDA C++ and run. Strict mode (the conftest) makes
any fallback an error, and each test checks that the emulated kernels ran.

On a machine with a GPU the same pipelines run with `backend="cuda"`.
"""

from __future__ import annotations

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.backends.cuda.device import device_count
from daybreak.backends.cuda.emulator import available
from daybreak.backends.cuda.executable import CudaExecutable

PIPELINES = {
    "fused_map_reduce": lambda np, x, m, i, v: (np.exp(x) * 2 + 1).sum(),
    "mask_then_mean": lambda np, x, m, i, v: x[x > 0.5].mean(),
    "where_then_max": lambda np, x, m, i, v: np.where(x > 0.5, x, -x).max(),
    "integer_mod": lambda np, x, m, i, v: (i % 7).astype(np.float64).sum(),
    "bincount": lambda np, x, m, i, v: np.bincount(i),
    "broadcast_outer": lambda np, x, m, i, v: np.abs(v[:, None] - v[None, :]).sum(),
    "stencil": lambda np, x, m, i, v: (m[1:-1, 1:-1] + m[:-2, 1:-1] + m[2:, 1:-1]) * 0.3,
    "chained_masks": lambda np, x, m, i, v: ((x > 0.2) & (x < 0.7)).sum() + np.abs(x - 0.5).min(),
}


@pytest.fixture
def kernel_calls(monkeypatch):
    """How many times a CUDA executable ran."""
    calls = [0]
    original = CudaExecutable.__call__

    def counted(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CudaExecutable, "__call__", counted)
    return calls


def _inputs():
    rng = numpy.random.default_rng(7)
    return rng.random(5000), rng.random((60, 70)), rng.integers(0, 50, 5000), rng.random(70)


def _run_on(backend: str, name: str, kernel_calls) -> None:
    x, m, i, v = _inputs()
    before = db.config(backend=backend)
    try:
        got = numpy.asarray(PIPELINES[name](dnp, *map(dnp.asarray, (x, m, i, v))))
    finally:
        db.config(**before)
    want = PIPELINES[name](numpy, x, m, i, v)
    assert got.shape == numpy.shape(want)
    assert numpy.allclose(got, want, rtol=1e-9, atol=0)
    assert kernel_calls[0] >= 1, "no CUDA kernel ran"


@pytest.mark.skipif(not available(), reason="no C++ compiler for the emulation")
@pytest.mark.parametrize("name", list(PIPELINES))
def test_numpy_pipelines_on_emulated_cuda_kernels(name, kernel_calls):
    _run_on("cuda-emu", name, kernel_calls)


@pytest.mark.skipif(device_count() == 0, reason="no CUDA device")
@pytest.mark.parametrize("name", list(PIPELINES))
def test_numpy_pipelines_on_the_device(name, kernel_calls):  # pragma: no cover - needs a GPU
    _run_on("cuda", name, kernel_calls)
