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
    eye,
    full,
    full_like,
    identity,
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
    cumprod,
    cumsum,
    flatnonzero,
    max,
    mean,
    min,
    nancumprod,
    nancumsum,
    nanmean,
    nanstd,
    nansum,
    nanvar,
    ndim,
    nonzero,
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
    "eye",
    "full",
    "full_like",
    "identity",
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
    "cumprod",
    "cumsum",
    "flatnonzero",
    "max",
    "mean",
    "min",
    "nancumprod",
    "nancumsum",
    "nanmean",
    "nanstd",
    "nansum",
    "nanvar",
    "nonzero",
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


# How each function of arrays is bound (constructors are daybreak's own: they take shapes,
# and their results are big data).
#
# Small calls on NumPy data run NumPy directly (`small.numpy_first`): elementwise functions,
# views, and those whose result can outgrow their inputs, so that a big NumPy input joins a
# lazy chain through them.
NUMPY_FIRST = """
    bincount clip flatnonzero nonzero where matmul outer diff roll ravel reshape transpose squeeze
    expand_dims swapaxes moveaxis concatenate hstack vstack stack column_stack broadcast_to copy
    zeros_like ones_like empty_like full_like
""".split()
# Reductions and products are NumPy's own function objects: on NumPy data they are NumPy's
# call with nothing in between (a Python loop of `dot(row, col)` or `sum(patch, axis=...)`
# paid ~0.2 us of daybreak's wrapper per call, 10-25% of NumPy's own time), and NumPy's
# C-level `__array_function__` dispatch hands every call with a daybreak array among its
# arguments to daybreak (`functions.FUNCTIONS`). What NumPy data loses: a reduction of a big
# NumPy array is NumPy's at once, where the wrapper recorded it over a snapshot; it reduces
# data, so no elementwise work of the script fuses into it (operators on NumPy arrays are
# NumPy's own either way).
NUMPY_OWN = """
    all amax amin any argmax argmin count_nonzero max mean min nanmean nanstd nansum nanvar prod
    std sum var dot inner vdot
""".split()


def _bind() -> None:
    import numpy as _np

    from .functions import FUNCTIONS
    from .small import numpy_first

    for _name in NUMPY_FIRST:
        globals()[_name] = numpy_first(globals()[_name], getattr(_np, _name))
    for _name in NUMPY_OWN:
        found = getattr(_np, _name)
        if found not in FUNCTIONS:  # (daybreak arrays would reach NumPy's as a fallback)
            raise RuntimeError(f"numpy.{_name} has no daybreak implementation to dispatch to")
        globals()[_name] = found


_bind()
