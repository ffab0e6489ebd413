"""What every backend provides: `compile(program) -> Executable`.

    >>> from daybreak.backends import get_backend
    >>> from daybreak.ir.parser import parse
    >>> f = get_backend("interp").compile(parse("|a: i64, b: i64| a * b"))
    >>> f(6, 7), f.signature
    (np.int64(42), '|a: i64, b: i64| -> i64')

An `Executable` holds the typed program and is called with Python values (NumPy arrays,
scalars, tuples, dicts: see `daybreak.runtime.marshal`), by position or by parameter name.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from ..ir.nodes import Program


@runtime_checkable
class Backend(Protocol):
    name: str

    def compile(self, program: Program) -> Executable:
        """Type-check and compile `program`; raise TypeCheckError / UnsupportedError."""
        ...


class Executable(abc.ABC):
    """A compiled program. Subclasses implement `__call__`; `bind_arguments` checks arity."""

    backend: str = ""

    def __init__(self, program: Program):
        self.program = program  # typed: every node has .ty

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.program.params)

    @property
    def signature(self) -> str:
        params = ", ".join(f"{p.name}: {p.type}" for p in self.program.params)
        return f"|{params}| -> {self.program.return_type}"

    def bind_arguments(self, args: Sequence, kwargs: Mapping) -> list:
        """The arguments in parameter order, from positional and keyword arguments; a
        TypeError that shows the signature when they do not fit."""
        names = self.param_names
        if len(args) > len(names):
            raise TypeError(
                f"the program {self.signature} takes {len(names)} argument"
                f"{'' if len(names) == 1 else 's'}, got {len(args)}"
            )
        bound = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError(f"the program {self.signature} has no parameter {name!r}")
            if name in bound:
                raise TypeError(f"parameter {name!r} is given twice")
            bound[name] = value
        missing = [n for n in names if n not in bound]
        if missing:
            listed = ", ".join(repr(n) for n in missing)
            raise TypeError(f"the program {self.signature} is missing {listed}")
        return [bound[n] for n in names]

    @abc.abstractmethod
    def __call__(self, *args, **kwargs):
        """Run the program on Python values; return Python/NumPy values."""

    def run(self, args: Sequence, threads: int):
        """`self(*args)` with at most `threads` threads (the scheduler keeps small runs to
        the calling thread). Backends that take the count per call override this."""
        from ..runtime.config import SETTINGS

        before, SETTINGS.threads = SETTINGS.threads, min(threads, SETTINGS.threads)
        try:
            return self(*args)
        finally:
            SETTINGS.threads = before

    def partial(self, fixed: Mapping[int, object]):
        """`run` with the parameters at the positions in `fixed` bound to its values: a
        function of the other parameters' values (in order) and the thread count. Backends
        that can prepare the bound values once override this."""
        count = len(self.program.params)
        free = [k for k in range(count) if k not in fixed]

        def call(values: Sequence, threads: int, into=None):
            # (`into`, a destination for the result: backends that write one override this)
            args: list = [None] * count
            for k, value in fixed.items():
                args[k] = value
            for k, value in zip(free, values, strict=True):
                args[k] = value
            return self.run(args, threads)

        return call

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.signature} on {self.backend}>"
