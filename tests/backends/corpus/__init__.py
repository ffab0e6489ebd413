"""A differential corpus: programs, with inputs, that every backend must run exactly as the
reference interpreter does (docs/ir.md is the spec; the interp backend is the oracle).

Each `Case` is a program text and its arguments (NumPy arrays and scalars, as users pass them).
The cases cover every construct of the IR except `cudf`, and every corner case that docs/ir.md
defines: wrap-around, division by zero, IEEE specials, saturating casts, clamped slices, runtime
errors and where they are reported. Families of cases (one per scalar type, per math function,
per cast source) are generated; the rest are written out.

The cases live in one module per theme (scalars, values, loops, builders, scans, large inputs and
parallel loops, errors and dictionaries); importing this package registers them all in
`CASES`.

    >>> from tests.backends.corpus import CASES
    >>> [c.text[:24] for c in CASES if c.name == "int_arith_i8"]
    ['|a: vec[i8], b: vec[i8]|']
"""

from . import builders, errors, large, loops, scalars, scans, values  # noqa: F401  (registers cases)
from .base import CASES, Case

__all__ = ["CASES", "Case"]
