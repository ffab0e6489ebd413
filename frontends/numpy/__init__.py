"""daybreak's NumPy frontend: lazy arrays whose chains of calls compile into fused loops.

Users import it as `daybreak.numpy` (the public face, `daybreak/numpy.py`); this package holds
the pieces: `array` (the lazy ndarray), `ufuncs` (the ufunc table), `reductions`, `creation`,
`functions`, `methods` (operators and NumPy protocols), `fallback`, `indexing`, `assignment`,
`shapes`, `joining`, `linalg` (products). Element expressions, their loops and re-indexing
live one level down, in `frontends/elements/`, shared with the other frontends.
"""

from . import attributes as _attributes  # noqa: F401 - the rest of ndarray (real, flat...)
from . import methods as _methods  # noqa: F401 - attaches operators and methods to ndarray
from .array import ndarray
from .creation import (
    arange,
    array,
    asarray,
    empty,
    empty_like,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from .functions import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    bincount,
    clip,
    copy,
    count_nonzero,
    max,
    mean,
    min,
    nanmean,
    nanstd,
    nansum,
    nanvar,
    ndim,
    prod,
    shape,
    size,
    std,
    sum,
    var,
    where,
)
from .joining import column_stack, concatenate, hstack, stack, vstack
from .linalg import dot, inner, matmul, outer, vdot
from .shapes import (
    broadcast_to,
    diff,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
    roll,
    squeeze,
    swapaxes,
    transpose,
)
from .ufuncs_public import UfuncWrapper, random_proxy, wrap_ufunc

__all__ = [
    "ndarray",
    "arange",
    "array",
    "asarray",
    "empty",
    "empty_like",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "zeros",
    "zeros_like",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "bincount",
    "clip",
    "count_nonzero",
    "max",
    "mean",
    "min",
    "nanmean",
    "nanstd",
    "nansum",
    "nanvar",
    "prod",
    "std",
    "sum",
    "var",
    "where",
    "UfuncWrapper",
    "wrap_ufunc",
    "random_proxy",
    "copy",
    "ndim",
    "shape",
    "size",
    "column_stack",
    "concatenate",
    "hstack",
    "stack",
    "vstack",
    "dot",
    "inner",
    "matmul",
    "outer",
    "vdot",
    "broadcast_to",
    "diff",
    "expand_dims",
    "moveaxis",
    "ravel",
    "reshape",
    "roll",
    "squeeze",
    "swapaxes",
    "transpose",
]


# Functions of arrays (not constructors: those take shapes, and their results are big data):
# small calls on NumPy data run NumPy directly (`small.py`).
def _numpy_first_for(names: tuple[str, ...]) -> None:
    import numpy as _np

    from .small import numpy_first

    for _name in names:
        globals()[_name] = numpy_first(globals()[_name], getattr(_np, _name))


_numpy_first_for(
    (
        "all",
        "amax",
        "amin",
        "any",
        "argmax",
        "argmin",
        "bincount",
        "clip",
        "count_nonzero",
        "max",
        "mean",
        "min",
        "nanmean",
        "nanstd",
        "nansum",
        "nanvar",
        "prod",
        "std",
        "sum",
        "var",
        "where",
        "dot",
        "inner",
        "matmul",
        "outer",
        "vdot",
        "diff",
        "roll",
        "ravel",
        "reshape",
        "transpose",
        "squeeze",
        "expand_dims",
        "swapaxes",
        "moveaxis",
        "concatenate",
        "hstack",
        "vstack",
        "stack",
        "column_stack",
        "broadcast_to",
        "copy",
        "zeros_like",
        "ones_like",
        "empty_like",
        "full_like",
    )
)
