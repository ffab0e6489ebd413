"""An annotation: the split type of each parameter and of the result of one function.

    @splittable(a="S", b="S", out=mut("S"), returns="S")
    def add(a, b, out): ...

A spec is a split type (`ArraySplit(axis=1)`), the name of a built-in one (`"broadcast"`,
`"size"`, `"sum"`, `"min"`, `"max"`, `"prod"`, `"concat"`, `"unknown"`), or any other name: a
generic variable. At each call a generic variable takes the split type of the first argument
bound to it (`split_types.default_split`: arrays by their first axis, pandas objects by rows),
and every argument under the same variable must agree with it; a result annotated with the
variable is split that way too, so the next call of a chain can take its pieces as they are.
Parameters without a spec are broadcast: every piece gets the whole value. `mut(spec)` marks a
parameter the function writes into: its pieces are views, and the writes land in the caller's
value.

Every split argument of one call is split into the same element ranges, so all of them must
have the same number of elements; a call that breaks that, or binds a variable to two split
types, raises `AnnotationError` at the call, naming the parameters.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .split_types import BUILTIN_NAMES, Broadcast, SizeSplit, SplitType, default_split


class AnnotationError(TypeError):
    """An annotation that cannot hold: a bad spec, or a call whose arguments disagree with it."""


@dataclass(frozen=True)
class Mut:
    """A parameter the function writes into (`mut("S")`)."""

    spec: object


def mut(spec) -> Mut:
    """Mark a parameter as written by the function: `out=mut("S")`."""
    return Mut(spec)


@dataclass(frozen=True)
class Spec:
    """One parameter's (or the result's) annotation, normalised: a generic variable name or a
    concrete split type, and whether the function writes into it."""

    var: str | None
    split: SplitType | None
    mut: bool = False

    @property
    def splits(self) -> bool:
        return self.var is not None or (self.split is not None and self.split.splits)

    def __str__(self) -> str:
        text = self.var if self.var is not None else repr(self.split)
        return f"mut {text}" if self.mut else text


BROADCAST = Spec(None, Broadcast())


def as_spec(spec, where: str) -> Spec:
    """`spec` as written by a user (a name, a split type, `mut(...)`) -> Spec."""
    written = False
    if isinstance(spec, Mut):
        written, spec = True, spec.spec
    if isinstance(spec, SplitType):
        return Spec(None, spec, written)
    if isinstance(spec, type) and issubclass(spec, SplitType):
        return Spec(None, spec(), written)
    if isinstance(spec, str) and spec.isidentifier():
        maker = BUILTIN_NAMES.get(spec)
        return Spec(None, maker(), written) if maker is not None else Spec(spec, None, written)
    raise AnnotationError(
        f"{where}: a split annotation is a split type, the name of one or a generic variable "
        f"(an identifier such as 'S'), not {spec!r}"
    )


@dataclass
class Bound:
    """A call's arguments matched to the annotation: for each parameter (in the order the
    function takes them) its name, value and the split type it resolved to."""

    names: list[str]
    values: list
    specs: list[Spec]
    splits: list[SplitType]  # concrete: a variable's binding, or the spec's own type
    count: int | None  # elements of every split argument (None: none known before running)
    by_keyword: list[bool]  # per argument: passed by its name (else by position, in order)
    returns: SplitType | None


class Annotation:
    """The specs of one function's parameters and result (see the module docstring)."""

    def __init__(self, name: str, signature, params: dict, positional: tuple, returns):
        self.name = name
        self.signature = signature
        self.params = {k: as_spec(v, f"{name}({k})") for k, v in params.items()}
        self.positional = tuple(
            as_spec(v, f"{name} argument {i}") for i, v in enumerate(positional)
        )
        self.returns = None if returns is None else as_spec(returns, f"{name} returns")
        if self.returns is not None and self.returns.mut:
            raise AnnotationError(f"{name}: a result cannot be mut")
        if signature is not None:
            known = set(signature.parameters)
            unknown = [k for k in self.params if k not in known]
            if unknown:
                raise AnnotationError(f"{name} has no parameter {unknown[0]!r}")
            if self.positional:
                raise AnnotationError(f"{name}: annotate its parameters by name")
        for key, spec in (*self.params.items(), *enumerate(self.positional)):
            if spec.mut and not spec.splits:
                raise AnnotationError(
                    f"{name}: {key} is mut but not split: pieces running at once would all "
                    "write the whole value"
                )
        if not self.splits_anything():
            raise AnnotationError(f"{name}: no parameter is split, so there is nothing to pipeline")

    def splits_anything(self) -> bool:
        return any(s.splits for s in (*self.params.values(), *self.positional))

    def bind(self, args: tuple, kwargs: dict, pending_split, count_of) -> Bound:
        """Match a call's arguments to the specs and check that they agree. `pending_split(v)`
        is the split type of a pending result (None for other values); `count_of(value,
        split)` the value's element count under `split` (None: not known yet, a pending result
        of unknown size)."""
        names, values, specs, by_keyword = self._arguments(args, kwargs)
        splits: list[SplitType] = []
        bindings: dict[str, tuple[SplitType, str]] = {}
        count: int | None = None
        counted = ""
        for k, (name, value, spec) in enumerate(zip(names, values, specs, strict=True)):
            if spec.splits and _foreign_array(value, pending_split):
                # another library's array (daybreak.numpy's lazy ones): its values now
                value = values[k] = np.asarray(value)
            split = self._resolve(name, value, spec, bindings, pending_split)
            splits.append(split)
            if not spec.splits:
                continue
            n = count_of(value, split)
            if n is None:
                continue
            if count is not None and n != count:
                raise AnnotationError(
                    f"{self.name}: {counted} has {count} elements to split and {name} has {n}; "
                    "the split arguments of one call must have the same number of elements"
                )
            count, counted = n, name
        returns = None
        if self.returns is not None:
            returns = self.returns.split
            if self.returns.var is not None:
                found = bindings.get(self.returns.var)
                if found is None:
                    raise AnnotationError(
                        f"{self.name}: the result is split as {self.returns.var}, which no "
                        "parameter is"
                    )
                returns = found[0]
        return Bound(names, values, specs, splits, count, by_keyword, returns)

    def _arguments(self, args: tuple, kwargs: dict):
        """(names, values, specs, by_keyword) of a call, in the order the function takes them.
        Arguments go back by name except positional-only and `*args` ones: a parameter left
        at its default must not shift the ones after it."""
        if self.signature is None:  # by position; keywords are broadcast
            specs = [
                self.positional[i] if i < len(self.positional) else BROADCAST
                for i in range(len(args))
            ]
            names = [f"argument {i}" for i in range(len(args))] + list(kwargs)
            by_keyword = [False] * len(args) + [True] * len(kwargs)
            return names, [*args, *kwargs.values()], specs + [BROADCAST] * len(kwargs), by_keyword
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as why:
            raise TypeError(f"{self.name}(): {why}") from None
        names, values, specs, by_keyword = [], [], [], []
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL or kind is inspect.Parameter.VAR_KEYWORD:
                if name in self.params:
                    raise AnnotationError(f"{self.name}: *{name} cannot be split")
                items = (
                    value.items()
                    if kind is inspect.Parameter.VAR_KEYWORD
                    else ((f"{name}[{i}]", v) for i, v in enumerate(value))
                )
                for k, v in items:
                    names.append(k)
                    values.append(v)
                    specs.append(BROADCAST)
                    by_keyword.append(kind is inspect.Parameter.VAR_KEYWORD)
                continue
            names.append(name)
            values.append(value)
            specs.append(self.params.get(name, BROADCAST))
            by_keyword.append(kind is not inspect.Parameter.POSITIONAL_ONLY)
        return names, values, specs, by_keyword

    def _resolve(self, name: str, value, spec: Spec, bindings: dict, pending_split) -> SplitType:
        if spec.var is None:
            return spec.split
        split = pending_split(value) or default_split(value)  # a pending result knows its own
        if split is None:
            raise AnnotationError(
                f"{self.name}: {name} ({type(value).__name__}) is split as {spec.var}, but no "
                "split type splits it (give the parameter a split type of its own)"
            )
        found = bindings.get(spec.var)
        if found is None:
            bindings[spec.var] = (split, name)
        elif found[0] != split:
            raise AnnotationError(
                f"{self.name}: {found[1]} and {name} are both split as {spec.var}, but {found[1]} "
                f"is {found[0]!r} and {name} is {split!r}"
            )
        return split


def _foreign_array(value, pending_split) -> bool:
    """Whether `value` is an array of another library that converts to NumPy's
    (`__array__`) and that no split type splits as it is."""
    return (
        hasattr(type(value), "__array__")
        and not isinstance(value, np.ndarray)
        and pending_split(value) is None
        and default_split(value) is None
    )


def signature_of(fn):
    """`fn`'s signature, or None where Python has none (NumPy's ufuncs, some builtins): such a
    function is annotated by position."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def is_size(split: SplitType) -> bool:
    return isinstance(split, SizeSplit)
