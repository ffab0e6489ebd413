"""Annotated calls, captured lazily into a task graph, and the values they stand for.

Outside a `pipeline()` block an annotated call runs at once: its split arguments are cut into
cache-sized pieces, the pieces run on the worker threads, the results are merged — the same
value the plain call returns. Inside the block calls are captured instead, and return a
`Future`: the whole chain runs, piece by piece through every call before the next piece, when
a Future is first read (`float(f)`, `numpy.asarray(f)`, `f.value()`, an attribute, an
operator) or when the block ends.

    >>> import numpy
    >>> from daybreak.annotations import splittable, pipeline
    >>> @splittable(a="S", b="S", returns="S")
    ... def add(a, b):
    ...     return a + b
    >>> @splittable(a="S", returns="sum")
    ... def total(a):
    ...     return float(a.sum())
    >>> x = numpy.arange(1000.0)
    >>> with pipeline():
    ...     s = total(add(x, x))
    >>> float(s)
    999000.0

The contract of the block (as in the paper, where C code cannot be watched): the values passed
to pending calls are read when the chain runs, and a `mut` argument is written then. Inside the
block, write those arrays and read `mut` results through annotated calls or after a Future has
been read; at the end of the block everything has run.
"""

from __future__ import annotations

import abc
import functools
import operator
import threading
import weakref

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .annotation import Annotation, AnnotationError, Bound, signature_of
from .split_types import SplitType, Unknown

_UNSET = object()


class Output:
    """The result of one captured call: its split type, its element count when known, and its
    value once merged. `future` is the Future the user holds (weakly: a result nobody can read
    any more is never merged)."""

    __slots__ = ("task", "split", "count", "value", "future", "ragged")

    def __init__(self, task: Task, split: SplitType, count: int | None, ragged: bool):
        self.task = task
        self.split = split
        self.count = count
        self.value = _UNSET
        self.future = None
        # pieces whose sizes depend on the data: they line up with the pieces of the call
        # that made them, not with element ranges
        self.ragged = ragged

    @property
    def done(self) -> bool:
        return self.value is not _UNSET

    @property
    def wanted(self) -> bool:
        """Whether the user can still read this result."""
        return self.future is not None and self.future() is not None


class Task:
    """One captured call: the annotated function and its bound arguments (pending results of
    earlier calls are their `Output`s)."""

    __slots__ = ("function", "bound", "output")

    def __init__(self, function: Annotated, bound: Bound):
        self.function = function
        self.bound = bound
        self.output: Output | None = None

    @property
    def name(self) -> str:
        return self.function.name

    def call(self, values: list):
        """The function on `values` (one per bound argument, pieces in place of the whole)."""
        args, kwargs = [], {}
        for name, value, by_keyword in zip(
            self.bound.names, values, self.bound.by_keyword, strict=True
        ):
            if by_keyword:
                kwargs[name] = value
            else:
                args.append(value)
        return self.function.fn(*args, **kwargs)


# --- what is pending, per thread ----------------------------------------------------------------
class _Capture(threading.local):
    def __init__(self):
        self.depth = 0
        self.pending: list[Task] = []


_CAPTURE = _Capture()


class pipeline:  # noqa: N801 - used as a context manager, like `open`
    """`with pipeline():` captures annotated calls; they run when a result is read or when the
    block ends (see the module docstring). Blocks nest; the outermost one's end runs them."""

    def __enter__(self):
        _CAPTURE.depth += 1
        return self

    def __exit__(self, *exc):
        _CAPTURE.depth -= 1
        if _CAPTURE.depth == 0:
            evaluate()
        return False


def evaluate(*futures):
    """Run every captured call of this thread now; returns the values of `futures`."""
    pending, _CAPTURE.pending = _CAPTURE.pending, []
    if pending:
        from .executor import run

        run(pending)
    values = tuple(f.value() if isinstance(f, Future) else f for f in futures)
    return values[0] if len(values) == 1 else values


# --- annotated functions ------------------------------------------------------------------------
class Annotated:
    """A function with a split annotation: called like the function (see the module
    docstring)."""

    def __init__(self, fn, annotation: Annotation, check=None):
        self.fn = fn
        self.annotation = annotation
        self.name = annotation.name
        # check(names, values): the caller's arguments checked whole at the call (a C
        # function's array types), before anything is split
        self.check = check
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self) -> str:
        return f"<split-annotated {self.name}>"

    def __get__(self, instance, owner=None):  # a method: bind it like a function
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        args = tuple(_settled(a) for a in args)
        kwargs = {k: _settled(v) for k, v in kwargs.items()}
        bound = self.annotation.bind(args, kwargs, _pending_split, _count_of)
        if self.check is not None:
            self.check(bound.names, bound.values)
        bound.values = [v._output if isinstance(v, Future) else v for v in bound.values]
        task = Task(self, bound)
        if bound.returns is not None:
            ragged = isinstance(bound.returns, Unknown) or any(
                isinstance(v, Output) and v.ragged
                for v, s in zip(bound.values, bound.specs, strict=True)
                if s.splits
            )
            count = None if ragged else bound.count
            task.output = Output(task, bound.returns, count, ragged)
        if _CAPTURE.depth > 0:
            _CAPTURE.pending.append(task)
            if task.output is None:
                return None
            future = Future(task.output)
            task.output.future = weakref.ref(future)
            return future
        from .executor import run

        run([task], keep=task.output)
        return None if task.output is None else task.output.value


def _settled(value):
    """A pending result whose split type cannot be split again (a reduction's) is computed
    before it is passed on: what it is is known only then."""
    if isinstance(value, Future) and not value._output.done and not value._output.split.splits:
        return value.value()
    if isinstance(value, Future) and value._output.done:
        return value._output.value
    return value


def _pending_split(value) -> SplitType | None:
    return value._output.split if isinstance(value, Future) else None


def _count_of(value, split: SplitType) -> int | None:
    if isinstance(value, Future):
        return value._output.count
    try:
        return split.elements(value)
    except (TypeError, ValueError, AttributeError) as why:
        raise AnnotationError(f"{split!r} cannot split a {type(value).__name__}: {why}") from None


def splittable(returns=None, **params):
    """Annotate a Python function: `@splittable(a="S", b="S", out=mut("S"), returns="S")`."""

    def annotate_it(fn):
        name = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
        return Annotated(fn, Annotation(name, signature_of(fn), params, (), returns))

    return annotate_it


def annotate(fn, *positional, returns=None, name: str | None = None, **params) -> Annotated:
    """An annotated wrapper of an existing function, which stays as it is:
    `add = annotate(numpy.add, "S", "S", returns="S")` (by position, for functions without a
    Python signature such as NumPy's ufuncs) or `annotate(f, a="S", returns="sum")`."""
    name = name or getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    signature = None if positional else signature_of(fn)
    if signature is None and params:
        raise AnnotationError(
            f"{name} has no Python signature: annotate its parameters by position"
        )
    return Annotated(fn, Annotation(name, signature, params, positional, returns))


# --- the value a captured call stands for ---------------------------------------------------------
class Future(NDArrayOperatorsMixin):
    """The pending result of a captured call: computed (with everything captured before it)
    when first read, then it behaves like its value. Its operators are NumPy's ufuncs
    (`NDArrayOperatorsMixin`), captured inside a block (`__array_ufunc__`)."""

    __slots__ = ("_output", "__weakref__")
    # daybreak.numpy's calls on a Future are not its fallbacks: NumPy's dispatch brings them
    # here (`__array_ufunc__`), into the chain
    __daybreak_deferred__ = True

    def __init__(self, output: Output):
        self._output = output

    def value(self):
        if not self._output.done:
            evaluate()
        if not self._output.done:  # its chain raised when it ran (that error was raised)
            raise RuntimeError(
                f"the result of {self._output.task.name} was not computed: the chain that "
                "computes it failed"
            )
        return self._output.value

    @property
    def split_type(self) -> SplitType:
        return self._output.split

    def __array__(self, dtype=None, copy=None):
        value = np.asarray(self.value())
        return value if dtype is None else value.astype(dtype, copy=False)

    def __getattr__(self, name):
        return getattr(self.value(), name)

    def __repr__(self) -> str:
        return repr(self.value())

    def __str__(self) -> str:
        return str(self.value())

    def __len__(self) -> int:
        return len(self.value())

    def __iter__(self):
        return iter(self.value())

    def __getitem__(self, key):
        return self.value()[key]

    def __float__(self) -> float:
        return float(self.value())

    def __int__(self) -> int:
        return int(self.value())

    def __index__(self) -> int:
        return operator.index(self.value())

    def __bool__(self) -> bool:
        return bool(self.value())

    def __format__(self, spec: str) -> str:
        return format(self.value(), spec)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """A NumPy ufunc on pending results inside a block is captured too, as an annotated
        call (elementwise: the pieces of its inputs give the pieces of its result), so NumPy
        code between two annotated calls runs piece by piece with them. Elsewhere (or with
        `out=`, or an input that is not a pending result or a scalar): NumPy's call on the
        values."""
        if method == "__call__" and not kwargs and _CAPTURE.depth > 0:
            captured = _captured_ufunc(ufunc, inputs)
            if captured is not None:
                return captured(*inputs)
        values = [i.value() if isinstance(i, Future) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.value() if isinstance(o, Future) else o for o in kwargs["out"])
        return getattr(ufunc, method)(*values, **kwargs)


def _captured_ufunc(ufunc, inputs) -> Annotated | None:
    """`ufunc` annotated for these inputs (pending results split, scalars broadcast), or None
    when they do not line up: results of other sizes or split types, or arrays (whose
    broadcasting against a pending result's unknown shape cannot be checked here)."""
    if ufunc.nout != 1 or ufunc.signature is not None:  # (a gufunc, matmul: not elementwise)
        return None
    specs, kinds = [], set()
    for x in inputs:
        if isinstance(x, Future):
            out = x._output
            if out.done or out.count is None or not out.split.splits:
                return None
            kinds.add((out.split, out.count))
            specs.append("S")
        elif np.ndim(x) == 0 and not isinstance(x, Future):
            specs.append("broadcast")
        else:
            return None
    if len(kinds) != 1:
        return None
    return _ufunc_annotation(ufunc, tuple(specs))


@functools.lru_cache(maxsize=256)
def _ufunc_annotation(ufunc, specs: tuple) -> Annotated:
    made = Annotated(ufunc, Annotation(ufunc.__name__, None, {}, specs, "S"))
    made.elementwise = ufunc  # (the executor may run it through an engine: `ENGINE`)
    return made


class ElementwiseEngine(abc.ABC):
    """What runs captured NumPy ufuncs piece by piece when one is registered
    (`register_engine`; daybreak.numpy registers itself): `apply(ufunc, values)` records the
    call on a piece's values (NumPy arrays, or earlier results of `apply`) and returns a
    pending value; `is_pending(v)`; `materialize(v)`, its NumPy values. Consecutive captured
    ufuncs of a stage then become one fused computation per piece."""

    min_piece = 1  # the fewest elements of a piece worth the engine's own cost per piece

    @abc.abstractmethod
    def apply(self, ufunc, values: list): ...

    @abc.abstractmethod
    def is_pending(self, value) -> bool: ...

    @abc.abstractmethod
    def materialize(self, value): ...


ENGINE: list = [None]


def register_engine(engine: ElementwiseEngine | None) -> None:
    """Run captured ufuncs through `engine` (None: NumPy's own calls, piece by piece)."""
    ENGINE[0] = engine


Future.__hash__ = None  # (equality is the value's, elementwise for arrays)
