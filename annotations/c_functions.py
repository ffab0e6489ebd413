"""C functions from a shared library, annotated by comments in their header text.

    lib = load("libvml.so", '''
        // @splittable(a: S, b: S, res: mut S)
        void vdAdd(long n, const double *a, const double *b, double *res);
        // @splittable(a: S, returns: sum)
        double vdSum(long n, const double *a);
    ''')
    lib.vdAdd(len(x), x, y, out)          # split into pieces, on every core
    total = lib.vdSum(len(x), x)

Each prototype becomes a Python function with the prototype's parameter names (`c_header`
parses the text). Arguments are checked at the boundary, so native code never reads or writes
outside an array: a pointer takes a NumPy array of the pointee's dtype (`const double *`:
float64) with at least `n` elements, where `n` is the function's size parameter — the one
annotated `size`, or else the one integer parameter before the pointers (MKL's and BLAS's
order). A `const` pointer reads a copy of a non-contiguous array; a writable one must be a
writeable array (a non-contiguous one is written through a copy, then back). C calls release
the GIL, so pieces run in parallel.

In an annotation, the size parameter is split with the arrays (each piece gets its own
length): `n` must equal the split arrays' length. Prototypes without an annotation are plain
checked functions.
"""

from __future__ import annotations

import ctypes
import inspect

import numpy as np

from daybreak.ir.errors import Loc
from daybreak.ir.types import BOOL, Scalar
from daybreak.runtime.udf import VectorCall, register_udf

from .annotation import Annotation, AnnotationError, mut
from .c_header import CParam, CPrototype, SpecText, parse_header
from .executor import SPLIT, SPLIT_MUT, WHOLE
from .graph import Annotated, Future
from .split_types import ARRAY_TYPES, BUILTIN_NAMES, ArraySplit, SizeSplit

# C base type -> (ctypes type of a value, NumPy dtype of an array of it)
_C_TYPES: dict[str, tuple] = {
    "double": (ctypes.c_double, np.float64),
    "float": (ctypes.c_float, np.float32),
    "char": (ctypes.c_char, np.int8),
    "signed char": (ctypes.c_byte, np.int8),
    "unsigned char": (ctypes.c_ubyte, np.uint8),
    "short": (ctypes.c_short, np.short),
    "unsigned short": (ctypes.c_ushort, np.ushort),
    "int": (ctypes.c_int, np.intc),
    "signed int": (ctypes.c_int, np.intc),
    "unsigned int": (ctypes.c_uint, np.uintc),
    "unsigned": (ctypes.c_uint, np.uintc),
    "long": (ctypes.c_long, np.dtype(f"i{ctypes.sizeof(ctypes.c_long)}")),
    "unsigned long": (ctypes.c_ulong, np.dtype(f"u{ctypes.sizeof(ctypes.c_ulong)}")),
    "long long": (ctypes.c_longlong, np.longlong),
    "unsigned long long": (ctypes.c_ulonglong, np.ulonglong),
    "size_t": (ctypes.c_size_t, np.uintp),
    "ssize_t": (ctypes.c_ssize_t, np.intp),
    "ptrdiff_t": (ctypes.c_ssize_t, np.intp),
    "bool": (ctypes.c_bool, np.bool_),
    "_Bool": (ctypes.c_bool, np.bool_),
    **{  # int8_t ... uint64_t
        f"{sign}int{b}_t": (getattr(ctypes, f"c_{sign}int{b}"), np.dtype(f"{kind}{b // 8}"))
        for sign, kind in (("", "i"), ("u", "u"))
        for b in (8, 16, 32, 64)
    },
}
_INTEGER_BASES = {k for k, (_, d) in _C_TYPES.items() if np.dtype(d).kind in "iu" and k != "char"}


class CLibrary:
    """The functions of one shared library, as attributes (`lib.vdAdd`)."""

    def __init__(self, path: str, functions: dict):
        self.path = path
        self.functions = functions
        self.__dict__.update(functions)

    def __repr__(self) -> str:
        return f"<daybreak.annotations C library {self.path}: {', '.join(self.functions)}>"


def located(message: str, loc: Loc) -> AnnotationError:
    """An AnnotationError pointing into the header text (line:col, the line and a caret)."""
    excerpt = loc.excerpt()
    return AnnotationError(f"{loc}: {message}" + (f"\n{excerpt}" if excerpt else ""))


def load(
    library_path: str,
    header_text: str,
    types: dict[str, str] | None = None,
    register: bool = True,
) -> CLibrary:
    """The functions the header declares, from the shared library at `library_path`.
    `types` names what typedefs stand for (`{"MKL_INT": "long"}`). With `register`, each
    annotated function of the vector convention (a size, `const` input arrays, scalars, and
    one output array or a scalar result) is also registered as the IR's native function
    `cudf[name, T]` (`register_udfs`), so compiled programs call it directly."""
    library = ctypes.CDLL(library_path)
    aliases = dict(types or {})
    functions = {}
    for proto in parse_header(header_text):
        try:
            native = getattr(library, proto.name)
        except AttributeError:
            raise located(f"{library_path} has no function {proto.name}", proto.loc) from None
        functions[proto.name] = _wrap(native, proto, aliases)
    loaded = CLibrary(library_path, functions)
    if register:
        register_udfs(loaded)
    return loaded


def register_udfs(library: CLibrary, prefix: str = "") -> list[str]:
    """Register the library's annotated functions of the vector convention as native
    functions of the IR, under `prefix + name`: `cudf[vdAdd, vec[f64]](a, b)` is `r` of
    `vdAdd(len(a), a, b, r)`, and `cudf[vdSum, f64](a)` is `vdSum(len(a), a)`. Returns the
    names registered (functions of other shapes are not)."""
    names = []
    for name, fn in library.functions.items():
        facts = getattr(fn, "vector_call", None)
        if facts is None or not isinstance(fn, Annotated):
            continue
        call, address, python = facts
        register_udf(prefix + name, python, address=address, vector=call)
        names.append(prefix + name)
    return names


def _c_type(base: str, loc: Loc, aliases: dict) -> tuple:
    found = _C_TYPES.get(aliases.get(base, base))
    if found is None:
        raise located(
            f"unknown C type {base!r} (name what it stands for: load(..., types={{{base!r}: "
            "'long'}}))",
            loc,
        )
    return found


def _wrap(native, proto: CPrototype, aliases: dict):
    """The checked Python function of one prototype (annotated when the header says so)."""
    params = proto.params
    specs = {s.key: s for s in proto.annotation or ()}
    argtypes = []
    for p in params:  # (unknown types first: they are what makes a size parameter unclear)
        ctype, _ = _c_type(p.base, p.loc, aliases)
        if p.pointer and p.base == "void":
            raise located(f"{p.name}: a void pointer has no element type to check", p.loc)
        argtypes.append(ctypes.c_void_p if p.pointer else ctype)
    size = _size_parameter(proto, specs, aliases)
    native.argtypes = argtypes
    native.restype = (
        None if proto.returns == "void" else _c_type(proto.returns, proto.loc, aliases)[0]
    )
    dtypes = [np.dtype(_c_type(p.base, p.loc, aliases)[1]) for p in params]
    checked = _checked_call(native, proto, dtypes, size)
    if proto.annotation is None:
        return checked
    annotated = {}
    for p in params:
        text = specs.get(p.name)
        if text is None:
            if p.pointer:
                raise located(
                    f"{proto.name}: pointer parameter {p.name} needs a split annotation (its "
                    "length is the size parameter's only when it is split with it)",
                    p.loc,
                )
            annotated[p.name] = SizeSplit() if p is size else "broadcast"
        else:
            annotated[p.name] = _spec(text, p, size)
    returns = specs.get("returns")
    returns = None if returns is None else _spec(returns, None, size)
    signature = inspect.Signature(
        [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    )
    try:
        annotation = Annotation(proto.name, signature, annotated, (), returns)
    except AnnotationError as why:
        raise located(str(why), proto.loc) from None
    wrapped = Annotated(checked, annotation, check=_whole_arrays_check(proto, dtypes))
    return_dtype = None
    if proto.returns != "void":
        return_dtype = np.dtype(_c_type(proto.returns, proto.loc, aliases)[1])
    wrapped.vector_call = _vector_call(native, proto, dtypes, size, return_dtype, checked)
    return wrapped


def _ir_type(dtype: np.dtype) -> Scalar:
    """The IR's scalar type of a C element type (NumPy kinds f, i, u and bool)."""
    return BOOL if dtype == np.bool_ else Scalar(f"{dtype.kind}{dtype.itemsize * 8}")


def _vector_call(native, proto: CPrototype, dtypes: list, size, return_dtype, checked):
    """(VectorCall, address, the call from Python) when the prototype has the vector shape
    (`register_udfs`), else None."""
    roles = []
    for p in proto.params:
        if p is size:
            roles.append("size")
        elif p.pointer:
            roles.append("in" if p.const else "out")
        else:
            roles.append("scalar")
    outs = roles.count("out")
    if "in" not in roles or outs > 1 or (outs == 1) == (return_dtype is not None):
        return None
    if any(d.kind not in "fiub" for d in dtypes):
        return None
    call = VectorCall(
        tuple(roles),
        tuple(_ir_type(d) for d in dtypes),
        None if return_dtype is None else _ir_type(return_dtype),
    )

    def python(*args):
        values = iter(args)
        given = [next(values) if r in ("in", "scalar") else None for r in roles]
        lengths = {len(v) for v, r in zip(given, roles, strict=True) if r == "in"}
        if len(lengths) != 1:
            raise ValueError(f"cudf[{proto.name}]: its vectors have different lengths")
        n = lengths.pop()
        out = None
        c_args = []
        for v, r, d in zip(given, roles, dtypes, strict=True):
            if r == "size":
                c_args.append(n)
            elif r == "in":
                c_args.append(np.ascontiguousarray(v, d))
            elif r == "out":
                out = np.empty(n, d)
                c_args.append(out)
            else:
                c_args.append(v)
        result = checked(*c_args)
        return out if out is not None else result

    return call, ctypes.cast(native, ctypes.c_void_p).value, python


def _spec(text: SpecText, param: CParam | None, size: CParam | None):
    """An annotation's spec as the Python annotation of the same meaning."""
    maker = BUILTIN_NAMES.get(text.name)
    if maker is not None:
        try:
            spec = maker(*text.args, **dict(text.kwargs))
        except TypeError as why:
            raise located(f"{text.name}: {why}", text.loc) from None
    elif text.args or text.kwargs:
        raise located(f"unknown split type {text.name}", text.loc)
    else:
        spec = text.name  # a generic variable
    if param is not None and param.pointer is False and param is not size and text.name != "size":
        if isinstance(spec, str) or spec.splits:
            raise located(f"{param.name} is not a pointer: it cannot be split", text.loc)
    return mut(spec) if text.mut else spec


def _size_parameter(proto: CPrototype, specs: dict, aliases: dict) -> CParam | None:
    """The parameter that gives the arrays' length (see the module docstring)."""
    marked = [p for p in proto.params if p.name in specs and specs[p.name].name == "size"]
    if len(marked) > 1:
        raise located(
            f"{proto.name}: only one parameter can be the size", specs[marked[1].name].loc
        )
    if marked:
        return marked[0]
    pointers = [k for k, p in enumerate(proto.params) if p.pointer]
    if not pointers:
        return None
    before = [
        p
        for p in proto.params[: pointers[0]]
        if not p.pointer and aliases.get(p.base, p.base) in _INTEGER_BASES and p.name not in specs
    ]
    if len(before) != 1:
        raise located(
            f"{proto.name}: which parameter is the arrays' length? annotate it `n: size`",
            proto.loc,
        )
    return before[0]


def _whole_arrays_check(proto: CPrototype, dtypes: list):
    """The checks of `_pointer_argument` that hold for a whole array as for its pieces (its
    type, dtype, writeability), made at the call: a wrong argument is the caller's TypeError
    or ValueError there, not a failure of the first piece."""

    def check(names: list, values: list) -> None:
        for p, d in zip(proto.params, dtypes, strict=True):
            if p.pointer and p.name in names:
                value = values[names.index(p.name)]
                if type(value) in ARRAY_TYPES:  # its pieces are NumPy arrays: their dtype
                    if value.dtype != d:
                        raise TypeError(
                            f"{proto.name}: {p.name} must be an array of {d}, not {value.dtype}"
                        )
                elif not isinstance(value, Future):
                    _pointer_argument(proto.name, p, value, d, None)

    return check


def _checked_call(native, proto: CPrototype, dtypes: list, size: CParam | None):
    """`native` behind the boundary checks (see the module docstring)."""
    params = proto.params
    names = [p.name for p in params]
    size_at = params.index(size) if size is not None else None

    def call(*args, **kwargs):
        values = _arguments(proto.name, names, args, kwargs)
        n = None
        if size_at is not None:
            n = values[size_at]
            if not isinstance(n, int | np.integer) or n < 0:
                raise ValueError(f"{proto.name}: {names[size_at]} must be an int >= 0, not {n!r}")
        natives, written, held = [], [], []
        for k, (p, value) in enumerate(zip(params, values, strict=True)):
            if not p.pointer:
                natives.append(value)
                continue
            array, back = _pointer_argument(proto.name, p, value, dtypes[k], n)
            held.append(array)  # (a contiguous copy lives until the call returns)
            natives.append(array.ctypes.data if array.size else None)
            if back is not None:
                written.append((back, array))
        result = native(*natives)
        del held
        for target, copy in written:
            target[...] = copy
        return result

    call.piece_call = _piece_call(native, params, dtypes, size_at)
    call.__name__ = call.__qualname__ = proto.name
    call.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    return call


def _piece_call(native, params: tuple, dtypes: list, size_at: int | None):
    """`piece_call(plan)` for the executor (`Stage._step`): when every pointer argument is a
    C-contiguous array of its exact dtype split along its first axis, and the size is split
    with them, a step that passes the piece's length and addresses into the whole arrays —
    the checks done once for the whole arrays (a piece is inside them), no view, no copy.
    None: the general step (views, checked per piece)."""

    def prepare(plan: list):
        if len(plan) != len(params):
            return None
        fixed = []  # per parameter: ("n", _) | ("at", (address, row bytes)) | ("value", v)
        for k, (p, (how, value, split)) in enumerate(zip(params, plan, strict=True)):
            if k == size_at:
                if how is not SPLIT or not isinstance(split, SizeSplit):
                    return None
                fixed.append(("n", None))
            elif not p.pointer:
                if how is not WHOLE:
                    return None
                fixed.append(("value", value))
            elif (
                how in (SPLIT, SPLIT_MUT)
                and isinstance(split, ArraySplit)
                and split.axis == 0
                and type(value) is np.ndarray
                and value.ndim >= 1
                and value.dtype == dtypes[k]
                and value.flags.c_contiguous
                and (p.const or value.flags.writeable)
            ):
                fixed.append(("at", (value.ctypes.data, value.strides[0])))
            else:
                return None

        def step(start: int, stop: int, here: dict):
            args = []
            for kind, payload in fixed:
                if kind == "at":
                    args.append(payload[0] + start * payload[1])
                elif kind == "n":
                    args.append(stop - start)
                else:
                    args.append(payload)
            return native(*args)

        return step

    return prepare


def _arguments(name: str, names: list[str], args: tuple, kwargs: dict) -> list:
    if len(args) > len(names):
        raise TypeError(f"{name}() takes {len(names)} arguments ({len(args)} given)")
    values = list(args) + [kwargs.pop(k) for k in names[len(args) :] if k in kwargs]
    if kwargs or len(values) != len(names):
        missing = [k for k in names[len(values) :]]
        extra = ", ".join(kwargs)
        raise TypeError(
            f"{name}() " + (f"got unexpected arguments {extra}" if extra else f"missing {missing}")
        )
    return values


def _pointer_argument(name: str, p: CParam, value, dtype: np.dtype, n: int | None):
    """(the array whose buffer is passed, the array to copy it back into or None)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name}: {p.name} must be a NumPy array of {dtype}, not {type(value).__name__}"
        )
    if value.dtype != dtype:
        raise TypeError(f"{name}: {p.name} must be an array of {dtype}, not {value.dtype}")
    if n is not None and value.size < n:
        raise ValueError(f"{name}: {p.name} has {value.size} elements, fewer than {n}")
    if not p.const and not value.flags.writeable:
        raise ValueError(f"{name}: {p.name} is written by the function, but the array is read-only")
    if value.flags.c_contiguous:
        return value, None
    copy = np.ascontiguousarray(value)
    return copy, (None if p.const else value)
