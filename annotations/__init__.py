"""daybreak.annotations — split annotations: black-box functions, pipelined and parallel.

Declare how a function's arguments split into pieces, and daybreak runs chains of such calls
piece by piece (each cache-sized piece through the whole chain before the next), the pieces on
all cores, without touching the function's code (the SOSP'19 "split annotations" idea).

    from daybreak.annotations import splittable, mut, pipeline

    @splittable(a="S", b="S", out=mut("S"))
    def add(a, b, out): numpy.add(a, b, out=out)

    with pipeline():
        add(x, y, z)
        add(z, y, z)      # runs on each piece of z right after the first call wrote it

See docs/annotations.md.
"""

from .annotation import AnnotationError, mut
from .c_functions import CLibrary, load, register_udfs
from .executor import PieceError
from .graph import Future, annotate, evaluate, pipeline, splittable
from .split_types import (
    ArraySplit,
    Broadcast,
    Concat,
    DataFrameSplit,
    Reduce,
    SizeSplit,
    SplitType,
    Unknown,
    split_type,
)

__all__ = [
    "AnnotationError",
    "ArraySplit",
    "Broadcast",
    "CLibrary",
    "Concat",
    "DataFrameSplit",
    "Future",
    "PieceError",
    "Reduce",
    "SizeSplit",
    "SplitType",
    "Unknown",
    "annotate",
    "evaluate",
    "load",
    "mut",
    "pipeline",
    "register_udfs",
    "split_type",
    "splittable",
]
