"""Whether the user's statement running now calls only daybreak until it stores its value.

A lazy value made from the user's memory must mean what that memory held when it was made;
a write guard (`snapshots.py`) makes that hold whatever runs next, at two system calls and
their bookkeeping per statement (~90 us of jacobi_2d's 250 us statement). Most statements
that read the user's memory store their value into a daybreak array at once:

    B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])

Between the first read of `A` and the store, the interpreter runs this statement's
instructions and nothing else: loads of names and constants, slices, subscripts and
operators on daybreak arrays, numbers and keys, calls of daybreak's functions (`np.sqrt`,
`np.add.outer` of `daybreak.numpy`, its arrays' methods) on those — each of which runs
daybreak's code or NumPy's (numeric data: no user code) — and the store into a daybreak
array, which computes the value. Nothing can write `A` before the value is computed, so the
value may read `A` itself, unguarded, until the store ends the statement (`snapshots.take`).

`stores_at_once(user_frame())` says whether the innermost statement outside daybreak is
such a statement: its bytecode, from its start to its store, holds only those instructions (per
code object and instruction, found once), and the names it loads hold daybreak arrays,
numbers, keys or numeric NumPy arrays now (the statement cannot rebind them: it stores no
name). A module's attributes are read at each ask (they may be rebound), the rest is
remembered per kinds of the names. Anything else — a call of any other function or object,
a function handed to one of daybreak's, a name bound to any other object, a jump, an
instruction this table does not know (another Python's) — is "no": the guard as before. Not
while a trace or profile function runs (a debugger stops between a statement's lines), nor
where the interpreter's bytecode is not CPython's.

What this leaves open, as NumPy does: another thread writing the memory while the
statement runs (a data race either way), a Python signal handler that writes it, a
warning or logging handler of the user's (NumPy's floating-point warnings, daybreak's
fallback log), and a finalizer the cyclic collector runs mid-statement, that writes it.
"""

from __future__ import annotations

import bisect
import dis
import functools
import sys
import types
from collections.abc import Callable

import numpy as np

_PACKAGE = __name__.rsplit(".", 2)[0] + "."  # "daybreak."

# What the walk below knows a value to be: a daybreak array, a number, a key (a slice, a
# tuple of keys, None, Ellipsis), a NumPy array of numbers, the NULL a call takes; and, with
# the object itself, one of daybreak's modules or functions (("module", m), ("function", f)).
# Anything else stops it.
ARRAY, NUMBER, KEY, NUMPY, NULL = "array", "number", "key", "numpy", "null"
KWNAMES = "keyword names"
MODULE, FUNCTION = "module", "function"
CONVERT = "convert"  # ("convert", float | int | bool): a value statement's last call
_ARRAY_TYPES: set[type] = set()  # daybreak's arrays (exact types: a subclass may run anything)
_NUMBER_TYPES = (int, float, bool, complex)
_NUMERIC_KINDS = frozenset("biufc")

# Instructions a statement may hold: (pops, pushes) or a function of the walk's stack.
_LOADS = frozenset(
    {
        "LOAD_FAST",
        "LOAD_FAST_CHECK",
        "LOAD_NAME",
        "LOAD_GLOBAL",
        "LOAD_DEREF",
        "LOAD_FAST_LOAD_FAST",
    }
)
_TWO_LOADS = "LOAD_FAST_LOAD_FAST"  # (3.13: two locals at once, `argval` their names)
_NOTHING = frozenset({"NOP", "CACHE", "EXTENDED_ARG", "PRECALL", "KW_NAMES"})
_STORES = frozenset({"STORE_SUBSCR", "STORE_SLICE"})
_KNOWN = (
    _LOADS
    | _NOTHING
    | _STORES
    | {
        "LOAD_CONST",
        "BUILD_SLICE",
        "BUILD_TUPLE",
        "BINARY_SUBSCR",
        "BINARY_SLICE",
        "BINARY_OP",
        "COMPARE_OP",
        "UNARY_NEGATIVE",
        "UNARY_POSITIVE",
        "UNARY_INVERT",
        "COPY",
        "SWAP",
        "LOAD_ATTR",
        "LOAD_METHOD",
        "PUSH_NULL",
        "CALL",
        "CALL_KW",
    }
)

_LISTINGS: dict = {}  # code -> (its instructions, their positions by offset)
_SPANS: dict = {}  # (code, offset) -> the statement's instructions, or None
_VERDICTS: dict = {}  # (code, offset, the loaded values' kinds) -> bool
_LIMIT = 4096


def register_function(fn) -> None:
    """A function of another library (NumPy's `sum`) that a frontend takes over for its
    arrays (`__array_function__`) and that runs no user code on the kinds the walk knows:
    a call the statement may hold."""
    _FUNCTIONS[id(fn)] = fn


_FUNCTIONS: dict = {}  # id -> function (held: its id is not another's)


def register_array_type(kind: type) -> None:
    """A frontend's lazy array type, whose operators and stores are daybreak's."""
    _ARRAY_TYPES.add(kind)


def user_frame():
    """The innermost frame outside daybreak (the user's statement), or None."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame = frame.f_back
    return frame


def stores_at_once(frame) -> tuple | None:
    """(id(frame), code, first offset, store's offset) of the statement `frame` runs, where
    it runs only daybreak's operators (and NumPy's on numbers) until it stores into a
    daybreak array (see the module docstring); else None. Within one run of the statement,
    `within(frame, found)` holds."""
    if frame is None:
        return None
    return _at_once(frame, frame.f_lasti)


def _at_once(frame, offset: int) -> tuple | None:
    """`stores_at_once` for the instruction at `offset` of `frame`'s code."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return None
    code = frame.f_code
    span = _SPANS.get((code, offset), False)
    if span is False:
        if len(_SPANS) >= _LIMIT:
            _SPANS.clear()
        span = _SPANS[(code, offset)] = _statement(code, offset)
    if span is None:
        return None
    instructions, names, first, last, _ = span
    try:
        values = frame.f_locals if names else {}
        if type(values) not in _LOCALS:
            return None  # (exec's locals of another mapping: its lookups may differ)
        kinds = tuple(_kind_of_name(name, how, values, frame) for how, name in names)
    except Exception:  # noqa: BLE001 - a frame's locals it cannot give: not a statement to trust
        return None
    key = (code, offset, kinds)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        walked = Walk(iter(kinds))
        verdict = None not in kinds and walked.run(instructions)
        if not walked.resolved:  # (a module's attributes may be rebound: asked each time)
            if len(_VERDICTS) >= _LIMIT:
                _VERDICTS.clear()
            _VERDICTS[key] = verdict
    return (id(frame), code, first, last) if verdict else None


def within(frame, found: tuple) -> bool:
    """Whether `frame` runs the statement `stores_at_once` found (`found`)."""
    return (
        frame is not None
        and id(frame) == found[0]
        and frame.f_code is found[1]
        and found[2] <= frame.f_lasti <= found[3]
    )


def _statement(code: types.CodeType, offset: int):
    """(the statement's instructions, the names it loads as (instruction, name), its first
    offset, its store's offset) for the instruction at `offset` of `code`, or None where the
    statement holds an instruction the walk does not know, a jump target after its start,
    or ends otherwise than by a store."""
    listing, where = _listing(code)
    at = where.get(offset)
    if at is None or listing[at].opname not in _KNOWN or listing[at].opname in _STORES:
        return None
    start = _start(listing, at)
    end = at + 1
    while end < len(listing) and listing[end].opname not in _STORES:
        ins = listing[end]
        if ins.opname not in _KNOWN or ins.is_jump_target:
            return None
        end += 1
    if end == len(listing) or listing[end].is_jump_target:
        return None
    return _span(listing[start : end + 1])


def _start(listing: list, at: int) -> int:
    """The first instruction of the statement holding instruction `at`: back over the
    instructions the walk knows, to a jump target or a store."""
    start = at
    while (
        start > 0
        and not listing[start].is_jump_target
        and listing[start - 1].opname in _KNOWN
        and listing[start - 1].opname not in _STORES
    ):
        start -= 1
    return start


def _span(body: list) -> tuple:
    """(the instructions, the names they load, the first offset, the last's, every
    offset) of a statement's instructions `body`."""
    steps = tuple((ins.opname, ins.arg, ins.argval) for ins in body)
    offsets = tuple(ins.offset for ins in body)
    return steps, _names(body), offsets[0], offsets[-1], offsets


def _kind_of_name(name: str, how: str, local: dict, frame) -> str | None:
    # (`value_of_name` inline: asked for every name of a statement at every ask)
    if how == "LOAD_FAST" or how == "LOAD_FAST_CHECK" or how == "LOAD_DEREF":
        found = local.get(name, MISSING)
    else:  # (LOAD_NAME: the frame's names first; LOAD_GLOBAL: the module's)
        found = local.get(name, MISSING) if how == "LOAD_NAME" else MISSING
        if found is MISSING:
            found = frame.f_globals.get(name, MISSING)
        if found is MISSING:
            found = frame.f_builtins.get(name, MISSING)
    return None if found is MISSING else kind_of(found)


MISSING = object()


# A frame's names as the interpreter reads them: a dict (a module's, exec's, 3.11-3.12's
# snapshot of a function's), or 3.13's view of a function's (PEP 667)
def _function_locals() -> type:
    return type(sys._getframe().f_locals)


_LOCALS = frozenset({dict, _function_locals()})
LOCALS = _LOCALS  # (the mappings whose lookups the walk reads as the interpreter does)
_BOUND = frozenset({"array", "number", "key", "numpy"})  # (ARRAY, NUMBER, KEY, NUMPY)


def kind_of(value) -> str | None:
    """What the walk knows `value` to be, or None (anything else)."""
    kind = type(value)
    if kind in _ARRAY_TYPES:
        return ARRAY
    if kind in _NUMBER_TYPES:
        return NUMBER
    if kind is np.ndarray:
        return NUMPY if value.dtype.kind in _NUMERIC_KINDS else None
    if isinstance(value, np.generic):
        return NUMBER if value.dtype.kind in _NUMERIC_KINDS else None
    if value is None or value is Ellipsis or kind is slice:
        return KEY
    if kind is tuple:
        return KEY if all(kind_of(v) in (KEY, NUMBER, ARRAY) for v in value) else None
    if kind is types.ModuleType:
        return (MODULE, value) if value.__name__.startswith(_PACKAGE) else None
    if value is float or value is int or value is bool:
        return (CONVERT, value)
    return (FUNCTION, value) if _daybreaks(value) else None


def _daybreaks(fn) -> bool:
    """Whether calling `fn` runs daybreak's code (a ufunc of daybreak.numpy, a function
    daybreak defines, one of those with NumPy's ufuncs or values of kinds the walk knows
    bound: never a function of the user's, which it would call)."""
    if _FUNCTIONS.get(id(fn)) is fn:
        return True
    kind = type(fn)
    if kind is functools.partial:
        bound = (*fn.args, *fn.keywords.values())
        if not all(type(v) is np.ufunc or kind_of(v) in _BOUND for v in bound):
            return False
        fn, kind = fn.func, type(fn.func)
    if kind is types.FunctionType:
        return getattr(fn, "__module__", "").startswith(_PACKAGE)
    return kind.__module__.startswith(_PACKAGE) and kind.__name__ == "UfuncWrapper"


def statement_code(
    frame, at_store: bool = False, at_value: bool = False, chained: bool = False
) -> tuple | None:
    """For the statement `frame` runs (`at_store`: `frame` is at its store), where
    `stores_at_once` holds — or (`at_value`) the *value statement* whose last call `frame`
    is at, `float(...)`, `int(...)` or `bool(...)` of an array after nothing but daybreak's
    operators — (the names it loads, as (instruction, name); the extents (first
    offset, next instruction's offset) of its instructions that run code of an array or of
    one of daybreak's functions (operators, subscripts, attributes, calls); its first offset;
    its store's offset; the attributes of
    daybreak's modules it reads, as (module, name, value)). None otherwise. (What
    `numpy.replay` records a statement by: asked once per recording, not per run.)
    `chained` (with `at_store`): a chained store's first part counts too, `a[r] = b[s] =
    f(x)` up to its first store (`_chained`), whose value is left over for the next."""
    offset = frame.f_lasti
    leftover = 0
    if at_value:
        span = _value_statement(frame.f_code, offset)
        if span is None or sys.gettrace() is not None or sys.getprofile() is not None:
            return None
    else:
        if at_store:
            listing, where = _listing(frame.f_code)
            at = where.get(offset)
            if not at or listing[at].opname not in _STORES:
                return None
            offset = listing[at - 1].offset
        if _at_once(frame, offset) is not None:
            span = _SPANS[(frame.f_code, offset)]
        elif chained and at_store and _SPANS.get((frame.f_code, offset)) is not None:
            span, leftover = _SPANS[(frame.f_code, offset)], 1
            if sys.gettrace() is not None or sys.getprofile() is not None:
                return None
            if not _chained(frame.f_code, span[3]):
                return None
        else:
            return None
    instructions, names, first, last, offsets = span
    try:
        values = frame.f_locals if names else {}
        if type(values) not in _LOCALS:
            return None
        kinds = [_kind_of_name(name, how, values, frame) for how, name in names]
    except Exception:  # noqa: BLE001 - a frame's locals it cannot give: not a statement to trust
        return None
    walked = Walk(iter(kinds))
    walked.touched, walked.attributes, walked.converts = [], [], at_value
    walked.leftover = leftover
    if None in kinds or not walked.run(instructions, offsets):
        return None
    listing, where = _LISTINGS[frame.f_code]
    # (an instruction's extent: `f_lasti` in a call from it is its offset or, from 3.11's
    # specialised forms, one of its inline caches')
    touched = tuple(
        (at, listing[where[at] + 1].offset if where[at] + 1 < len(listing) else at + 2)
        for at in walked.touched
    )
    return names, touched, first, last, tuple(walked.attributes)


def _chained(code: types.CodeType, store: int) -> bool:
    """Whether the store at offset `store` is a chained store's first (`a[r] = b[s] = v`):
    its value copied (`COPY 1`) before its target, and nothing but the next target's
    loads and key (`_TARGET_PARTS`) up to the next store."""
    listing, where = _listing(code)
    at = where[store]
    before = at - 1
    while before > 0 and listing[before].opname in _TARGET_PARTS:
        before -= 1
    if listing[before].opname != "COPY" or listing[before].arg != 1:
        return False
    after = at + 1
    while after < len(listing) and listing[after].opname in _TARGET_PARTS:
        if listing[after].is_jump_target:
            return False
        after += 1
    return after < len(listing) and listing[after].opname in _STORES


# What loads a store's target and key: names, constants, arithmetic on them (`i + 1`),
# slices and tuples (the first target's key the walk has read; the next one's runs after the
# first store, as any code does)
_TARGET_PARTS = _LOADS | _NOTHING | {"LOAD_CONST", "BUILD_SLICE", "BUILD_TUPLE", "BINARY_OP"}


def _value_statement(code: types.CodeType, offset: int):
    """`_statement`'s span for a value statement: from the statement's first instruction to
    the call (of one argument) at `offset` (or whose inline caches `offset` is in), or None."""
    key = (code, offset, CONVERT)
    span = _SPANS.get(key, False)
    if span is not False:
        return span
    listing, where = _listing(code)
    at = bisect.bisect_right([ins.offset for ins in listing], offset) - 1
    span = None
    if at > 0 and listing[at].opname in ("CALL", "PRECALL") and listing[at].arg == 1:
        if listing[at].opname == "PRECALL":  # (3.11: the call is next)
            at += 1
        if listing[at].opname == "CALL":
            body = listing[_start(listing, at) : at + 1]
            if all(i.opname in _KNOWN and i.opname not in _STORES for i in body) and not any(
                i.is_jump_target for i in body[1:]
            ):
                span = _span(body)
    if len(_SPANS) >= _LIMIT:
        _SPANS.clear()
    _SPANS[key] = span
    return span


def _names(body: list) -> tuple:
    """The names instructions of `body` load, as (instruction, name), in order."""
    found = []
    for ins in body:
        if ins.opname == _TWO_LOADS:
            found += [("LOAD_FAST", ins.argval[0]), ("LOAD_FAST", ins.argval[1])]
        elif ins.opname in _LOADS:
            found.append((ins.opname, ins.argval))
    return tuple(found)


def _listing(code: types.CodeType) -> tuple:
    """(`code`'s instructions, their positions by offset), read once per code object."""
    found = _LISTINGS.get(code)
    if found is None:
        if len(_LISTINGS) >= _LIMIT:
            _LISTINGS.clear()
        listing = list(dis.get_instructions(code))  # (~0.2-1 ms a kernel: once per code)
        found = _LISTINGS[code] = (listing, {ins.offset: k for k, ins in enumerate(listing)})
    return found


def may_write_operands(code: types.CodeType, first: int, last: int) -> bool:
    """Whether the statement of `code` from offset `first` to `last` may write one of its
    operands in place: an in-place operator (`a[i] += v` writes what `a[i]` gave) or a
    method of NumPy's that writes its array (`a[k].sort()`). A statement that writes none
    only reads what its calls give it, until its store."""
    listing, where = _listing(code)
    for ins in listing[where[first] : where[last] + 1]:
        if ins.opname == "BINARY_OP" and ins.argrepr.endswith("="):
            return True
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in _WRITING_METHODS:
            return True
    return False


def named_statement(code: types.CodeType, offset: int) -> tuple | None:
    """(first offset, the name store's offset) of the statement holding the instruction at
    `offset` that binds its value to a name (`mask = (r1 <= r) & (r < r2)`): its
    instructions from the last store or jump target before it to the name store, all of
    them ones the walk knows (`_statement`'s, no jump into it); None otherwise. What runs
    between is not asked: a statement run at once calls NumPy's own at every daybreak call
    it makes (`numpy.replay.AtOnce`), whatever else runs."""
    listing, where = _listing(code)
    at = where.get(offset)
    if at is None:
        at = bisect.bisect_right([ins.offset for ins in listing], offset) - 1
    if at < 0 or listing[at].opname not in _KNOWN or listing[at].opname in _STORES:
        return None
    start = _start(listing, at)
    end = at + 1
    while end < len(listing) and listing[end].opname in _KNOWN:
        if listing[end].opname in _STORES or listing[end].is_jump_target:
            return None
        end += 1
    if end == len(listing) or listing[end].opname not in _NAME_STORES:
        return None
    return listing[start].offset, listing[end].offset


_NAME_STORES = frozenset({"STORE_FAST", "STORE_NAME", "STORE_GLOBAL", "STORE_DEREF"})


def in_loop(code: types.CodeType, first: int, last: int) -> bool:
    """Whether the statement of `code` from offset `first` to `last` lies in a loop: a jump
    back from after it to it or before it."""
    listing, _ = _listing(code)
    return any(
        ins.opname in _BACKWARD and ins.offset > last and ins.argval <= first for ins in listing
    )


_BACKWARD = frozenset({"JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE"})


# NumPy's array methods that write their array (or may: `out=` of the others is a keyword,
# which a statement run at once passes on as it is)
_WRITING_METHODS = frozenset(
    "fill sort partition put itemset resize setfield setflags byteswap __setitem__ "
    "__iadd__ __isub__ __imul__ __itruediv__ __ifloordiv__ __imod__ __ipow__ __imatmul__ "
    "__iand__ __ior__ __ixor__ __ilshift__ __irshift__".split()
)


def value_of_name(how: str, name: str, local, frame):
    """The value instruction `how` loads for `name` in `frame` now (`local`: its
    `f_locals`), or `MISSING`."""
    if how == "LOAD_FAST" or how == "LOAD_FAST_CHECK" or how == "LOAD_DEREF":
        return local.get(name, MISSING)
    found = local.get(name, MISSING) if how == "LOAD_NAME" else MISSING
    if found is MISSING:
        found = frame.f_globals.get(name, MISSING)
    if found is MISSING:
        found = frame.f_builtins.get(name, MISSING)
    return found


# Instructions that run code of what they read, and how many stack entries they read (a
# call: its arguments and the callable's pair, `_call`)
_READS = {
    "BINARY_OP": 2,
    "COMPARE_OP": 2,
    "UNARY_NEGATIVE": 1,
    "UNARY_POSITIVE": 1,
    "UNARY_INVERT": 1,
    "BINARY_SUBSCR": 2,
    "BINARY_SLICE": 3,
    "LOAD_ATTR": 1,
    "LOAD_METHOD": 1,
}


def _runs_code(stack: list, name: str, arg) -> bool:
    """Whether instruction `name` meets an array or one of daybreak's functions."""
    if name == "CALL" or name == "CALL_KW":
        read = stack[-(arg + 2 + (name == "CALL_KW")) :]
    elif name == "LOAD_METHOD" or (name == "LOAD_ATTR" and sys.version_info >= (3, 12) and arg & 1):
        return False  # (a method's load: its call runs its code, and counts)
    else:
        count = _READS.get(name)
        if count is None:
            return False
        read = stack[-count:]
    return any(k == ARRAY or k == NUMPY or (type(k) is tuple and k[0] == FUNCTION) for k in read)


class Walk:
    """The statement run on kinds (`run`): whether every operator and call meets kinds whose
    code is daybreak's or NumPy's, and the store writes a daybreak array with nothing left
    over. `resolved`: an attribute of a module was read (the verdict holds for now only).
    `touched`, where a list: the offsets of the instructions that run an array's or a
    function's code are added to it (`statement_code`)."""

    def __init__(self, loaded):
        self.loaded, self.resolved, self.touched, self.attributes = loaded, False, None, None
        # (a value statement: its last call converts an array, and did)
        self.converts = self.converted = False
        self.leftover = 0  # (what the stack may hold at the store: a chained store's value)

    def run(self, instructions: tuple, offsets: tuple = ()) -> bool:
        stack: list = []
        for at, (name, arg, value) in enumerate(instructions):
            if self.touched is not None and _runs_code(stack, name, arg):
                self.touched.append(offsets[at])
            if name == _TWO_LOADS:
                stack += [next(self.loaded), next(self.loaded)]
                continue
            if name in _LOADS:
                if name == "LOAD_GLOBAL" and arg & 1:
                    stack.append(NULL)  # (the NULL a call takes, pushed with the callable)
                stack.append(next(self.loaded))
                continue
            if name in _NOTHING:
                continue
            step = _STEPS.get(name)
            if step is None:
                step = getattr(self, "_" + name.lower(), None)
                if step is None:
                    return False
            if not step(stack, arg, value):
                return False
        if self.converts:
            return stack == [NUMBER] and self.converted
        return len(stack) == self.leftover

    def _attribute(self, found, name: str):
        """The kind of attribute `name` of a value of kind `found`."""
        if found == ARRAY:
            return ARRAY  # (daybreak's own, exact type: a property or a method)
        if found == NUMPY:
            return NUMPY  # (NumPy's, of an array of numbers)
        if type(found) is tuple:  # a daybreak module or function: read it now
            self.resolved = True
            try:
                value = getattr(found[1], name)
            except AttributeError:
                return None
            if self.attributes is not None:
                self.attributes.append((found[1], name, value))
            return kind_of(value)
        return None

    def _load_attr(self, stack, arg, value) -> bool:
        found = _pop(stack, 1)
        if found is None:
            return False
        made = self._attribute(found[0], value)
        if made is None:
            return False
        if sys.version_info >= (3, 12) and arg & 1:
            stack.append(NULL)  # (3.12's method form: the pair a call takes)
        stack.append(made)
        return True

    def _load_method(self, stack, arg, value) -> bool:  # (3.11)
        found = _pop(stack, 1)
        made = None if found is None else self._attribute(found[0], value)
        if made is None:
            return False
        stack += [NULL, made]
        return True

    def _push_null(self, stack, arg, value) -> bool:
        stack.append(NULL)
        return True

    def _call_kw(self, stack, arg, value) -> bool:  # (3.13: the names on top)
        return _pop(stack, 1) == [KWNAMES] and self._call(stack, arg, value)

    def _call(self, stack, arg, value) -> bool:
        """A call of one of daybreak's functions (a method of its arrays, or of NumPy's
        arrays of numbers) on arguments of kinds the walk knows: an array."""
        found = _pop(stack, arg + 2)
        if found is None:
            return False
        pair, args = found[:2], found[2:]
        if NULL not in pair:
            return False
        callee = pair[1] if pair[0] == NULL else pair[0]
        if self.converts and type(callee) is tuple and callee[0] == CONVERT:
            # `float(x)`: the value statement's end (`_value_statement`: its last call)
            if args != [ARRAY] or stack:
                return False
            stack.append(NUMBER)
            self.converted = True
            return True
        if not (callee in (ARRAY, NUMPY) or (type(callee) is tuple and callee[0] == FUNCTION)):
            return False
        if any(a not in (ARRAY, NUMBER, KEY, NUMPY) for a in args):
            return False
        stack.append(ARRAY)
        return True


def _pop(stack: list, n: int) -> list | None:
    if len(stack) < n:
        return None
    taken = stack[-n:] if n else []
    del stack[len(stack) - n :]
    return taken


def _const(stack, arg, value) -> bool:
    if type(value) is tuple and value and all(type(v) is str for v in value):
        stack.append(KWNAMES)  # (3.13: the keywords' names a CALL_KW takes)
        return True
    stack.append(kind_of(value))
    return stack[-1] is not None


def _build(stack, arg, value) -> bool:
    parts = _pop(stack, arg)
    if parts is None or any(p not in (KEY, NUMBER, ARRAY) for p in parts):
        return False
    stack.append(KEY)
    return True


def _operands(kinds: list) -> str | None:
    """The kind an operator on `kinds` makes, where its code is daybreak's or NumPy's."""
    if any(k not in _VALUES for k in kinds):
        return None  # (a key, a module, a function, the NULL of a call: not an operand)
    if ARRAY in kinds:
        return ARRAY  # (daybreak's method, or NumPy's deferring to it)
    return NUMPY if NUMPY in kinds else NUMBER


_VALUES = (ARRAY, NUMBER, NUMPY)


def _binary(stack, arg, value) -> bool:
    found = _pop(stack, 2)
    made = None if found is None else _operands(found)
    stack.append(made)
    return made is not None


def _unary(stack, arg, value) -> bool:
    found = _pop(stack, 1)
    made = None if found is None else _operands(found)
    stack.append(made)
    return made is not None


def _subscript(stack, arg, value) -> bool:
    found = _pop(stack, 2)
    if found is None:
        return False
    container, key = found
    if key not in (KEY, NUMBER, ARRAY, NUMPY) or container not in (ARRAY, NUMPY):
        return False
    stack.append(ARRAY if container == ARRAY or key == ARRAY else NUMPY)
    return True


def _slice(stack, arg, value) -> bool:  # (3.12: `x[a:b]`)
    found = _pop(stack, 3)
    if (
        found is None
        or found[0] not in (ARRAY, NUMPY)
        or any(k not in (NUMBER, KEY) for k in found[1:])
    ):
        return False
    stack.append(found[0])
    return True


def _store(stack, arg, value) -> bool:
    found = _pop(stack, 3)  # value, container, key
    return (
        found is not None
        and found[1] == ARRAY
        and found[0] in (ARRAY, NUMBER, NUMPY)
        and found[2] in (KEY, NUMBER, ARRAY, NUMPY)
    )


def _store_slice(stack, arg, value) -> bool:  # (3.12: `x[a:b] = v`)
    found = _pop(stack, 4)  # value, container, start, stop
    return (
        found is not None
        and found[1] == ARRAY
        and found[0] in (ARRAY, NUMBER, NUMPY)
        and all(k in (NUMBER, KEY) for k in found[2:])
    )


def _copy(stack, arg, value) -> bool:
    if len(stack) < arg:
        return False
    stack.append(stack[-arg])
    return True


def _swap(stack, arg, value) -> bool:
    if len(stack) < arg:
        return False
    stack[-1], stack[-arg] = stack[-arg], stack[-1]
    return True


_STEPS: dict[str, Callable] = {
    "LOAD_CONST": _const,
    "BUILD_SLICE": _build,
    "BUILD_TUPLE": _build,
    "BINARY_SUBSCR": _subscript,
    "BINARY_SLICE": _slice,
    "BINARY_OP": _binary,
    "COMPARE_OP": _binary,
    "UNARY_NEGATIVE": _unary,
    "UNARY_POSITIVE": _unary,
    "UNARY_INVERT": _unary,
    "COPY": _copy,
    "SWAP": _swap,
    "STORE_SUBSCR": _store,
    "STORE_SLICE": _store_slice,
}
