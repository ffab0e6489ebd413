"""A long straight-line program (2,000 lets, 300 loops over the data, as a long NumPy/pandas
script lowers) goes through every pass: none is skipped for its size, the fusion passes fire,
the loops over the data drop, and the optimised program computes what the original does.
How long it takes is measured in bench/optimizer.py, not asserted here."""

from __future__ import annotations

import numpy as np

from daybreak.backends.interp import InterpBackend
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck
from daybreak.optimizer import PASS_NAMES, OptimizeReport, data_passes, optimize

from ..ir.gen_values import values_difference
from .large_chain import chain


def test_a_chain_of_2000_lets_is_optimised_by_every_pass():
    text = chain(lets=2000, loops=300)
    program = typecheck(parse(text))
    assert text.count("\nlet ") >= 2000
    assert data_passes(program) >= 300
    report = OptimizeReport(program)
    optimized = optimize(program, verify=True, report=report)
    assert set(report.passes) == set(PASS_NAMES)  # every pass ran, none was skipped
    assert all(stats.runs >= 1 for stats in report.passes.values())
    fired = set(report.fired)
    assert {
        "inline",
        "fold",
        "cse",
        "fuse_vertical",
        "fuse_gather",
        "fuse_horizontal",
        "fuse_consumer",
        "hoist",
        "presize",
    } <= fired
    assert report.rounds < 8  # a fixpoint, not the round limit
    assert data_passes(optimized) <= data_passes(program) // 2

    interp = InterpBackend()
    rng = np.random.default_rng(1)
    args = (rng.uniform(-2, 2, 5).round(2), rng.uniform(-2, 2, 5).round(2), np.float64(0.5))
    expected = interp.compile(program)(*args)
    got = interp.compile(optimized)(*args)
    assert values_difference(got, expected, program.body.ty, rtol=1e-9, atol=1e-12) is None
