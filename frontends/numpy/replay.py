"""Statements run again as the program they ran before, without recording their calls.

A time step's statement builds the same lazy expression at every step:

    B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])

and the scheduler finds the same compiled program for it every time (`scheduler.write_into`).
Recording it costs ~5-10 us a call (a view, an operator: an expression node, its snapshot,
its line's feedback), ~200 us for heat_3d's 27 calls, twice its native run. The statement's
result depends on nothing but the values its names hold and its constants: its bytecode is
fixed, and `statements.stores_at_once` found that it runs nothing but daybreak's operators
until its store. So a statement whose names hold what they held when it last ran natively —
arrays of the same shapes, dtypes and layouts over computed buffers, sharing buffers as they
did, equal numbers and keys, the same functions — makes the same calls and the same program
again. It is replayed:

1. **Marked.** A store that wrote its region natively (`write_into`) in such a statement
   marks the statement's instructions (`ENTRY`); so does `float()`, `int()` or `bool()` of
   a 0-d value its program computed natively, where the statement up to that call runs
   nothing but daybreak's operators (a *value statement*: `return float((a * 2 + 1).sum())`,
   `statements._value_statement`); and a store of NumPy data computed at once with enough
   work (`data_stored`, `WORTH`), whose next run is then recorded lazily.
2. **Recorded.** The next time, its calls run as always, each noting its instruction and its
   operation (`Recording`); at its store, if it ran natively again and every instruction
   that met an array was one of those calls, the statement becomes a `Trace`: what its names
   hold (`_guard_of`), which name's buffer or which number each parameter of the program is,
   and the compiled program.
3. **Replayed.** At its first call, when the names pass the trace's guards, each call
   returns a `Proxy` (nothing recorded, ~0.3 us) and the store runs the program on the
   names' buffers, writing the region (`_store`), as `write_into` would have. Names that
   fail the guards: the statement is recorded again.

What the replay leaves out is what the statement's temporaries would have held and dropped
at the store: their expressions, their snapshots of the user's memory (nothing writes it
before the store, the reason `stores_at_once` holds) and their lines' feedback (`sites`:
the statement's line already computes natively). The store itself is the same write:
`own_buffer` (the target's pending readers and snapshots, as any write), its views'
write-back, the statistics (`scheduler_hits`, `written_in_place`, and
`statements_replayed`).

The calls it may hold: operators and subscripts, daybreak's ufuncs, `where` and the
reductions (methods, daybreak's functions, NumPy's own through `__array_function__`): each
makes a lazy array whatever the data. Every key must be Python ints and slices of them
(`plain`): a key computed from data picks another region when the data changes.

Not replayed: statements with other calls (other methods, properties, functions), NumPy
arrays among the names, pending operands (a value that fuses in is another program), keys
or numbers that change every run (each is recorded again), writes that do not run natively,
and anything while a trace or profile function runs. One statement is replayed at a time,
process-wide (another thread records as always).
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import weakref

import numpy as np

from daybreak.runtime import stats
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.destination import WRITTEN, Destination
from daybreak.runtime.stats import count_at_once

from .. import scheduler
from ..elements.expr import Leaf
from ..lazy import Param
from ..sites import RECORDED, SAMPLE_EVERY, SAMPLED, cold
from ..snapshots import statement_stored, unarmed_pending
from ..statements import (
    ARRAY,
    CONVERT,
    FUNCTION,
    KEY,
    LOCALS,
    MISSING,
    MODULE,
    NUMBER,
    in_loop,
    kind_of,
    may_write_operands,
    named_statement,
    statement_code,
    value_of_name,
)
from . import array
from .array import PENDING_MADE, data_now, ndarray
from .handover import HANDED_AT, hand_over

GETITEM = "getitem"  # the operation of a subscript (a ufunc for an operator or a call)
# `on_call`'s answer within a statement run at once (`AtOnce`): the call computes NumPy's
# result on its operands' data (`numpy_operands`) and returns it as it is
NUMPY_NOW = object()
# Operations of calls that may be run at once but never replayed as a program (their result
# is not a lazy array whatever the data: `np.clip`, `np.dot`, `np.add.outer`)
AT_ONCE_ONLY: set = set()

ENTRY: dict = {}  # (id(code), offset) -> _Marked | Trace | AtOnce
# (id(code), offset) -> (the code, whether a native store may mark it still) for statements
# left alone: kept apart, so that code whose every statement is left alone asks nothing at
# its calls (`ENTRY` empty)
_LEFT: dict = {}
ACTIVE: list = [None]  # the Recording or Replay running now
_LIMIT = 4096
_TRIES = 3  # recordings that found the statement not replayable before it is left alone
_NEVER = object()
_STALE = object()  # (a step's answer: the state is not this statement's any more)
_ALONE = 2  # `sys.getrefcount` of a placeholder only its replay's `last` holds
_PACKAGE = __name__.rsplit(".", 3)[0] + "."  # "daybreak."


class _Marked:
    """A statement whose store wrote natively, or that computed enough work at once
    (`lazy`: `data_stored`): its next run is recorded."""

    __slots__ = ("code", "first", "last", "tries", "lazy", "at_once", "named", "runs")

    def __init__(
        self,
        code,
        first: int,
        last: int,
        lazy: bool = False,
        at_once: bool = False,
        named: bool = False,
    ):
        self.code, self.first, self.last, self.tries, self.lazy = code, first, last, 0, lazy
        self.at_once = at_once  # (its store stored data: it may have run at once, `AtOnce`)
        # (it binds its value to a name: no daybreak code runs at its end, `library_call`)
        self.named = named
        self.runs = 0

    def begin(self, tag, frame, key=None):
        if frame.f_code is not self.code:
            return None
        if self.lazy and _sampling(self.code):
            # Cold code: one run in `SAMPLE_EVERY` is recorded, every call of it (a lazy
            # statement's calls sampled one by one never make its whole structure: heat_3d's
            # 27 calls against `EPOCH`'s 8), its library run counting for the others
            # (`sites.sample_weight`) until compiling it pays; the others run as always
            self.runs += 1
            if self.runs % SAMPLE_EVERY:
                _activate(Unrecorded(self, frame))
                return None
        recording = Recording(self, frame)
        _activate(recording)
        if self.lazy:
            if _sampling(self.code):
                RECORDED[0] = id(self.code)
            # (its calls record lazily, whatever their size, so that its store may run as
            # one program, then be replayed: `LAZY_BELOW`)
            lowered = min(SETTINGS.eager_below, LAZY_BELOW)
            recording.eager_below = (SETTINGS.eager_below, lowered)
            SETTINGS.eager_below = lowered
        recording.step(tag, frame, key)
        return None


class Unrecorded:
    """A run of a lazily marked statement of cold code that is not recorded (`_Marked.begin`):
    its calls run as always, until its store."""

    __slots__ = ("frame", "thread", "first", "last")

    def __init__(self, marked: _Marked, frame):
        self.frame, self.thread = frame, threading.get_ident()
        self.first, self.last = marked.first, marked.last

    def step(self, tag, frame, key=None):
        return None if self.first <= frame.f_lasti <= self.last else _STALE


class Recording:
    """One run of a marked statement: its calls, as (instruction offset, operation), and
    (the `eager_below` to restore when it ends, the one it set) for a lazy mark's, else
    None."""

    __slots__ = (
        "marked",
        "frame",
        "thread",
        "offsets",
        "tags",
        "eager_below",
        "plain",
        "runs",
        "pending",
        "library",
        "sampled",
        "on_the_way",
    )

    def __init__(self, marked: _Marked, frame):
        self.marked, self.frame, self.thread = marked, frame, threading.get_ident()
        self.offsets: list[int] = []
        self.tags: list = []
        self.eager_below = None
        self.plain = True  # (every subscript's key made of Python ints, slices of them)
        # (native runs and pending values so far: a statement that adds none ran at once)
        self.runs, self.pending = stats.STATS.runs, PENDING_MADE[0]
        self.library = stats.STATS.library_runs  # (calls the cost model sent to the library)
        self.sampled = SAMPLED[0]  # (calls computed at once by sampling cold code)
        self.on_the_way = scheduler.ON_THE_WAY[0]  # (library runs of structures to compile)

    def step(self, tag, frame, key=None):
        at = frame.f_lasti
        if not self.marked.first <= at <= self.marked.last:
            return _STALE
        self.offsets.append(at)
        self.tags.append(tag)
        if key is not None and not plain(key):
            self.plain = False  # (a key of data: another region when the data changes)
        return None


def _activate(state) -> None:
    """Make `state` (a Recording, a Replay, or None) the one running, ending the last."""
    last = ACTIVE[0]
    if type(last) is Recording:
        RECORDED[0] = None  # (its calls were all recorded: `AtOnce.sampled`)
    if type(last) is Recording and last.eager_below is not None:
        saved, lowered = last.eager_below
        if SETTINGS.eager_below == lowered:  # (else `db.config` set it since: that stays)
            SETTINGS.eager_below = saved
        last.eager_below = None
    ACTIVE[0] = state


class Trace:
    """A recorded statement: its calls, the guards on its names, the program it ran."""

    __slots__ = (
        "code",
        "offsets",
        "tags",
        "names",
        "guards",
        "attributes",
        "slots",
        "target",
        "known",
        "config",
        "shape",
        "kind",
        "into",
        "same",
        "dtype",
        "span",
        "marked",
    )

    def begin(self, tag, frame, key=None):
        """The statement's first call: a replay when its names pass the guards, else the
        statement is recorded again (its program may have changed)."""
        if (
            frame.f_code is not self.code
            or tag is not self.tags[0]
            or sys.gettrace() is not None
            or sys.getprofile() is not None
            or self.config != _config()
            or not scheduler.still_native(self.known)
        ):
            return self._again(tag, frame, key)
        try:
            local = frame.f_locals
        except Exception:  # noqa: BLE001 - a frame's names it cannot give: not replayed
            return self._again(tag, frame, key)
        if type(local) not in LOCALS:
            return self._again(tag, frame, key)  # (exec's locals of another mapping)
        values: list = []
        nodes: list = []
        for (how, name), guard in zip(self.names, self.guards, strict=True):
            value = value_of_name(how, name, local, frame)
            if not _passes(value, guard, nodes):
                return self._again(tag, frame, key)
            values.append(value)
        for module, name, found in self.attributes:
            if getattr(module, name, MISSING) is not found:
                return self._again(tag, frame, key)
        for value in values:
            if type(value) is ndarray:
                value._hot = 0  # (a name this program reads: not NumPy's, `read_at_once`)
        state = Replay(self, frame, values, nodes)
        _activate(state)
        return state.step(tag, frame, key)

    def _again(self, tag, frame, key):
        return self.marked.begin(tag, frame, key)


class Replay:
    """A trace run now: the statement's names' values and their arrays' nodes."""

    __slots__ = ("trace", "frame", "thread", "values", "nodes", "pos", "last")

    def __init__(self, trace: Trace, frame, values: list, nodes: list):
        self.trace, self.frame, self.thread = trace, frame, threading.get_ident()
        self.values, self.nodes, self.pos, self.last = values, nodes, 0, None

    def step(self, tag, frame, key=None):
        pos = self.pos
        trace = self.trace
        if pos >= len(trace.offsets):
            return _STALE
        start, end = trace.offsets[pos]
        if not start <= frame.f_lasti < end:
            return _STALE
        if tag is not trace.tags[pos]:
            return _STALE
        self.pos = pos + 1
        made = self.last = Proxy.__new__(Proxy)
        made.state = self
        return made


class AtOnce:
    """A statement whose calls all ran at once in NumPy when it was recorded (none made a
    pending value, none ran native code): each of its calls computes NumPy's result on its
    operands' data now (`NUMPY_NOW`), as it did, without the cost model's questions and the
    wrapping of every temporary (floyd_warshall's step: 30 of its 100 us were daybreak's).
    A Python loop of such statements runs at NumPy's speed. Correct whatever the names hold:
    each call is NumPy's own on the values it is given (and any call finding a pending
    operand runs as always); what changes is only where a value is computed. Every
    `_RECHECK`-th run is recorded again (a size, or a compiled program, may make its calls
    lazy since) — until the arrays its calls read went to NumPy (`read_at_once`): its
    operands are NumPy's own then, and a recorded run of calls on them records lazily
    without anything to fuse, so that run would end the marking (azimint_naive's first call:
    41 -> 60 ms), where a pending operand still makes its call run as always."""

    __slots__ = ("code", "first", "last", "marked", "runs", "sampled", "handed_over")

    def __init__(self, marked: _Marked):
        self.code, self.first, self.last = marked.code, marked.first, marked.last
        self.marked, self.runs = marked, 0
        self.handed_over = False  # (its runs handed arrays to NumPy: no recheck since)
        # Marked in cold code from runs whose calls were sampled (`sites.sampled_out`): one
        # run in `SAMPLE_EVERY` is recorded, as sampling records its calls (the scheduler
        # learns the structure and counts what compiling it saves), and every run once the
        # code is hot (a structure made there compiled, or paid for its compile)
        self.sampled = False

    def begin(self, tag, frame, key=None):
        self.runs += 1
        if (
            frame.f_code is not self.code
            or (self.runs % _RECHECK == 0 and not self.handed_over)
            or SETTINGS.strict
            or not SETTINGS.eager_below
            or sys.gettrace() is not None
            or sys.getprofile() is not None
        ):
            return self.marked.begin(tag, frame, key)
        if self.sampled and (self.runs % SAMPLE_EVERY == 0 or not cold((id(self.code), 0))):
            found = self.marked.begin(tag, frame, key)
            RECORDED[0] = id(self.code)  # (every call of this run recorded, `sites`)
            return found
        state = AtOnceRun(self, frame)
        _activate(state)
        return state.step(tag, frame, key)


class AtOnceRun:
    """A statement run at once now (`AtOnce`): its calls in its frame, until its store, and
    the arrays whose data its calls read that go to NumPy at its end (`read_at_once`)."""

    __slots__ = ("trace", "frame", "thread", "first", "last", "calls", "handed")

    def __init__(self, trace: AtOnce, frame):
        self.trace, self.frame, self.thread = trace, frame, threading.get_ident()
        self.first, self.last, self.calls = trace.first, trace.last, 0
        self.handed = None

    def step(self, tag, frame, key=None):
        if not self.first <= frame.f_lasti <= self.last:
            return _STALE
        self.calls += 1
        return NUMPY_NOW


_RECHECK = 64  # runs of a statement run at once, of which one is recorded again
HOT_AT_ONCE = 48  # reads of an array's data in at-once runs in a row that hand it to NumPy


def numpy_operands(values) -> list | None:
    """`values` (a call's operands in a statement run at once) with daybreak arrays as
    their data (a computed buffer, a view of one or of the user's memory); None where one is
    pending (the call runs as always: fusing it is the point)."""
    found = []
    for x in values:
        if type(x) is ndarray:
            array, x = x, data_now(x)
            if x is None:
                return None
            read_at_once(array)
        elif type(x) is tuple:
            x = numpy_operands(x)
            if x is None:
                return None
            x = tuple(x)
        found.append(x)
    return found


def read_at_once(a: ndarray) -> None:
    """`a`'s data was read by a call of a statement run at once: a use of the array as
    NumPy's (`handover.py`). `HOT_AT_ONCE` of them in a row, in statements the cost model
    sent to the library for good (not cold code's, `AtOnce.sampled`, whose recorded runs may
    still compile), and the array goes to NumPy in the statement's frame when it ends: its loop
    then runs NumPy's calls with nothing of daybreak's between. A read that fuses (a
    replayed statement's name, a lazily recorded call, a big part) starts the count again:
    an `AtOnce`'s run recorded again every `_RECHECK` too, so the count to reach is smaller
    than that. A view's read counts for the array it views (logreg_gd's `X.T @ g`: a new
    view each step, of the `X` its frame's name holds). A statement whose runs handed
    arrays over before (`AtOnce.handed_over`: a loop's earlier call of the function) hands
    the arrays it reads over at its first run: its reads are NumPy's uses as they were then
    (logreg_gd's 30 steps a call, of which 24 read the call's new `X` 48 times first)."""
    while a._base is not None:
        a = a._base[0]
    hot = a._hot + 1
    a._hot = hot
    state = ACTIVE[0]
    if hot >= HOT_AT_ONCE or (type(state) is AtOnceRun and state.trace.handed_over):
        a._hot = 0
        if type(state) is AtOnceRun and not state.trace.sampled:
            if state.handed is None:
                state.handed = [a]
            elif not any(h is a for h in state.handed):
                state.handed.append(a)


NOT_NOW = object()  # `run_at_once`'s answer where an operand is pending


def run_at_once(function, operands, keywords=None):
    """`function(*operands, **keywords)` on the operands' data (`numpy_operands`): a call
    of a statement run at once, NumPy's result as it is; `NOT_NOW` where an operand is
    pending (the call runs as always)."""
    values = numpy_operands(operands)
    if values is None:
        return NOT_NOW
    return function(*values, **keywords) if keywords else function(*values)


def on_call(tag, frame, key=None):
    """A call of operation `tag` (a ufunc, `GETITEM` with its `key`) from the user's
    `frame`: a `Proxy` where a statement is replayed, else None (the caller does what it
    always does; a recording notes the call)."""
    state = ACTIVE[0]
    if state is not None:
        if state.frame is frame:
            if type(state) is AtOnceRun and state.first <= frame.f_lasti <= state.last:
                state.calls += 1  # (`AtOnceRun.step` inline: every call of the statement)
                return NUMPY_NOW
            found = state.step(tag, frame, key)
            if found is not _STALE:
                return found
            _end_stale(state, frame)  # (the next statement's call, or one that raised)
        elif type(state) is Replay:
            if state.last is None or sys.getrefcount(state.last) > _ALONE:
                # (its statement runs, its last placeholder on the stack: this call is
                # daybreak's own, another thread's, or a finalizer's mid-statement; the
                # replay stays, and nothing else begins)
                return None
            _activate(None)  # (its statement raised: nothing holds its placeholders)
        elif state.thread == threading.get_ident() and not _daybreaks(frame):
            _end_stale(state)  # (the user's code went on: the recorded statement raised)
    found = ENTRY.get((id(frame.f_code), frame.f_lasti))
    if found is None or not SETTINGS.replay:
        return None
    state = ACTIVE[0]
    if state is not None and state.thread != threading.get_ident():
        return None  # (another thread's statement: this one runs as always)
    return found.begin(tag, frame, key)


def _end_stale(state, frame=None) -> None:
    """End `state`, whose statement ended without its store (it raised, or stored into
    something else than a daybreak array: a statement run at once is counted still; a
    recording counts as a try, or ends a name's statement, `library_call`). `frame`: the
    statement's frame, still running (its store, its next statement's call), where the
    arrays its calls read often go to NumPy (`read_at_once`)."""
    if type(state) is AtOnceRun:
        count_at_once(state.calls)
        if state.handed is not None and frame is state.frame:
            for a in state.handed:
                hand_over(a, frame)
            state.trace.handed_over = True
        # (its calls, counted as library runs, are no new reason for a store to ask
        # `data_stored`: a chained store's next one)
        LIBRARY_SEEN[0] = stats.STATS.library_runs
    elif type(state) is Recording:
        _activate(None)
        marked = state.marked
        if marked.named:
            _ran_at_once(state, None, state.frame)  # (a name's statement ends so)
        elif marked.at_once:
            # (a store that was not daybreak's, this time: NumPy's array as its target, or
            # an error; a mark no recording ends at its store would make every call ask.
            # A native mark waits: its program may be compiling still)
            _tried(marked, _TRIES)
        return
    _activate(None)


def plain(key) -> bool:
    """Whether a subscript's `key` is Python ints, None, Ellipsis, slices of ints and
    tuples of those: a region fixed by the names' values (a key holding an array, or a
    value computed from one, picks a region by data)."""
    kind = type(key)
    if kind is int or key is None or key is Ellipsis:
        return True
    if kind is slice:
        return all(type(v) is int or v is None for v in (key.start, key.stop, key.step))
    return kind is tuple and all(plain(k) for k in key)


def store(a: ndarray, key, value, frame) -> bool:
    """`a[key] = value` for a replayed statement (`value` its last call's proxy): True when
    done here; False: the caller stores as always (no statement is replayed)."""
    state = ACTIVE[0]
    if type(value) is not Proxy:
        return False
    if state is None or value.state is not state or state.frame is not frame:
        raise _misused()
    try:
        if state.pos != len(state.trace.offsets) or value is not state.last:
            raise _misused()
        _store(state, a, key)
    finally:
        _activate(None)
    return True


def after_store(a: ndarray, key, value, frame) -> None:
    """A store ended without a replay: mark its statement when its region was written
    natively, and make the statement's recording a trace."""
    state = ACTIVE[0]
    if type(state) is AtOnceRun and state.frame is frame:
        scheduler.LAST_WRITE[0] = None
        _end_stale(state, frame)  # (its store: the statement ran at once)
        return
    if type(state) is Unrecorded and state.frame is frame:
        _activate(None)  # (a native store marks the statement as always, `_ended`)
    if not _daybreaks(frame):
        _ended(a, value, frame, plain(key))
    # (else daybreak's own store, on the way: the user's statement's store is next)


def value_computed(value: ndarray, frame) -> None:
    """`float(value)`, `int(value)` or `bool(value)` computed `value` (a 0-d array) without
    a replay: as `after_store`, for a statement whose end is that conversion."""
    if value._shape == () and not _daybreaks(frame):
        _ended(None, value, frame, True)
    else:
        scheduler.LAST_WRITE[0] = None


def _ended(a, value, frame, plain_key: bool) -> None:
    wrote = scheduler.LAST_WRITE[0]
    scheduler.LAST_WRITE[0] = None
    state = ACTIVE[0]
    recording = state if type(state) is Recording and state.frame is frame else None
    if recording is not None:
        _activate(None)
    if wrote is None or len(wrote) != 4 or wrote[3] is not value:
        # (no native run, or another value's: a write this store made on the way)
        if recording is not None and recording.marked.lazy:
            if scheduler.ON_THE_WAY[0] == recording.on_the_way:
                _tried(recording.marked, _LAZY_TRIES)  # (its program never pays)
        elif recording is not None and recording.marked.at_once:
            _ran_at_once(recording, a, frame, value)
        return
    if recording is None:
        if SETTINGS.replay and sys.gettrace() is None and sys.getprofile() is None:
            _mark(frame, at_value=a is None)
        return
    marked = recording.marked
    trace = _traced(recording, a, value, frame, wrote) if recording.plain and plain_key else None
    if trace is None or trace.span != (marked.first, marked.last):
        _tried(marked, _TRIES)
        return
    for offset in range(marked.first, marked.last + 1):
        ENTRY.pop((id(marked.code), offset), None)
    _set(marked.code, range(*trace.offsets[0]), trace)


def _ran_at_once(recording: Recording, a, frame, value=None) -> None:
    """At the store into `a` of the statement `recording` saw run: it runs at once from now
    on (`AtOnce`) where its calls ran no native code, the cost model sent one of them to
    the library (a call on NumPy's small data is NumPy's already, unasked: running it at
    once would save nothing), and they made no pending value and none was computed by
    sampling (cold code: its recorded epochs are what lets its structures compile,
    `sites.sampled_out`) — or the statement stores less work than a native replay pays for
    (`_small_work`: jacobi_1d's step on 6,000 elements, its pending values computed by the
    library at the store, NumPy's 7 us a step against ~30 us of daybreak's), it stores
    into a name's array (a store into a call's result, `a[i][j] = v`, would write NumPy's
    view run at once made, not daybreak's array), and it writes no operand in place (an
    in-place operator, `a[i] += v`, or a method that writes: NumPy's view of a daybreak
    buffer, written behind daybreak's back); else it is left alone after `_TRIES`."""
    marked = recording.marked
    small = _small_work(value, frame)
    lazy = PENDING_MADE[0] != recording.pending or SAMPLED[0] != recording.sampled
    # (cold code, whose calls were sampled or recorded: run at once out of its recorded
    # epochs only; a run whose calls its lines' feedback computed at once runs at once)
    sampled = lazy and not marked.named and not small and _sampling(marked.code)
    if marked.named and lazy and PENDING_MADE[0] == recording.pending:
        # (its calls were sampled out of cold code's recorded epochs, nothing pending: the
        # run says nothing of the statement yet, and is no try; the next one is recorded)
        return
    if (
        not recording.offsets
        or stats.STATS.runs != recording.runs
        or stats.STATS.library_runs == recording.library
        or (lazy and (marked.named or not (small or sampled)))
        or (a is None) != marked.named
    ):
        _tried(marked, _TRIES)
        return
    if marked.named:  # (its value goes to a name: no target to ask about)
        if may_write_operands(marked.code, marked.first, marked.last):
            _tried(marked, _TRIES)
            return
        marked.tries = 0
        _set(marked.code, range(marked.first, marked.last + 1), AtOnce(marked))
        return
    found = statement_code(frame, at_store=True, chained=True)
    values = None if found is None else _names_now(tuple(dict.fromkeys(found[0])), frame)
    if (
        values is None
        or not any(v is a for v in values)
        or (found[2], found[3]) != (marked.first, marked.last)
        or may_write_operands(frame.f_code, marked.first, marked.last)
    ):
        _tried(marked, _TRIES)
        return
    marked.tries = 0  # (its rechecks count their failures anew)
    at_once = AtOnce(marked)
    at_once.sampled = sampled
    _set(marked.code, range(marked.first, marked.last + 1), at_once)


def _sampling(code) -> bool:
    """Whether the calls of `code` are sampled now (`sites.sampled_out`: cold code, and
    graphs need not compile before they run)."""
    return SETTINGS.compile_in_background and not SETTINGS.strict and cold((id(code), 0))


def _small_work(value, frame) -> bool:
    """Whether the statement ending in `frame` with the store of `value` holds less work
    than a native replay pays for (`data_stored`'s measure: calls x elements stored, below
    `WORTH`). A scalar stored says nothing of the work before it (`s[i] = (a * b).sum()`)."""
    kind = type(value)
    if kind is not np.ndarray and kind is not ndarray:
        return False
    return _statement_at(frame, False)[0] * value.size < WORTH


def library_call(site) -> None:
    """A call computed at once in the library (NumPy's own, by the cost model's choice) at
    the user's `site` (`(id(code), offset)`, or None: found here): where it is the first
    such call of a statement in a loop that binds its value to a name (`mask = (r1 <= r) &
    (r < r2)`: no daybreak code runs at its end, so no store marks it, `data_stored`), the
    statement is marked: its next run is recorded, and from then on it may run at once."""
    if ACTIVE[0] is not None or not SETTINGS.replay:
        return
    if site is not None and (site in ENTRY or site in _LEFT):
        return  # (known: marked, traced, run at once, or left alone)
    frame = sys._getframe(2)
    while frame is not None and _daybreaks(frame):
        frame = frame.f_back
    if frame is None or sys.gettrace() is not None or sys.getprofile() is not None:
        return
    code = frame.f_code
    site = (id(code), frame.f_lasti)
    if site in ENTRY or site in _LEFT:
        return
    found = named_statement(code, frame.f_lasti)
    if found is None:
        _set(code, (frame.f_lasti,), _NEVER, True)
        return
    first, last = found
    if ENTRY.get((id(code), first)) is not None:
        return
    if not in_loop(code, first, last):
        _set(code, range(first, last + 1), _NEVER, True)
        return
    _set(code, range(first, last + 1), _Marked(code, first, last, at_once=True, named=True))


def data_stored(value, frame) -> None:
    """A store of data (`value`: NumPy's, or a computed daybreak array) ended a statement:
    mark it where it is not yet, so that its next run is recorded — lazily where NumPy's
    data holds enough work for one program and a replay to pay (heat_3d's 27 calls on
    55,000 elements: NumPy 400 us a statement, recorded 340, replayed 120), else to run at
    once from then on where it did (`AtOnce`)."""
    code = frame.f_code
    at = (id(code), frame.f_lasti)
    if ENTRY.get(at) is not None or _LEFT.get(at, (None,))[0] is code:
        # (known: marked, traced, or left alone; its next store asks again only after
        # another library run, `_data_stored`)
        LIBRARY_SEEN[0] = stats.STATS.library_runs
        return
    if not SETTINGS.replay or sys.gettrace() is not None or sys.getprofile() is not None:
        return
    if _daybreaks(frame):
        return  # (daybreak's own store, on the way: the user's is next)
    LIBRARY_SEEN[0] = stats.STATS.library_runs
    calls, first, last = _statement_at(frame, False)
    if not calls:  # (no call, or no statement to replay: not asked again)
        _set(code, range(first, last + 1) if first is not None else (at[1],), _NEVER, True)
        return
    if ENTRY.get((id(code), first)) is not None:
        return
    size = value.size if type(value) is np.ndarray else 0
    lazy = size >= LAZY_SIZE and calls >= 2 and calls * size >= WORTH
    if not lazy and not in_loop(code, first, last):
        # (run at once only where it pays, in a loop: a statement run once a call of its
        # function would only make every call of that code ask `on_call`)
        _set(code, range(first, last + 1), _NEVER, True)
        return
    _set(code, range(first, last + 1), _Marked(code, first, last, lazy=lazy, at_once=not lazy))


def _statement_at(frame, at_value: bool) -> tuple:
    """(its calls, first offset, last offset) of the statement `frame` is at the end of
    (its store, or `at_value` its conversion), or (0, None, None) where it is no statement
    to replay; remembered per code object and offset."""
    code = frame.f_code
    key = (id(code), frame.f_lasti)
    found = _STATEMENTS.get(key)
    if found is None or found[0] is not code:
        if len(_STATEMENTS) >= _LIMIT:
            _STATEMENTS.clear()
        # (a chained store's first part too: `_traced` asks without, and finds no trace)
        shape = statement_code(frame, at_store=not at_value, at_value=at_value, chained=True)
        calls = 0 if shape is None else sum(1 for start, _ in shape[1] if start != shape[3])
        found = _STATEMENTS[key] = (code, calls, shape and shape[2], shape and shape[3])
    return found[1:]


_STATEMENTS: dict = {}  # (id(code), offset) -> (code, calls, first, last): a statement ending there
LAZY_BELOW = 1 << 10  # `eager_below` while a lazily marked statement is recorded
WORTH = 1 << 17  # element-operations of a statement computed at once that mark it lazy
LAZY_SIZE = 1 << 12  # the fewest elements of such a statement's value
LIBRARY_SEEN = [0]  # `library_runs` at the last store that asked `data_stored` (`assignment`)
_LAZY_TRIES = 64  # recordings of a lazy mark that did not run natively before it is let be


def _tried(marked: _Marked, most: int) -> None:
    marked.tries += 1
    if marked.tries >= most:
        if marked.lazy:
            # (its program never ran natively: it may run at once, `AtOnce`)
            again = _Marked(marked.code, marked.first, marked.last, at_once=True)
            _set(marked.code, range(marked.first, marked.last + 1), again)
            return
        # (a statement not run at once may still store natively later: `_mark`)
        _set(marked.code, range(marked.first, marked.last + 1), _NEVER, marked.at_once)


def forget() -> None:
    """Forget every mark and trace, and the subscripts that handed arrays over
    (`scheduler.forget`: programs are compiled again)."""
    _activate(None)
    ENTRY.clear()
    _LEFT.clear()
    _STATEMENTS.clear()
    HANDED_AT.clear()


scheduler.FORGET.append(forget)
array.VALUE_COMPUTED[0] = value_computed


def _daybreaks(frame) -> bool:
    return frame.f_globals.get("__name__", "").startswith(_PACKAGE)


def _set(code, offsets, what, native_may: bool = False) -> None:
    if what is _NEVER:
        if len(_LEFT) >= _LIMIT:
            _LEFT.clear()
        for offset in offsets:
            ENTRY.pop((id(code), offset), None)
            # (the code held: its id names no other code meanwhile)
            _LEFT[(id(code), offset)] = (code, native_may)
        return
    if len(ENTRY) >= _LIMIT:
        ENTRY.clear()
    for offset in offsets:
        ENTRY[(id(code), offset)] = what


def _mark(frame, at_value: bool = False) -> None:
    """Mark the statement `frame` stored in (at its store instruction), or converted the
    value of (`at_value`: at its last call)."""
    code = frame.f_code
    _, first, last = _statement_at(frame, at_value)
    left = _LEFT.get((id(code), first))
    if first is None or (left is not None and left[0] is code and not left[1]):
        return
    marked = _Marked(code, first, last)
    # (every instruction of the statement: its first call, whichever it is, begins the
    # recording; the code is held by the marks, so its id is not another's meanwhile)
    _set(code, range(first, last + 1), marked)


def _traced(recording: Recording, a, value, frame, wrote) -> Trace | None:
    """The trace of the statement `recording` saw run, which stored `value` into `a`
    natively — or (`a` None) converted `value`, computed natively — (`wrote`: the program
    and its leaves, `scheduler._noted`), or None where it cannot be replayed."""
    found = statement_code(frame, at_store=a is not None, at_value=a is None)
    if found is None or not recording.offsets or type(value) is not ndarray:
        return None
    names, touched, first, last, attributes = found
    if any(tag in AT_ONCE_ONLY for tag in recording.tags):
        return None  # (a call whose result is not lazy: no program holds it)
    calls = [extent for extent in touched if extent[0] != last]
    if len(calls) != len(recording.offsets) or any(
        not start <= at < end for (start, end), at in zip(calls, recording.offsets, strict=True)
    ):
        return None  # another call met an array (a method, a function): not recorded
    names = tuple(dict.fromkeys(names))
    values = _names_now(names, frame)
    if values is None:
        return None
    guards: list = []
    nodes: list = []  # the arrays' nodes, in order of first appearance
    for held in values:
        guard = _guard_of(held, nodes)
        if guard is None:
            return None
        guards.append(guard)
    known, leaves = wrote[:2]
    target = None
    if a is not None:
        target = next((k for k, v in enumerate(values) if v is a), None)
        if target is None or type(a._held) is not Leaf:
            return None
    slots = []
    same = None  # the slot of the target's buffer read at the very elements written
    for leaf in leaves:
        if leaf is None:  # (`same_place`: the target's own buffer)
            mine = next((k for k, n in enumerate(nodes) if n is a._held.node), None)
            if a is None or mine is None or same is not None:
                return None
            same = len(slots)
            slots.append((mine, None))
            continue
        if type(leaf) is tuple:
            slots.append((None, leaf[0]))  # a number the guards fix (a constant)
            continue
        leaf = leaf()
        # the node of a name's array, or its snapshot copied (a buffer too small to guard:
        # the statement reads the buffer itself when replayed, which nothing writes first)
        k = next((k for k, n in enumerate(nodes) if n is leaf or n._snapshot is leaf), None)
        if leaf is None or k is None:
            return None  # a buffer no name holds (a value computed on the way)
        slots.append((k, None))
    trace = Trace()
    trace.code, trace.names, trace.guards = frame.f_code, names, guards
    trace.attributes = attributes
    trace.offsets, trace.tags = tuple(calls), tuple(recording.tags)
    trace.slots, trace.target, trace.known = tuple(slots), target, known
    trace.config = _config()
    trace.kind = getattr(known.executable, "destination_kind", None)
    trace.shape, trace.into, trace.same = value._shape, None, same
    trace.dtype = value._held.dtype if a is None else None
    trace.span = (first, last)
    trace.marked = recording.marked
    return trace


def _config() -> tuple:
    """The settings a structure's program is found by (the thread count and the tiers:
    `scheduler.still_native`)."""
    return (SETTINGS.backend, SETTINGS.passes_off)


def _names_now(names: tuple, frame) -> list | None:
    try:
        local = frame.f_locals
    except Exception:  # noqa: BLE001 - a frame's names it cannot give: not replayed
        return None
    if type(local) not in LOCALS:
        return None
    values = [value_of_name(how, name, local, frame) for how, name in names]
    return None if any(v is MISSING for v in values) else values


def _guard_of(value, nodes: list):
    """What the name's value must be again for the statement to run the same program: a
    computed array's layout and which of the statement's buffers it reads; a number's or
    key's type and value; a module's or function's identity. None: no replay."""
    kind = kind_of(value)
    if kind == ARRAY:
        e = value._held
        if type(e) is not Leaf or e.node is None or type(e.node) is not Param:
            return None
        if not e.node.is_leaf:
            return None
        k = next((k for k, n in enumerate(nodes) if n is e.node), len(nodes))
        if k == len(nodes):
            nodes.append(e.node)
        return (ARRAY, value._shape, e.strides, e.offset, e.size, e.dtype, k)
    if kind == NUMBER:
        return (NUMBER, type(value), value, math.copysign(1.0, value) if value == 0 else 1.0)
    if kind == KEY:
        if type(value) is tuple and any(kind_of(v) == ARRAY for v in value):
            return None
        return (KEY, type(value), value)
    if type(kind) is tuple and kind[0] in (MODULE, FUNCTION, CONVERT):
        return (MODULE, value)
    return None


def _passes(value, guard: tuple, nodes: list) -> bool:
    """Whether `value` passes `guard` (`_guard_of`), collecting the arrays' nodes."""
    what = guard[0]
    if what == ARRAY:
        if type(value) is not ndarray:
            return False
        e = value._held
        if type(e) is not Leaf:
            return False
        node = e.node
        if (
            type(node) is not Param
            or not node.is_leaf
            or value._shape != guard[1]
            or e.strides != guard[2]
            or e.offset != guard[3]
            or e.size != guard[4]
            or e.dtype != guard[5]
        ):
            return False
        k = guard[6]
        if k < len(nodes):
            return nodes[k] is node  # (a buffer read twice, as when recorded)
        for n in nodes:
            if n is node:
                return False  # (one buffer where the recording read two)
        nodes.append(node)
        return True
    if what == NUMBER:
        return (
            type(value) is guard[1]
            and value == guard[2]
            and (value != 0 or math.copysign(1.0, value) == guard[3])
        )
    if what == KEY:
        return type(value) is guard[1] and (value is guard[2] or value == guard[2])
    return value is guard[1]


def _store(state: Replay, a: ndarray, key) -> None:
    """The replayed statement's store: the program writes `a[key]` (`write_into`'s run)."""
    own_buffer, store_data = _assignment()
    trace = state.trace
    nodes = state.nodes
    values = [nodes[k].cached if k is not None else constant for k, constant in trace.slots]
    # (`own_buffer` counts the references to the target's node: these are not readers)
    state.nodes = nodes = None
    target = own_buffer(a) if a is state.values[trace.target] else None
    into = None
    if target is not None and trace.kind is not None:
        flat = a._held.node.cached
        found = trace.into
        if found is not None and found[0]() is flat:
            into = found[1]  # (the same buffer, key and layout: the same region)
        else:
            region = target[key]
            if type(region) is np.ndarray:
                into = Destination.of(region, as_rows=trace.kind == "rows")
                trace.into = None if into is None else (weakref.ref(flat), into)
        if into is not None and not _apart(values, flat, trace.same):
            into = None  # (the program reads the region: computed first, then copied)
    result = scheduler.run_replayed(trace.known, values, into)
    if result is WRITTEN:
        a.write_back()
    else:
        store_data(a, key, np.asarray(result).reshape(trace.shape))
    if unarmed_pending():
        statement_stored()


@functools.cache
def _assignment() -> tuple:
    """`assignment`'s functions the store calls (a cycle: `assignment` calls `store`; read
    once, not imported at every store)."""
    from .assignment import own_buffer, store_data

    return own_buffer, store_data


def _apart(values: list, flat: np.ndarray, same: int | None) -> bool:
    """Whether no buffer among `values` (but the one at `same`, read at the very elements
    written, as recorded) shares memory with the target's buffer `flat`: buffers of their
    own (no base) are apart unless they are one; views are asked."""
    for k, v in enumerate(values):
        if type(v) is np.ndarray and k != same:
            if v is flat:
                return False
            if (v.base is not None or flat.base is not None) and np.may_share_memory(v, flat):
                return False
    return True


def _misused() -> RuntimeError:
    return RuntimeError(
        "daybreak: a value of a replayed statement was used outside the calls it recorded "
        "(a function of daybreak.numpy rebound meanwhile?); daybreak.config(replay=False) "
        "turns replays off"
    )


def _value(state: Replay):
    """The replayed value statement's value: its program run on the names' buffers, as
    `ndarray._lazy_finish` makes a 0-d value (a NumPy scalar of the value's dtype)."""
    trace = state.trace
    nodes = state.nodes
    values = [nodes[k].cached if k is not None else constant for k, constant in trace.slots]
    state.nodes = nodes = None
    raw = scheduler.run_replayed(trace.known, values)
    dtype = trace.dtype
    return raw if type(raw) is dtype.type else dtype.type(raw)


def _conversion(convert):
    """`Proxy.__float__` (`convert`: float), `__int__`, `__bool__`: a value statement's
    end, replayed."""

    def call(self):
        state = ACTIVE[0]
        frame = sys._getframe(1)
        if state is None or self.state is not state or state.frame is not frame:
            raise _misused()
        try:
            trace = state.trace
            if trace.dtype is None or state.pos != len(trace.offsets) or self is not state.last:
                raise _misused()
            return convert(_value(state))
        finally:
            _activate(None)

    return call


def _proxy_call(tag):
    def call(self, *others, **keywords):
        return _next(self, tag, sys._getframe(1))

    return call


def _next(proxy, tag, frame):
    """The trace's next call, `tag`, made on `proxy` from `frame`: its placeholder."""
    state = ACTIVE[0]
    if state is None or proxy.state is not state or state.frame is not frame:
        raise _misused()
    found = state.step(tag, frame)
    if found is _STALE:
        raise _misused()
    return found


class Proxy:
    """What a call of a replayed statement returns: nothing but its place in the trace (the
    store runs the program; an operator or subscript on it is the trace's next call)."""

    __slots__ = ("state",)
    __array_ufunc__ = None  # (NumPy's operators defer to this type's own)
    __hash__ = None
    __float__ = _conversion(float)
    __int__ = _conversion(int)
    __bool__ = _conversion(bool)

    def __array_function__(self, func, types, args, kwargs):
        # (NumPy's own function on a placeholder, `np.sum(proxy)`: the trace's next call)
        return _next(self, func, sys._getframe(1))


def _attach(table: dict, reflected: bool) -> None:
    for name, ufunc in table.items():
        setattr(Proxy, f"__{name}__", _proxy_call(ufunc))
        if reflected:
            setattr(Proxy, f"__r{name}__", _proxy_call(ufunc))


def attach_operators(binary: dict, compare: dict, unary: dict, methods=()) -> None:
    """Give `Proxy` the operators of daybreak's arrays (their tables, `methods`) and the
    methods named `methods` (whose operation is their name)."""
    _attach(binary, True)
    _attach(compare, False)
    _attach(unary, False)
    Proxy.__getitem__ = _proxy_call(GETITEM)
    for name in methods:
        setattr(Proxy, name, _proxy_call(name))


__all__ = [
    "ACTIVE",
    "ENTRY",
    "GETITEM",
    "on_call",
    "store",
    "after_store",
    "data_stored",
    "library_call",
    "forget",
    "NUMPY_NOW",
    "NOT_NOW",
    "AT_ONCE_ONLY",
    "numpy_operands",
    "read_at_once",
    "run_at_once",
]
