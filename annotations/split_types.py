"""Split types: how a value is cut into pieces along one dimension, and how pieces go back.

A split type answers three questions about the values it describes (the SOSP'19 "split
annotations" paper's splitters and mergers):

- `elements(value)`: how many elements the split dimension has (arrays of one chain must agree);
- `split(value, start, stop)`: the piece holding elements `[start, stop)`, a view where the
  library allows one, so that a function writing into it (`mut`) writes into the value;
- `merge(pieces)`: the whole result made of the pieces' results, in order.

    >>> import numpy
    >>> s = ArraySplit()
    >>> a = numpy.arange(10.0)
    >>> s.elements(a), s.split(a, 2, 5).tolist(), s.merge([a[:3], a[3:]]).size
    (10, [2.0, 3.0, 4.0], 10)

Some types only merge (`returns:` of a reduction: `sum`, `min`, `max`, `prod`, `concat`), some
never split (`Broadcast`: the whole value to every piece), and `Unknown` describes pieces whose
sizes depend on the data (a filter's): they flow piece by piece into the next call of a chain and
are concatenated where the chain ends. A user-defined type subclasses `SplitType` (or is made by
`split_type(elements=..., split=..., merge=...)`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class SplitType:
    """How values of one kind are split and merged (see the module docstring). Subclasses are
    compared by value: two calls agree when their split types are equal."""

    splits = True  # False: the type describes results only (a reduction) or never splits
    merges = True  # False: a result of this type cannot be put back together
    # The fewest elements a piece should have, whatever the cache says: libraries whose calls
    # cost much more than their work on a small piece (pandas: ~0.1 ms a call) want big ones.
    min_piece = 1

    def elements(self, value) -> int:
        raise TypeError(f"{type(self).__name__} does not count elements (it never splits)")

    def split(self, value, start: int, stop: int):
        raise TypeError(f"{type(self).__name__} does not split values")

    def merge(self, pieces: list):
        raise TypeError(f"{type(self).__name__} does not merge pieces")

    def write_back(self, value, start: int, stop: int, piece) -> None:
        """After a function wrote into `piece` (a `mut` argument), make `value` hold it: nothing
        when the piece is a view of the value (the usual case)."""

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


@dataclass(frozen=True, repr=False)
class ArraySplit(SplitType):
    """NumPy arrays split along `axis` (pieces are views); merged by concatenation."""

    axis: int = 0

    def _axis(self, value) -> int:
        if self.axis == 0 and type(value) is np.ndarray and value.ndim:
            return 0  # (the usual case, per piece)
        ndim = np.ndim(value)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"ArraySplit(axis={self.axis}) of an array with {ndim} dimensions")
        return self.axis % ndim

    def elements(self, value) -> int:
        return np.shape(value)[self._axis(value)]

    def split(self, value, start: int, stop: int):
        axis = self._axis(value)
        if type(value) is not np.ndarray:
            maker = ARRAY_TYPES.get(type(value))
            if maker is not None:
                return maker(value, axis, start, stop)
        if axis == 0:
            return value[start:stop]
        return value[(slice(None),) * axis + (slice(start, stop),)]

    def merge(self, pieces: list):
        return np.concatenate(pieces, axis=self.axis)

    def write_back(self, value, start: int, stop: int, piece) -> None:
        if (
            piece.base is not value
            and piece.base is not value.base
            and not np.shares_memory(value, piece)
        ):
            value[(slice(None),) * self._axis(value) + (slice(start, stop),)] = piece

    def __repr__(self) -> str:
        return f"ArraySplit(axis={self.axis})" if self.axis else "ArraySplit()"


@dataclass(frozen=True, repr=False)
class DataFrameSplit(SplitType):
    """pandas DataFrames and Series (and frames that act like them: `iloc`, `len`) split into
    row ranges; merged with `pandas.concat`, which keeps each piece's index labels. Pieces
    have at least 2^18 rows: a pandas call costs ~0.1-0.3 ms whatever its size, so a
    cache-sized piece (~20K rows) would spend most of its time in pandas' own overhead."""

    min_piece = 1 << 18

    def elements(self, value) -> int:
        return len(value)

    def split(self, value, start: int, stop: int):
        return value.iloc[start:stop]

    def merge(self, pieces: list):
        import pandas

        return pandas.concat(pieces)

    def write_back(self, value, start: int, stop: int, piece) -> None:
        # (pandas' copy-on-write makes every row slice a copy: the writes go back by position)
        value.iloc[start:stop] = piece


@dataclass(frozen=True, repr=False)
class SizeSplit(SplitType):
    """An element count (`n` of a C vector function): a piece's count is its length."""

    def elements(self, value) -> int:
        return int(value)

    def split(self, value, start: int, stop: int):
        return stop - start

    def merge(self, pieces: list):
        return sum(pieces)


@dataclass(frozen=True, repr=False)
class Broadcast(SplitType):
    """The whole value, unsplit, to every piece (a scalar, a lookup table, a model)."""

    splits = False
    merges = False


@dataclass(frozen=True, repr=False)
class Reduce(SplitType):
    """A result merged by folding its pieces' results with `op` in piece order (`sum`, `min`,
    `max`, `prod`): the order is fixed by the pieces, never by the threads."""

    op: str = "sum"

    splits = False

    def merge(self, pieces: list):
        return functools.reduce(_FOLDS[self.op], pieces)

    def __repr__(self) -> str:
        return self.op


_FOLDS: dict[str, Callable] = {
    "sum": operator.add,
    "prod": operator.mul,
    "min": lambda a, b: np.minimum(a, b) if isinstance(a, np.ndarray) else min(a, b),
    "max": lambda a, b: np.maximum(a, b) if isinstance(a, np.ndarray) else max(a, b),
}


def concatenate(pieces: list):
    """The pieces one after another, in the way of their kind: NumPy arrays by
    `numpy.concatenate`, pandas objects by `pandas.concat`, lists and tuples by `+`."""
    first = pieces[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(pieces)
    if type(first).__module__.startswith("pandas"):
        import pandas

        return pandas.concat(pieces)
    if isinstance(first, list | tuple):
        return functools.reduce(operator.add, pieces)
    raise TypeError(f"cannot concatenate pieces of type {type(first).__name__}")


@dataclass(frozen=True, repr=False)
class Concat(SplitType):
    """A result whose pieces are concatenated (`returns: concat`)."""

    splits = False

    def merge(self, pieces: list):
        return concatenate(pieces)

    def __repr__(self) -> str:
        return "concat"


@dataclass(frozen=True, repr=False)
class Unknown(SplitType):
    """Pieces whose sizes depend on the data (a filter's result): each flows into the next call
    of the chain as it is; where the chain ends they are concatenated."""

    def elements(self, value) -> int:
        return len(value)

    def split(self, value, start: int, stop: int):
        return value[start:stop]

    def merge(self, pieces: list):
        return concatenate(pieces)


class _UserSplit(SplitType):
    """A split type made of three functions (`split_type`)."""

    def __init__(self, name: str, elements: Callable, split: Callable, merge: Callable | None):
        self.name, self._elements, self._split, self._merge = name, elements, split, merge
        self.merges = merge is not None

    def elements(self, value) -> int:
        return int(self._elements(value))

    def split(self, value, start: int, stop: int):
        return self._split(value, start, stop)

    def merge(self, pieces: list):
        if self._merge is None:
            raise TypeError(f"split type {self.name} has no merge function")
        return self._merge(pieces)

    def __repr__(self) -> str:
        return self.name


def split_type(
    elements: Callable, split: Callable, merge: Callable | None = None, name: str = "custom"
) -> SplitType:
    """A split type from functions: `elements(value) -> int`, `split(value, start, stop)` and
    `merge(pieces)` (optional: without it a result of this type cannot be merged)."""
    return _UserSplit(name, elements, split, merge)


# Names an annotation may use for a built-in type (every other name is a generic variable).
BUILTIN_NAMES: dict[str, Callable[..., SplitType]] = {
    "broadcast": Broadcast,
    "size": SizeSplit,
    "sum": lambda: Reduce("sum"),
    "prod": lambda: Reduce("prod"),
    "min": lambda: Reduce("min"),
    "max": lambda: Reduce("max"),
    "concat": Concat,
    "unknown": Unknown,
    "ArraySplit": ArraySplit,
    "DataFrameSplit": DataFrameSplit,
}


# Array types of other libraries that ArraySplit splits as they are: type -> piece(value,
# axis, start, stop), the NumPy values of one piece (daybreak.numpy registers its lazy arrays:
# each piece is computed on its own, `daybreak/numpy.py`); and the fewest elements a piece of
# one should have (making a piece costs a call of that library).
ARRAY_TYPES: dict[type, Callable] = {}
ARRAY_MIN_PIECE: dict[type, int] = {}


def register_array_type(kind: type, piece: Callable, min_piece: int = 1) -> None:
    """Let ArraySplit (and generic variables) split values of `kind` with `piece(value, axis,
    start, stop)`, which returns the NumPy values of that piece; pieces of at least
    `min_piece` elements when a stage splits such a value (unless `split_piece_bytes` is
    set)."""
    ARRAY_TYPES[kind] = piece
    ARRAY_MIN_PIECE[kind] = min_piece


def default_split(value) -> SplitType | None:
    """The split type a generic variable (`S`) takes for `value`: arrays by their first axis,
    pandas objects by rows; None: a value no built-in type splits."""
    if (isinstance(value, np.ndarray) or type(value) in ARRAY_TYPES) and np.ndim(value) > 0:
        return ArraySplit()
    if type(value).__module__.startswith("pandas") and hasattr(value, "iloc"):
        return DataFrameSplit()
    return None
