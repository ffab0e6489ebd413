"""The interp backend: runs programs on the reference interpreter (`daybreak.ir.interp`).

It is the oracle the other backends are tested against, and the fallback that always works.

    >>> import numpy as np
    >>> from daybreak.ir.parser import parse
    >>> text = "|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x * x)))"
    >>> f = InterpBackend().compile(parse(text))
    >>> f(np.array([1.0, 2.0, 3.0]))
    np.float64(14.0)
"""

from __future__ import annotations

import time

from ..ir.interp import compile_program
from ..ir.nodes import Program
from ..ir.typecheck import typecheck
from ..runtime.marshal import call_python_udf, from_interp, to_interp
from ..runtime.stats import record_run
from ..runtime.udf import RegisteredUdf, registered_udfs
from .base import Executable


class InterpBackend:
    name = "interp"

    def compile(self, program: Program) -> InterpExecutable:
        return InterpExecutable(typecheck(program))


class InterpExecutable(Executable):
    backend = "interp"

    def __init__(self, program: Program):
        super().__init__(program)
        self.compiled = compile_program(program)

    def __call__(self, *args, **kwargs):
        values = self.bind_arguments(args, kwargs)
        inputs = [
            to_interp(v, p.type, p.name) for v, p in zip(values, self.program.params, strict=True)
        ]
        start = time.perf_counter()
        out = self.compiled.run(inputs, registered_udfs(), call_udf=_call_udf)
        result = from_interp(out, self.program.return_type)
        record_run(time.perf_counter() - start, values, result)
        return result


def _call_udf(name, fn, values, arg_types, ret_type):
    # UDFs come from the registry (runtime.udf); a declared signature is checked at each call,
    # since a function may be registered after the program was compiled.
    if isinstance(fn, RegisteredUdf):
        fn.check_call(arg_types, ret_type)
    return call_python_udf(name, fn, values, arg_types, ret_type)
