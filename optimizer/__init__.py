"""daybreak.optimizer — named passes run to a fixpoint (inline, fold, cse, dce, fuse_vertical,
fuse_gather, fuse_horizontal, fuse_consumer), then once each final pass (hoist, presize); see
pipeline.py for the table, rules.py for the rule driver, and each pass's file for what it
rewrites.

>>> from daybreak.ir import parse, format
>>> format(optimize(parse("|x: i64| (|y: i64| y * 2L)(x + 0L)")))
'|x: i64| x * 2L'
"""

from .explain import data_passes, explain
from .pipeline import PASS_NAMES, PASSES, OptimizeReport, OptimizerError, Pass, optimize

__all__ = [
    "optimize",
    "explain",
    "data_passes",
    "PASSES",
    "PASS_NAMES",
    "Pass",
    "OptimizeReport",
    "OptimizerError",
]
