"""Running captured calls: stages of calls that take the same pieces, each piece through the
whole stage before the next, pieces on the worker threads, results merged in piece order.

A **stage** is a run of consecutive calls whose split arguments can be cut into the same element
ranges: values split the same way with the same number of elements, and results of earlier calls
of the stage (their pieces are at hand, piece by piece). A call starts a new stage when it
needs a whole result of the stage (a broadcast argument, a result split another way), when its
split arguments have another number of elements, or when it would read whole what the stage
writes (or write what it reads whole). Before a stage runs, the results of earlier stages it
reads have been merged.

**Pieces**: the stage's element count is cut into ranges of `piece_elements()` elements — as
many as fit the split arguments' bytes into the L2 cache (`db.config(split_piece_bytes=...)`
overrides it), so a piece written by one call is still in cache when the next call reads it.
The ranges depend on the data's size only, never on the number of threads; each thread takes
the next piece not yet taken, and results are merged in piece order: the same result with 1
thread or many.

**Errors**: an exception in any piece stops the other threads at their next piece and is raised
as `PieceError`, naming the function, the piece's element range and the `mut` arguments the
pieces already run have written into (they are left partly written: said, not hidden).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from daybreak.runtime.config import SETTINGS

from .annotation import AnnotationError
from .graph import ENGINE, Output, Task
from .split_types import ARRAY_MIN_PIECE, SizeSplit, SplitType

# How a step makes an argument of a piece (`Stage._step`): the whole value, its piece, its piece
# written by the function, or the piece of an earlier call's result.
WHOLE, SPLIT, SPLIT_MUT, FROM_PIECE = "whole", "split", "split-mut", "from-piece"


class PieceError(RuntimeError):
    """A function failed on one piece of its split arguments."""

    def __init__(self, message: str, function: str, start: int, stop: int, written: list[str]):
        super().__init__(message)
        self.function = function
        self.start, self.stop = start, stop
        self.partly_written = written


@functools.cache
def l2_cache_bytes() -> int:
    """This machine's L2 cache size per core (1 MiB when the system does not say)."""
    with contextlib.suppress(ValueError, OSError):  # (a name this system's sysconf lacks)
        found = os.sysconf("SC_LEVEL2_CACHE_SIZE")
        if found > 0:
            return int(found)
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
            text = f.read().strip().upper()
        scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
        return int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        return 1 << 20


def piece_bytes() -> int:
    return SETTINGS.split_piece_bytes or l2_cache_bytes()


def _plain(value):
    """A merged result as its value; anything else as it is."""
    if isinstance(value, Output) and value.done:
        return value.value
    return value


def _bytes_per_element(value, split: SplitType) -> int:
    if isinstance(split, SizeSplit):
        return 0
    if isinstance(value, np.ndarray) and value.ndim:
        n = split.elements(value)
        return value.itemsize * (value.size // n if n else 1)
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None:  # a frame: a row's bytes
        return sum(getattr(d, "itemsize", 8) for d in dtypes)
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "itemsize", 8)


class Stage:
    """Consecutive calls that run piece by piece together (see the module docstring)."""

    def __init__(self, first: Task):
        self.tasks: list[Task] = []
        self.count: int | None = None
        self.made: set[int] = set()  # ids of the stage's own outputs
        self.written: set[int] = set()  # ids of values written (mut) by the stage
        self.read_whole: set[int] = set()  # ids of values read whole (broadcast)
        self.split_as: dict[int, SplitType] = {}  # ids of values split, and how
        if not self.admits(first, strict=True):  # pragma: no cover - admits raises instead
            raise AnnotationError(f"{first.name}: its arguments cannot be split together")
        self.add(first)

    def admits(self, task: Task, strict: bool = False) -> bool:
        """Whether `task` can join the stage. `strict` (the first task): disagreeing element
        counts are an error, not a new stage."""
        count = self.count
        ragged = set()
        for name, value, spec, split in self._arguments(task):
            if isinstance(value, Output):  # a pending result of this stage
                if not spec.splits or split != value.split or id(value) not in self.made:
                    return False
                ragged.add(value.ragged)
                continue
            if spec.splits:
                n = split.elements(value)
                if count is not None and n != count:
                    if strict:
                        raise AnnotationError(
                            f"{task.name}: {name} has {n} elements to split where the other "
                            f"split arguments have {count}"
                        )
                    return False
                count = n
                ragged.add(False)
                if id(value) in self.read_whole or self.split_as.get(id(value), split) != split:
                    return False
            elif id(value) in self.written:
                return False
        if len(ragged) > 1:
            return False  # pieces of data-dependent sizes do not line up with element ranges
        if count is not None:
            self.count = count
        return True

    def _arguments(self, task: Task):
        b = task.bound
        for name, value, spec, split in zip(b.names, b.values, b.specs, b.splits, strict=True):
            yield name, _plain(value), spec, split

    def add(self, task: Task) -> None:
        self.tasks.append(task)
        for _, value, spec, split in self._arguments(task):
            if isinstance(value, Output):
                continue
            if spec.splits:
                self.split_as[id(value)] = split
                if spec.mut:
                    self.written.add(id(value))
            else:
                self.read_whole.add(id(value))
        if task.output is not None:
            self.made.add(id(task.output))

    def piece_ranges(self) -> list[tuple[int, int]]:
        """The element ranges of the pieces: as many elements as fit the piece's bytes into
        the cache — the stage's split inputs, plus the results of its calls that are alive at
        once (made and still to be read by a later call of the stage; 8 bytes per element
        each: their type is known only once made). Counting every result of a long chain
        would cut it into pieces too small to pay for a call each. No fewer than the split
        types' `min_piece` unless `split_piece_bytes` is set."""
        n = self.count or 0
        inputs = 0
        seen: set[int] = set()
        last_read: dict[int, int] = {}
        splits = set()
        fewest = 1
        for k, task in enumerate(self.tasks):
            for _, value, spec, split in self._arguments(task):
                if spec.splits:
                    splits.add(split)
                if isinstance(value, Output):
                    last_read[id(value)] = k
                elif spec.splits and id(value) not in seen:
                    seen.add(id(value))
                    inputs += _bytes_per_element(value, split)
                    fewest = max(fewest, ARRAY_MIN_PIECE.get(type(value), 1))
        if self._engine_runs():
            fewest = max(fewest, ENGINE[0].min_piece)
        alive, most = set(), 0
        for k, task in enumerate(self.tasks):
            if task.output is not None:
                alive.add(id(task.output))
            most = max(most, len(alive))
            alive = {o for o in alive if last_read.get(o, -1) > k}
        per = inputs + 8 * most
        # (an explicit `split_piece_bytes` is the user's choice, small pieces included)
        fewest = max([fewest] + [s.min_piece for s in splits])
        fewest = 1 if SETTINGS.split_piece_bytes else fewest
        step = max(fewest, piece_bytes() // max(per, 1))
        return [(s, min(s + step, n)) for s in range(0, n, step)] or [(0, 0)]

    def run(self, keep: set[int]) -> None:
        """Run every piece; merge the outputs in `keep` (ids) and those the user holds."""
        ranges = self.piece_ranges()
        kept = [t.output for t in self.tasks if t.output is not None]
        kept = [o for o in kept if id(o) in keep or o.wanted]
        collected = {id(o): [None] * len(ranges) for o in kept}
        # What each call of the stage reads of the piece's earlier results, from it on: the
        # rest is dropped before it runs (and a pending engine value never computed)
        live, later = [], set()
        for task in reversed(self.tasks):
            later = later | {id(v) for _, v, _, _ in self._arguments(task) if isinstance(v, Output)}
            live.append(later)
        steps = [
            (task, self._step(task), self._written_names(task), read)
            for task, read in zip(self.tasks, reversed(live), strict=True)
        ]
        written: set[str] = set()  # mut arguments some piece has written into
        failure: list = []
        taken = iter(range(len(ranges)))
        lock = threading.Lock()

        def work():
            while not failure:
                with lock:
                    k = next(taken, None)
                if k is None:
                    return
                try:
                    _run_piece(steps, ranges[k], k, collected, written)
                except BaseException as why:  # noqa: BLE001 - re-raised below, with the piece
                    failure.append((k, why))
                    return

        threads = min(SETTINGS.threads, len(ranges))
        if self._engine_runs():
            # The engine computes one piece at a time, on every thread of its own: workers
            # of ours would only wait for each other (and for its lock)
            threads = 1
        if threads <= 1:
            work()
        else:
            pool = _pool(threads)
            running = [pool.submit(work) for _ in range(threads)]
            try:
                for f in running:
                    f.result()
            except BaseException:  # Ctrl-C in the waiting thread: the workers stop too
                failure.append((len(ranges), None))
                raise
        if failure:
            self._raise(failure, ranges, written)
        for o in kept:
            o.value = o.split.merge(collected[id(o)])

    def _engine_runs(self) -> bool:
        """Whether captured ufuncs of this stage run through the registered engine."""
        return ENGINE[0] is not None and any(
            getattr(t.function, "elementwise", None) is not None for t in self.tasks
        )

    def _written_names(self, task: Task) -> list[str]:
        return [n for n, _, s, _ in self._arguments(task) if s.mut and s.splits]

    def _step(self, task: Task):
        """`step(start, stop, here)`: `task` on one piece (`here`: the piece's results of the
        stage's earlier calls, by output id). How each argument is made is decided once per
        stage; a function may offer its own, cheaper step (`piece_call`: C functions pass
        addresses into the whole arrays, no view per piece)."""
        plan = []
        for _, value, spec, split in self._arguments(task):
            if isinstance(value, Output):
                plan.append((FROM_PIECE, id(value), split))
            elif spec.splits:
                plan.append((SPLIT_MUT if spec.mut else SPLIT, value, split))
            else:
                plan.append((WHOLE, value, None))
        engine = ENGINE[0]
        ufunc = getattr(task.function, "elementwise", None)
        if engine is not None and ufunc is not None:
            return _engine_step(engine, ufunc, plan)
        own = getattr(task.function.fn, "piece_call", None)
        if own is not None:
            found = own(plan)
            if found is not None:
                return found
        call = task.call

        def step(start: int, stop: int, here: dict):
            if engine is not None:
                _materialize_all(engine, here)
            writes: list = []
            result = call(_piece_values(plan, start, stop, here, writes))
            for value, split, part in writes:
                split.write_back(value, start, stop, part)
            return result

        return step

    def _raise(self, failure: list, ranges: list, written_names: set[str]) -> None:
        k, why = min(failure, key=lambda f: f[0])
        if not isinstance(why, _Failed):
            raise why  # the annotation's own checks, Ctrl-C
        name, why = why.function, why.__cause__
        start, stop = ranges[k]
        written = sorted(written_names)
        message = f"{name} failed on elements [{start}, {stop}) of its split arguments: {why!r}"
        if written:
            message += f"; pieces already run have written into {', '.join(written)}"
        raise PieceError(message, name, start, stop, written) from why


def _engine_step(engine, ufunc, plan: list):
    """A captured ufunc run through the engine: its result stays pending, so the next
    captured ufuncs of the piece fuse with it."""

    def step(start: int, stop: int, here: dict):
        return engine.apply(ufunc, _piece_values(plan, start, stop, here, []))

    return step


def _piece_values(plan: list, start: int, stop: int, here: dict, writes: list) -> list:
    """The arguments of one call on the piece [start, stop) (`Stage._step`'s plan); the
    pieces a call writes go to `writes` as (value, split, piece)."""
    values = []
    for how, value, split in plan:
        if how is WHOLE:
            values.append(value)
        elif how is FROM_PIECE:
            values.append(here[value])
        else:
            part = split.split(value, start, stop)
            values.append(part)
            if how is SPLIT_MUT:
                writes.append((value, split, part))
    return values


def _materialize_all(engine, here: dict) -> None:
    """Compute the piece's pending results before a call that is not the engine's: it reads
    NumPy values, and may write what they read (a `mut` argument)."""
    for key, value in here.items():
        if engine.is_pending(value):
            here[key] = engine.materialize(value)


def _run_piece(
    steps: list, piece: tuple[int, int], k: int, collected: dict, written: set[str]
) -> None:
    """One piece through every call of a stage, in order (`written`: the mut arguments a
    call has written into, for the error of a later failure)."""
    start, stop = piece
    here: dict[int, object] = {}  # this piece's results of the stage's calls
    for task, step, writes, live in steps:
        for dead in [key for key in here if key not in live]:
            del here[dead]
        try:
            result = step(start, stop, here)
        except Exception as why:
            raise _Failed(task.name) from why
        written.update(writes)
        out = task.output
        if out is None:
            if result is not None:
                raise AnnotationError(
                    f"{task.name} returned a value, but its annotation has no `returns`"
                )
            continue
        if not out.ragged and out.split.splits and out.split.elements(result) != stop - start:
            raise AnnotationError(
                f"{task.name} returned {out.split.elements(result)} elements for the piece "
                f"[{start}, {stop}) of its split arguments: annotate `returns` as 'unknown' "
                "when the result's size depends on the data"
            )
        if id(out) in collected:
            engine = ENGINE[0]
            if engine is not None and engine.is_pending(result):
                result = engine.materialize(result)
            collected[id(out)][k] = result
        here[id(out)] = result


class _Failed(Exception):
    """The function `function` raised (its exception is the cause)."""

    def __init__(self, function: str):
        super().__init__(function)
        self.function = function


_POOL: list = [None, 0]


def _pool(threads: int) -> ThreadPoolExecutor:
    if _POOL[1] < threads:
        _POOL[0] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="daybreak-split")
        _POOL[1] = threads
    return _POOL[0]


def run(tasks: list[Task], keep: Output | None = None) -> None:
    """Run captured `tasks` (in the order they were made): stage after stage, each stage's
    results that later stages read, or the user holds (or `keep`), merged."""
    i = 0
    while i < len(tasks):
        stage = Stage(tasks[i])
        j = i + 1
        while j < len(tasks) and stage.admits(tasks[j]):
            stage.add(tasks[j])
            j += 1
        needed = {id(keep)} if keep is not None else set()
        for later in tasks[j:]:
            needed.update(id(v) for v in later.bound.values if isinstance(v, Output))
        try:
            stage.run(needed)
        finally:
            for task in stage.tasks:  # (a Future keeps its task: not the task's arguments)
                task.bound = None
        i = j
