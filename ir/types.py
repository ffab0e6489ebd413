"""The types of the IR (Weld's type language), as small immutable values.

Value types hold data; builder types are write-only accumulators that `result` turns into values.

>>> from daybreak.ir.types import I32, Vec, Struct, Merger
>>> str(Vec(Struct((I32, Vec(I32)))))
'vec[{i32,vec[i32]}]'
>>> Merger(I32, "+").result_type
Scalar(kind='i32')
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

# ----------------------------------------------------------------------------------------------
# Scalars: one table that every module reads (name -> NumPy dtype, bits, signedness).

SCALAR_DTYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "i8": np.dtype(np.int8),
    "i16": np.dtype(np.int16),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
    "u8": np.dtype(np.uint8),
    "u16": np.dtype(np.uint16),
    "u32": np.dtype(np.uint32),
    "u64": np.dtype(np.uint64),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
}
SCALAR_NAMES = tuple(SCALAR_DTYPES)
SIGNED_INTS = ("i8", "i16", "i32", "i64")
UNSIGNED_INTS = ("u8", "u16", "u32", "u64")
INTS = SIGNED_INTS + UNSIGNED_INTS
FLOATS = ("f32", "f64")
NUMERIC = INTS + FLOATS

# The commutative operators a merger may combine with (Weld: `+ * min max`).
MERGE_OPS = ("+", "*", "min", "max")


class Type:
    """Base of all types. Subclasses are frozen dataclasses: equal types are equal values."""

    __slots__ = ()

    @property
    def is_builder(self) -> bool:
        return False

    @property
    def is_value(self) -> bool:
        return not self.is_builder and not isinstance(self, (Func, Unknown))

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Scalar(Type):
    kind: str

    def __post_init__(self):
        if self.kind not in SCALAR_DTYPES:
            raise ValueError(f"unknown scalar type {self.kind!r}")

    @property
    def dtype(self) -> np.dtype:
        return SCALAR_DTYPES[self.kind]

    @property
    def is_int(self) -> bool:
        return self.kind in INTS

    @property
    def is_signed(self) -> bool:
        return self.kind in SIGNED_INTS

    @property
    def is_float(self) -> bool:
        return self.kind in FLOATS

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def bits(self) -> int:
        return 1 if self.kind == "bool" else self.dtype.itemsize * 8

    def __str__(self) -> str:
        return self.kind


BOOL, I8, I16, I32, I64 = (Scalar(k) for k in ("bool", "i8", "i16", "i32", "i64"))
U8, U16, U32, U64 = (Scalar(k) for k in UNSIGNED_INTS)
F32, F64 = Scalar("f32"), Scalar("f64")
SCALARS: dict[str, Scalar] = {k: Scalar(k) for k in SCALAR_NAMES}


@dataclass(frozen=True, slots=True)
class Vec(Type):
    elem: Type

    def __str__(self) -> str:
        return f"vec[{self.elem}]"


STRING = Vec(I8)  # strings are vec[i8]


@dataclass(frozen=True, slots=True)
class Dict(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"dict[{self.key},{self.value}]"


@dataclass(frozen=True, slots=True)
class Struct(Type):
    fields: tuple[Type, ...]

    @property
    def is_builder(self) -> bool:
        # A struct of builders is itself a builder (one loop, several outputs).
        return bool(self.fields) and all(f.is_builder for f in self.fields)

    def __str__(self) -> str:
        return "{" + ",".join(str(f) for f in self.fields) + "}"


# ----------------------------------------------------------------------------------------------
# Builders. Each knows the type merged into it and the type `result` returns.


class BuilderType(Type):
    __slots__ = ()

    @property
    def is_builder(self) -> bool:
        return True

    @property
    def merge_type(self) -> Type:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def result_type(self) -> Type:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def in_merge_order(self) -> bool:
        """Whether the merges must go one after another into one state, in merge order: the
        builder cannot be split into per-thread parts combined afterwards (an appender's
        parts are simply concatenated; a scan's element k needs element k - 1)."""
        return False


@dataclass(frozen=True, slots=True)
class Appender(BuilderType):
    elem: Type

    @property
    def merge_type(self) -> Type:
        return self.elem

    @property
    def result_type(self) -> Type:
        return Vec(self.elem)

    def __str__(self) -> str:
        return f"appender[{self.elem}]"


@dataclass(frozen=True, slots=True)
class Merger(BuilderType):
    elem: Type
    op: str

    @property
    def merge_type(self) -> Type:
        return self.elem

    @property
    def result_type(self) -> Type:
        return self.elem

    def __str__(self) -> str:
        return f"merger[{self.elem},{self.op}]"


@dataclass(frozen=True, slots=True)
class DictMerger(BuilderType):
    key: Type
    value: Type
    op: str

    @property
    def merge_type(self) -> Type:
        return Struct((self.key, self.value))

    @property
    def result_type(self) -> Type:
        return Dict(self.key, self.value)

    def __str__(self) -> str:
        return f"dictmerger[{self.key},{self.value},{self.op}]"


@dataclass(frozen=True, slots=True)
class GroupMerger(BuilderType):
    key: Type
    value: Type

    @property
    def merge_type(self) -> Type:
        return Struct((self.key, self.value))

    @property
    def result_type(self) -> Type:
        return Dict(self.key, Vec(self.value))

    def __str__(self) -> str:
        return f"groupmerger[{self.key},{self.value}]"


@dataclass(frozen=True, slots=True)
class VecMerger(BuilderType):
    elem: Type
    op: str

    @property
    def merge_type(self) -> Type:
        return Struct((I64, self.elem))

    @property
    def result_type(self) -> Type:
        return Vec(self.elem)

    def __str__(self) -> str:
        return f"vecmerger[{self.elem},{self.op}]"


@dataclass(frozen=True, slots=True)
class Scanner(BuilderType):
    """A running scan (`np.cumsum`, `np.maximum.accumulate`): `result` is the vector of the
    values combined so far, one per merge, in merge order: element 0 is the first value
    merged itself, element k is `op(element k - 1, x_k)`. Each element needs the one before,
    so a loop merging into a scanner runs in order on one thread (`in_merge_order`)."""

    elem: Type
    op: str

    @property
    def merge_type(self) -> Type:
        return self.elem

    @property
    def result_type(self) -> Type:
        return Vec(self.elem)

    @property
    def in_merge_order(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"scanner[{self.elem},{self.op}]"


# Every builder kind: what a per-builder table (ir/dispatch.py's BuilderTable) must cover.
BUILDER_KINDS: tuple[type[BuilderType], ...] = (
    Appender,
    Merger,
    DictMerger,
    GroupMerger,
    VecMerger,
    Scanner,
)


# ----------------------------------------------------------------------------------------------
# Types that exist only inside the compiler.


@dataclass(frozen=True, slots=True)
class Func(Type):
    """The type of a lambda. Functions are not first-class values in the language."""

    params: tuple[Type, ...]
    ret: Type

    def __str__(self) -> str:
        return "|" + ",".join(str(p) for p in self.params) + f"|{self.ret}"


_unknown_ids = itertools.count()


@dataclass(frozen=True, slots=True)
class Unknown(Type):
    """A type still to be inferred: `?` in the text. Each occurrence is its own variable.

    All Unknowns are equal to each other (the id is only a debugging aid), so a program that
    leaves types out is equal to itself after printing and parsing again."""

    id: int = field(default=-1, compare=False)

    def __str__(self) -> str:
        return "?"

    @staticmethod
    def fresh() -> Unknown:
        return Unknown(next(_unknown_ids))


def result_type(t: Type) -> Type:
    """The type `result(b)` gives for a builder (or a struct of builders)."""
    if isinstance(t, BuilderType):
        return t.result_type
    if isinstance(t, Struct) and t.is_builder:
        return Struct(tuple(result_type(f) for f in t.fields))
    raise TypeError(f"{t} is not a builder type")


def in_merge_order(t: Type) -> bool:
    """Whether a builder (or struct of builders) holds one whose merges must be combined in
    merge order (`BuilderType.in_merge_order`)."""
    if isinstance(t, Struct):
        return any(in_merge_order(f) for f in t.fields)
    return isinstance(t, BuilderType) and t.in_merge_order


def children(t: Type) -> tuple[Type, ...]:
    """The component types of `t`, in declaration order."""
    match t:
        case Vec(elem=e) | Appender(elem=e) | Merger(elem=e) | VecMerger(elem=e):
            return (e,)
        case Scanner(elem=e):
            return (e,)
        case Dict(key=k, value=v) | DictMerger(key=k, value=v) | GroupMerger(key=k, value=v):
            return (k, v)
        case Struct(fields=fields):
            return fields
        case Func(params=params, ret=ret):
            return (*params, ret)
        case _:
            return ()


# Types are small trees whose operations (equality, hashing, printing, unification, layout)
# recurse once per level; a type nested deeper than this is refused where it is written or
# built, with a located error. Real programs nest a few levels.
MAX_TYPE_DEPTH = 100


def type_depth(t: Type, expand=None) -> int:
    """The number of types on the longest path from `t` down to a scalar (`vec[i32]`: 2),
    counted without recursion; `expand(t)` replaces a type first (a checker's variables by
    what they are bound to). Stops counting past MAX_TYPE_DEPTH."""
    deepest = 0
    stack = [(t, 1)]
    while stack:
        t, depth = stack.pop()
        if expand is not None:
            t = expand(t)
        deepest = max(deepest, depth)
        if depth <= MAX_TYPE_DEPTH:
            stack.extend((c, depth + 1) for c in children(t))
    return deepest


def is_scalar_or_struct_of_scalars(t: Type) -> bool:
    """What mergers, dictmerger values and vecmerger elements may hold (Weld's rule)."""
    if isinstance(t, Scalar):
        return True
    return isinstance(t, Struct) and all(isinstance(f, Scalar) for f in t.fields)
