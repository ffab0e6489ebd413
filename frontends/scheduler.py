"""The scheduler: every frontend's lazy graph becomes programs here, and here it is decided
what is compiled, what runs in the real library, and what is materialised.

Frontends record lazy `Node`s and nothing else. When Python needs values (`repr`, `float()`,
`np.asarray`, `db.evaluate`, a fallback), `materialize(roots)`:

1. walks the graph once (`lazy.topological`) and computes its **structure key** from the
   nodes' signatures (`Node.signature`: what decides the IR a node emits, never the data)
   and which leaves are the same input;
2. looks the key up among the programs it knows. A hit is a compiled program plus its
   **argument plan** (which leaf, or which structural constant, each parameter is), so the
   program is neither rebuilt, nor hashed, nor looked up by text;
3. picks a **tier** with the cost model (`estimate`):
   - tier 1, native code, when the program is compiled and a native call is cheaper than the
     library's calls;
   - tier 0, the real library executing the same graph (`Node.evaluate_eagerly`), when the
     program is not compiled yet (it is compiled on a background thread meanwhile, so the
     user never waits for the JIT) or when the work is too small to pay for a native call;
   - a synchronous compile when a node has no library form, when compiling in the
     background is off (`db.config(compile_in_background=False)`) or under `strict=True`.

What is materialised before Python asks: a node whose graph passes `NODE_BUDGET` pending
nodes (`check_budget`, called as nodes are made), so a time loop of 10^4 steps runs as many
small programs of one structure (compiled once) instead of one program that never stops
growing; frontends cut element expressions past `ELEM_BUDGET` into loops of their own.
Frontends make a value that has several consumers its own loop (the numpy frontend's
`realize`), so that work is never done twice; the decisions are in `docs/scheduler.md`.

>>> import daybreak as db, daybreak.numpy as dnp
>>> x = dnp.arange(100_000.0)
>>> print(explain_schedule([(x * 2.0).sum()._lazy_node()]).splitlines()[0])
scheduler: 1 node(s) to compute, 300000 element-operations
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from daybreak.runtime.config import SETTINGS
from daybreak.runtime.destination import WRITTEN, Destination
from daybreak.runtime.stats import (
    count_library_run,
    count_replayed,
    count_scheduler_hit,
    record,
    record_fallback,
)

from .elements.expr import Leaf, postorder
from .lazy import _UNSET, LazyValue, Node, NotEager, build_program, topological
from .sites import (
    any_cold,
    ran_in_library,
    record_always,
    sample_weight,
    sampled_pending,
    stands_on_sampled,
)
from .sites import forget as forget_lines
from .snapshots import GuardedSnapshot, run_value, start_loading, unalias, use_background

# --- budgets ----------------------------------------------------------------------------------
NODE_BUDGET = 24  # pending nodes one graph may stand on before the scheduler computes it
ELEM_BUDGET = 512  # elements one expression may hold before a frontend makes it a loop
DEPTH_BUDGET = 96  # and the longest chain in it (IR walks recurse once per level)

# --- the cost model (seconds; written down in docs/scheduler.md) -------------------------------
# Measured on the project's 2-core machine (`bench/numpy/fixed_cost.py` and the table in
# docs/scheduler.md): element costs are per *weighted* operation (a transcendental counts
# several, `elements.expr.op_weight`), for arrays that stay in the caches or come from a
# reused heap; the fixed costs are what materialising costs in Python besides the work.
LIBRARY_CALL = 5e-6  # one library call of tier 0: NumPy's dispatch and the graph walk
LIBRARY_RUN = 25e-6  # one tier-0 run: the scheduler's walk, evaluation, results as leaves
LIBRARY_ELEMENT = 0.17e-9  # one NumPy pass over one element: read operands, write a result
# ... while a call's operands and result stay in a core's cache (2 MB of L2 here); beyond it
# each pass streams them through the next level: measured 2026-12, `a * 2.0` costs 0.18-0.20
# ns per element up to 10^5 elements and 0.44-0.59 from 1.8 * 10^5 on, `a + b` 0.36-0.41
# and 0.91-0.94 (2.5-2.7x). What a node's calls hold is its elements and its output's (a
# map's result as big as its operand, a reduction's small): from CACHED_ELEMENTS of them to
# STREAMED_ELEMENTS the cost is interpolated (`_library_element`). Native code's one pass
# streams the same way once; the library's, once per call.
LIBRARY_ELEMENT_STREAMED = 0.45e-9
# An array operand read beyond a call's first: `a + b` costs NumPy 0.34-0.44 ns per element
# of 2^12-2^16 and 0.93-0.98 ns from 2^17, where `a * 0.2` costs 0.11-0.20 and 0.59-0.62
# (measured 2026-12-07): about half a pass each
READ_PASS = 0.5
CACHED_ELEMENTS = 3 << 16
STREAMED_ELEMENTS = 3 << 17
NATIVE_CALL = 45e-6  # a cached native run: key, argument plan, marshalling, results
# Of that, what the native run itself adds where tier 0 runs the library instead (the
# executable's call, marshalling and results): what a library run's measured time is
# compared with, with the work, to count what native code would have saved.
NATIVE_RUN = 12e-6
NATIVE_OUTPUT = 25e-6  # each array a native run returns (adopting its buffer, its leaf)
NATIVE_PASS = 0.05e-9  # one fused loop's pass over one element (reads and the write)
NATIVE_ELEMENT = 0.1e-9  # one fused element-operation of native code, per thread
THREAD_START = 130e-6  # starting the worker threads of one parallel loop (see below)
# Arrays from this many elements on outgrow the caches and the reused heap: each element
# written costs a first touch of fresh memory too (page faults, huge pages or not).
BIG_ARRAY = 1 << 19
FRESH_WRITE = 0.15e-9
COMPILE_BASE = 60e-3  # a program's compile: optimizer, lowering, LLVM (Python holds the GIL
COMPILE_NODE = 15e-3  # for about half of it, slowing the calling thread) and per loop in it
# The first compile of a process also imports the compiler's modules and builds LLVM's
# runtime module (0.4-0.5 s measured, 0.06-0.1 s for each later program): a cold compiler
# is not what "compiling first is sooner" should make the user wait for.
COMPILE_COLD = 0.35
# Except for a graph whose library run writes this many elements of fresh memory: what that
# costs varies tenfold with the machine's memory state (first touch of a cold 800 MB array:
# 0.2-3 s measured), native code writes a fraction of it, and waiting for a cold compiler
# is the smaller risk there. Distinct memory: the temporaries of a node's calls are freed
# for the next to reuse (a chain of in-place operators writes one and its result).
FRESH_UNKNOWN = 1 << 26
# A structure is compiled (in the background) once native code would have saved this many
# times its compile over the library runs so far.
PAYBACK = 1.0
# Native code runs on several threads only where its work on one thread (the model's
# seconds) outweighs starting the others: `threads` share it, and the start costs
# THREAD_START, so `work / threads + THREAD_START < work` (`_parallel`). Measured here (2
# cores, 2026-12): a fused `(a * 2 + 1).sum()` of 3 * 10^5 elements takes 85 us on one thread
# and 213 us on two, of 10^6 335 and 284 us, of 4 * 10^6 1133 and 736 us; a 3-D stencil step
# of 38^3 elements 76 and 169 us, of 68^3 310 and 305 us; plain C's pthread_create and join
# of a thread with half of a 160 us loop, 87-105 us more than half of it (the idle core's
# wake-up). Before, a threshold of 2^19 element-operations sent the first two to two
# threads, where they ran 1.2-2.5x slower.


@dataclass(slots=True)
class Estimate:
    """What running a graph costs each way, by the model above."""

    nodes: int
    calls: int  # library calls tier 0 makes
    element_ops: int  # elements times operations, summed over the nodes
    library_seconds: float
    native_seconds: float
    compile_seconds: float
    # What a compile costs now besides, while the compiler is cold (`COMPILE_COLD`): what
    # "compiling first is sooner" must count, but not the payback of a background compile,
    # which the first calls never wait for.
    cold_seconds: float = 0.0
    threads: int = 1  # what native code runs on (`_parallel`)

    @property
    def compile_first_seconds(self) -> float:
        """What compiling before running costs the caller now."""
        return self.compile_seconds + self.cold_seconds

    @property
    def native_pays(self) -> bool:
        return self.native_seconds < self.library_seconds


def estimate(order: list[Node]) -> Estimate:
    """The cost model on the pending nodes of `order`."""
    calls = element_ops = elements_passed = nodes = arrays = 0
    library_work = 0.0
    library_writes = native_writes = 0  # elements written to fresh memory of big arrays
    library_fresh = 0  # of those, distinct memory (freed temporaries are reused: FRESH_UNKNOWN)
    for node in order:
        if node.is_leaf:
            continue
        nodes += 1
        ops, elements = node.eager_work()
        calls += ops
        element_ops += ops * elements
        elements_passed += elements
        out = node.output_elements()
        # (each array a call reads beyond its first costs NumPy about half a pass more)
        passes = ops + READ_PASS * max(len(getattr(node, "leaves", ())) - 1, 0)
        library_work += passes * elements * _library_element(elements + out)
        arrays += out > 1
        if elements >= BIG_ARRAY:
            if node.writes_temporaries:
                library_writes += ops * elements  # NumPy writes a temporary per call
                # (each freed for the next to reuse: a temporary and the result at most)
                library_fresh += min(ops, 2) * elements
            elif out >= BIG_ARRAY:
                library_writes += out
                library_fresh += out
            native_writes += out if out >= BIG_ARRAY else 0
    work = (
        elements_passed * NATIVE_PASS + element_ops * NATIVE_ELEMENT + native_writes * FRESH_WRITE
    )
    threads = _parallel(work)
    if threads > 1:
        work = work / threads + THREAD_START
    return Estimate(
        nodes=nodes,
        calls=calls,
        element_ops=element_ops,
        library_seconds=LIBRARY_RUN
        + calls * LIBRARY_CALL
        + library_work
        + library_writes * FRESH_WRITE,
        native_seconds=NATIVE_CALL + arrays * NATIVE_OUTPUT + work,
        compile_seconds=COMPILE_BASE + COMPILE_NODE * nodes,
        cold_seconds=0.0 if _compiled[0] or library_fresh >= FRESH_UNKNOWN else COMPILE_COLD,
        threads=threads,
    )


def _library_element(elements: int) -> float:
    """What one library call costs per element where its operands and result hold
    `elements` (see `LIBRARY_ELEMENT_STREAMED`): the cached cost, the streamed one, or between
    them by the size's logarithm."""
    if elements <= CACHED_ELEMENTS:
        return LIBRARY_ELEMENT
    if elements >= STREAMED_ELEMENTS:
        return LIBRARY_ELEMENT_STREAMED
    share = math.log2(elements / CACHED_ELEMENTS) / math.log2(STREAMED_ELEMENTS / CACHED_ELEMENTS)
    return LIBRARY_ELEMENT + share * (LIBRARY_ELEMENT_STREAMED - LIBRARY_ELEMENT)


def _parallel(work: float) -> int:
    """The threads native code of `work` seconds on one thread runs on: all of them where
    sharing it saves more than starting them costs, else one."""
    threads = SETTINGS.threads
    return threads if threads > 1 and work / threads + THREAD_START < work else 1


def library_by_choice() -> bool:
    """Whether a frontend may compute work in the library by choice — NumPy's own kernel on
    data, where nothing pending would fuse (`np.add(x, y, out=o)`, `np.concatenate` of
    computed parts) — rather than make a node. Not where every graph must compile
    (`strict=True`, `eager_below=0`, `compile_in_background=False`: the tests' compiled path)."""
    return bool(SETTINGS.eager_below) and SETTINGS.compile_in_background and not SETTINGS.strict


def library_for_good(calls: int, elements: int, reduced: bool = False) -> bool:
    """Whether `calls` library calls over `elements` elements each, writing an array of
    `elements` (or a few, `reduced`), is work native code would never run faster (`estimate`
    of such one loop): a frontend may then compute it in the library at once, without making
    a node (tier 0 of the tiny, `eager.value_now`)."""
    if not SETTINGS.compile_in_background or SETTINGS.strict:
        return False  # every graph compiles: nothing runs in the library by choice
    ops = calls * elements
    writes = ops if elements >= BIG_ARRAY else 0
    library = (
        LIBRARY_RUN
        + calls * LIBRARY_CALL
        + ops * _library_element(elements if reduced else 2 * elements)
        + writes * FRESH_WRITE
    )
    work = (
        elements * NATIVE_PASS
        + ops * NATIVE_ELEMENT
        + (elements * FRESH_WRITE if elements >= BIG_ARRAY else 0)
    )
    threads = _parallel(work)
    if threads > 1:
        work = work / threads + THREAD_START
    return library <= NATIVE_CALL + NATIVE_OUTPUT * (elements > 1) + work


# --- what the scheduler knows about each structure ---------------------------------------------
@dataclass
class Known:
    """One program structure: its compiled code once ready, how to call it, the last tier."""

    state: str = "new"  # new -> compiling -> ready | failed
    executable: Callable | None = None
    plan: list = field(default_factory=list)  # ("leaf", k) | ("const", value) per parameter
    reason: str = ""
    runs: dict = field(default_factory=lambda: {"native": 0, "library": 0})
    # What native code would have saved over the library runs so far (each run's measured
    # time less the native estimate): the background compile starts once that has paid.
    saved: float = 0.0
    # The executable with the plan's constants bound (`Executable.partial`), and the leaves
    # it takes, once it ran: a structure run again passes its leaves' values only.
    call: Callable | None = None
    leaf_slots: tuple = ()
    # The cost model's estimate at its last native run, and the state it depended on (the
    # thread count, whether the process had compiled): what `_known_native` runs it by.
    cost: Estimate | None = None
    cost_for: tuple = ()
    # The structures it differs from only in where its views start (`Family`), once asked
    family: Family | None = None


@dataclass
class Family:
    """Structures that differ only in where their views start: `out[k] = f(a[k], b[k])` in a
    loop over k makes one structure per k (a view's offset is part of its signature, and of
    its program's argument plan), whose programs are the same code with other offsets (an
    `i64` parameter each, `Namer.size`). What native code would have saved is counted for
    all of them together, so the loop's structures compile once the loop has paid for one
    compile; then each of them builds its program (the backend finds the code compiled:
    ~1 ms) once it has saved `MEMBER_COMPILE` itself. Before, each counted alone, and a
    structure run once per call of the loop's function never compiled: a row loop over
    200,000-element rows ran at 0.64x NumPy."""

    saved: float = 0.0
    ready: bool = False  # (a structure of it compiled: its code is in the backend's cache)


_FAMILIES: OrderedDict = OrderedDict()
_NO_FAMILY = Family()  # (a structure whose family cannot be told: it counts alone)
MEMBER_COMPILE = 3e-3  # a structure's compile where its family's code is compiled (see above)


_KNOWN: OrderedDict = OrderedDict()
_KNOWN_LIMIT = 2048
_COMPILE_LOCK = threading.Lock()  # LLVM's engine and the caches: one compile at a time
_pool: ThreadPoolExecutor | None = None
_compiler: Callable | None = None
_compiled = [False]  # whether a program was compiled in this process (see COMPILE_COLD)


def use_compiler(compile_fn: Callable) -> None:
    """Set the function that compiles programs (daybreak.api registers `db.compile`, so that
    frontends use the public path without importing the public package)."""
    global _compiler
    _compiler = compile_fn


def _compile(program):
    if _compiler is None:  # pragma: no cover - daybreak/__init__ always registers one
        raise RuntimeError("no compiler registered (import daybreak first)")
    with _COMPILE_LOCK:
        executable = _compiler(program)
    if not _compiled[0]:
        _compiled[0] = True  # the compiler is warm: `COMPILE_COLD` is paid
        start_loading()  # (the write guards: cheap to build from now on)
    return executable


def _background() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="daybreak-compile")
    return _pool


def _submit(fn: Callable) -> None:
    _background().submit(fn)


use_background(_submit)


def structure_key(order: list[Node], roots: Sequence[Node]):
    """(key, leaves): the graph's structure as a hashable value, or None when a node has no
    signature; and its leaves in the order the argument plan numbers them."""
    position: dict[int, int] = {}
    classes: dict = {}
    parts: list = []
    leaves: list[Node] = []
    for k, node in enumerate(order):
        position[id(node)] = k
        if node.is_leaf:
            same = classes.setdefault(node.param_key(), len(classes))
            parts.append((node.ir_type(), same))
            leaves.append(node)
            continue
        sig = node.signature()
        if sig is None:
            return None, leaves
        parts.append((sig, tuple(position[id(i)] for i in node.inputs)))
    where = tuple(position[id(r)] for r in roots)
    return (SETTINGS.backend, SETTINGS.passes_off, tuple(parts), where), leaves


def _family_of(known: Known, order: list[Node], roots: Sequence[Node]) -> Family:
    """`known`'s family (`Family`): its structure key with every view's offset told only as
    zero or not (a zero offset emits no parameter)."""
    found = known.family
    if found is not None:
        return found
    position: dict[int, int] = {}
    classes: dict = {}
    parts: list = []
    for k, node in enumerate(order):  # (`structure_key`'s walk, with the offsets told apart)
        position[id(node)] = k
        if node.is_leaf:
            parts.append((node.ir_type(), classes.setdefault(node.param_key(), len(classes))))
            continue
        sig = node.compute_signature()
        if sig is None:
            known.family = _NO_FAMILY
            return _NO_FAMILY
        sig = _offsets_told_as_zero_or_not(sig)
        parts.append((sig, tuple(position[id(i)] for i in node.inputs)))
    where = tuple(position[id(r)] for r in roots)
    key = (SETTINGS.backend, SETTINGS.passes_off, tuple(parts), where)
    try:
        found = _FAMILIES.get(key)
    except TypeError:  # (an unhashable signature part: counted alone)
        found = _NO_FAMILY
    if found is None:
        found = _FAMILIES[key] = Family()
        if len(_FAMILIES) > _KNOWN_LIMIT:
            _FAMILIES.popitem(last=False)
    known.family = found
    return found


def _offsets_told_as_zero_or_not(signature):
    """A node's signature with each `Leaf` entry's offset (`expr_signature`'s last field)
    replaced by whether it is zero."""
    if type(signature) is not tuple:
        return signature
    if len(signature) == 6 and signature[0] is Leaf:
        return (*signature[:5], signature[5] != 0)
    return tuple(_offsets_told_as_zero_or_not(part) for part in signature)


def _one_node_key(node: Node, inputs: tuple) -> tuple:
    """`structure_key([*dict.fromkeys(inputs), node], (node,))` of a node over computed
    inputs (the same key), without the general walk: a Python loop's statement asks it on
    every call."""
    leaves = list(dict.fromkeys(inputs)) if len(inputs) > 1 else list(inputs)
    sig = node.signature()
    if sig is None:
        return None, leaves
    classes: dict = {}
    parts = [
        (leaf.ir_type(), classes.setdefault(leaf.param_key(), len(classes))) for leaf in leaves
    ]
    if len(leaves) == len(inputs):
        wiring = _IN_ORDER.get(len(inputs))
        if wiring is None:
            wiring = _IN_ORDER[len(inputs)] = tuple(range(len(inputs)))
    else:
        position = {id(leaf): k for k, leaf in enumerate(leaves)}
        wiring = tuple(position[id(i)] for i in inputs)
    parts.append((sig, wiring))
    return (SETTINGS.backend, SETTINGS.passes_off, tuple(parts), (len(leaves),)), leaves


_IN_ORDER: dict[int, tuple] = {}  # n -> (0, ..., n - 1): inputs wired in their order


def _remember(key) -> Known:
    known = _KNOWN.get(key)
    if known is None:
        known = _KNOWN[key] = Known()
        if len(_KNOWN) > _KNOWN_LIMIT:
            _KNOWN.popitem(last=False)
    else:
        _KNOWN.move_to_end(key)
    return known


def _prepared(known: Known) -> Callable:
    """`known`'s executable with its plan's constants bound (made on its first run)."""
    call = known.call
    if call is None:
        plan = known.plan
        fixed = {k: value for k, (kind, value) in enumerate(plan) if kind != "leaf"}
        known.leaf_slots = tuple(value for kind, value in plan if kind == "leaf")
        call = known.call = known.executable.partial(fixed)
    return call


def _threads(cost: Estimate) -> int:
    """Threads only for work that outweighs starting them (`_parallel`): smaller runs keep
    to the calling thread."""
    return cost.threads


def _run_native(known: Known, leaves: list[Node], cost: Estimate, graph: list[Node]):
    if any_cold():
        record_always(_sites_of(graph))
    known.runs["native"] += 1
    known.cost, known.cost_for = cost, (SETTINGS.threads, _compiled[0])
    count_scheduler_hit()
    call = _prepared(known)
    return call([run_value(leaves[k]) for k in known.leaf_slots], _threads(cost))


@dataclass
class SharedParts:
    """What several nodes of one tier-0 run compute alike (`Node.eager_parts`: an element
    expression two loops read, softmax's `exp(x - max)` read by its sum and its division):
    each is computed once in the run, its value kept until the run ends. The library would
    otherwise compute it once per node, where the user's NumPy computed it once (fusion's
    recomputation pays in native code, not call by call)."""

    keys: frozenset = frozenset()
    values: dict = field(default_factory=dict)


SHARED_PARTS = SharedParts()


def _shared_parts(order: list[Node]) -> tuple[frozenset, dict]:
    """The parts more than one pending node of `order` computes, and by id of the node that
    computes it last, the parts whose value may go after that node."""
    seen: dict = {}
    last: dict = {}
    for node in order:
        if not node.is_leaf:
            for part in node.eager_parts():
                seen[part] = seen.get(part, 0) + 1
                last[part] = id(node)
    shared = frozenset(part for part, count in seen.items() if count > 1)
    spent: dict[int, list] = {}
    for part in shared:
        spent.setdefault(last[part], []).append(part)
    return shared, spent


def _run_library(order: list[Node], roots: Sequence[Node]) -> list:
    """Tier 0: each node computed by the real library, inputs first; an intermediate is
    dropped after its last use, as NumPy drops its temporaries; parts that several nodes
    compute alike are computed once (`SHARED_PARTS`)."""
    if sampled_pending():
        ran_in_library(_sites_of(order))
    if len(roots) == 1 and all(i.is_leaf for i in roots[0].inputs):
        # one node over values (most runs in a Python loop): no bookkeeping of temporaries
        return [roots[0].evaluate_eagerly([run_value(i) for i in roots[0].inputs])]
    SHARED_PARTS.keys, spent = _shared_parts(order)
    try:
        return _run_library_nodes(order, roots, spent)
    finally:
        SHARED_PARTS.keys, SHARED_PARTS.values = frozenset(), {}


def _run_library_nodes(order: list[Node], roots: Sequence[Node], spent: dict) -> list:
    # What the library computes: the roots and what their library forms read (an
    # arg-reduction's row extremes, which only its compiled form reads, are not computed:
    # `np.argmax` is one pass, the extremes another)
    needed = set(map(id, roots))
    for node in reversed(order):
        if id(node) in needed and not node.is_leaf:
            needed.update(map(id, node.eager_inputs()))
    uses: dict[int, int] = {}
    for node in order:
        if not node.is_leaf:
            for i in node.inputs:
                uses[id(i)] = uses.get(id(i), 0) + 1
    for r in roots:
        uses[id(r)] = uses.get(id(r), 0) + 1
    values: dict[int, object] = {}
    for node in order:
        if node.is_leaf:
            values[id(node)] = run_value(node)
            continue
        if id(node) not in needed:
            values[id(node)] = None  # (read by no library form)
            continue
        inputs = [values[id(i)] for i in node.inputs]
        values[id(node)] = node.evaluate_eagerly(inputs)
        for part in spent.get(id(node), ()):  # read for the last time: dropped, as NumPy would
            SHARED_PARTS.values.pop(part, None)
        for i in node.inputs:
            uses[id(i)] -= 1
            if uses[id(i)] == 0 and not i.is_leaf:
                del values[id(i)]
    return [values[id(r)] for r in roots]


def _has_paid(known: Known, family: Family | None, cost: Estimate) -> bool:
    """Whether what native code would have saved pays for compiling `known`: its own
    savings against its compile, or its family's (`Family`) until one of it compiled, then
    its own against `MEMBER_COMPILE`."""
    if family is None or family is _NO_FAMILY:
        return known.saved >= PAYBACK * cost.compile_seconds
    if family.ready:
        return known.saved >= PAYBACK * MEMBER_COMPILE
    return family.saved >= PAYBACK * cost.compile_seconds


def _compile_known(known: Known, program) -> None:
    """Compile `program` into `known` (on the background thread, or inline)."""
    try:
        known.executable = _compile(program)
        known.state = "ready"
        if known.family is not None and known.family is not _NO_FAMILY:
            known.family.ready = True
    except Exception as why:  # noqa: BLE001 - a failed compile means: keep running tier 0
        known.state, known.reason = "failed", f"{type(why).__name__}: {why}"
        record_fallback(f"scheduler: compiling failed, the library runs it: {known.reason}")


def _sync(
    known: Known | None, pending: list[Node], order: list[Node], leaves: list[Node], cost: Estimate
):
    """Compile now and run native code (what tests of the compiled path and strict mode
    get, and graphs the library cannot run)."""
    if known is not None and known.state == "ready":
        return _run_native(known, leaves, cost, order)
    program, args, plan = build_program(pending, order)
    executable = _compile(program)
    record_always(_sites_of(order))
    if known is not None:
        known.executable, known.plan, known.call = executable, plan, None
        known.state = "ready"
        known.runs["native"] += 1
    return executable.run(args, _threads(cost))


def _compute(roots: list[Node], keyed: tuple | None = None) -> tuple[list[Node], list]:
    """The values of `roots` and of every other pending node they stand on that a user's
    variable still holds (`Node.wanted_later`): `pending`, roots first, computed by one
    program or the library's calls. Those are kept once computed, never recomputed by the
    next program that reads them: a Python loop reading rows of a pending array computes the
    array in its first iteration only. Intermediates nobody holds any more (a time step's
    temporaries) are not returned, so their memory is freed after their last use."""
    order = topological(roots)
    chosen = set(map(id, roots))
    pending = roots + [
        n for n in order if not n.is_leaf and id(n) not in chosen and n.wanted_later()
    ]
    return pending, _compute_all(pending, order, keyed if len(pending) == 1 else None)


def _compute_all(pending: list[Node], order: list[Node], keyed: tuple | None = None) -> list:
    """`pending`'s values (see `_compute`); `keyed`: the graph's `structure_key`, when the
    caller made it already (`_known_native`)."""
    background = SETTINGS.compile_in_background and not SETTINGS.strict
    cost = estimate(order)
    if background and not cost.native_pays:
        # Too small for native code ever to pay: the library, without even keying the graph
        # (a signature walk costs more than the library's calls here).
        values = _try_library(order, pending)
        if values is not None:
            return values
    key, leaves = keyed if keyed is not None else structure_key(order, pending)
    known = _remember(key) if key is not None else None
    if known is not None and known.state == "ready":
        if not background or cost.native_pays:
            return _split(_run_native(known, leaves, cost, order), pending)
    if background and (known is None or known.state != "failed"):
        if (
            (known is None or known.state == "new")
            and cost.native_pays
            and cost.compile_first_seconds + cost.native_seconds < cost.library_seconds
        ):
            # Big work: compiling now and running native code is sooner than the library
            return _split(_sync(known, pending, order, leaves, cost), pending)
        counting = (
            known is not None
            and known.state == "new"
            and cost.native_pays
            and not stands_on_sampled(order)
        )
        family = _family_of(known, order, pending) if counting else None
        if counting:
            if _has_paid(known, family, cost):
                # It has paid: a structure run once (a script's only call) is never compiled,
                # and a compile thread never competes with the first runs for the GIL.
                program, _, plan = build_program(pending, order)
                known.plan, known.state = plan, "compiling"
                _background().submit(_compile_known, known, program)
        start = time.perf_counter()
        try:
            values = _run_library(order, pending)
        except NotEager:
            values = None
        except Exception:  # noqa: BLE001 - the library disagreed; the compiled path decides
            values = None
        if values is not None:
            if counting:  # what native code would have saved, by the library's real time
                found = _sites_of(order)
                saved = (
                    time.perf_counter() - start - (cost.native_seconds - NATIVE_CALL + NATIVE_RUN)
                ) * max((sample_weight(site) for site in found), default=1)
                known.saved += saved
                if family is not _NO_FAMILY:
                    family.saved += saved
                if _has_paid(known, family, cost):
                    # paid: its next run compiles it, so its lines record from now on (a
                    # sampled line would otherwise bring that run `SAMPLE_EVERY` calls later)
                    record_always(found)
            if known is not None:
                known.runs["library"] += 1
                if counting or known.state == "compiling":
                    ON_THE_WAY[0] += 1
            count_library_run()
            return values
    elif known is not None and known.state == "failed":
        try:
            values = _run_library(order, pending)
            known.runs["library"] += 1
            count_library_run()
            return values
        except Exception:  # noqa: BLE001 - nothing left but the interpreter path
            pass
    return _split(_sync(known, pending, order, leaves, cost), pending)


def _sites_of(order: list[Node]) -> frozenset:
    """The user's call sites the element expressions of `order`'s loops were recorded at."""
    found = set()
    for node in order:
        expr = getattr(node, "expr", None)
        if expr is not None:
            for e in postorder(expr):
                site = getattr(e, "site", None)
                if site is not None:
                    found.add(site)
    return frozenset(found)


def _try_library(order: list[Node], pending: list[Node]) -> list | None:
    """Tier 0, or None when the library cannot compute this graph (the compiled path then
    decides: `NotEager`, or an error NumPy raises where daybreak's semantics differ)."""
    try:
        values = _run_library(order, pending)
    except Exception:  # noqa: BLE001 - see above
        return None
    count_library_run()
    return values


def _split(out, pending: list[Node]) -> list:
    return [out] if len(pending) == 1 else list(out)


def materialize(roots: Sequence[Node]) -> list:
    """The values of `roots`, computed together (cached on each node, which then forgets its
    inputs so their buffers can be freed)."""
    keyed = None
    if len(roots) == 1 and not roots[0].is_leaf:
        node = roots[0]
        value, keyed = _known_native(node)
        if value is not _MISS:
            node.computed(unalias([value])[0])
            return [node.cached]
        if keyed is not None:
            # one node over computed inputs (`_ran_natively` keyed it): its graph is its
            # distinct inputs and itself, nothing else pending to walk for (`_compute`)
            values = _compute_all([node], [*keyed[1], node], keyed)
            node.computed(unalias(values)[0])
            return [node.cached]
    pending = [r for r in dict.fromkeys(roots, None) if not r.is_leaf]
    if pending:
        pending, values = _compute(pending, keyed)
        for node, value in zip(pending, unalias(values), strict=True):
            node.computed(value)
    return [r.cached for r in roots]


_MISS = object()
_KEYED_WORK = 1 << 12  # element-operations below which `_known_native` does not look


def _known_native(node: Node) -> tuple:
    """(`node`'s value, its graph's `structure_key`) by the compiled program of its
    structure, when `node` stands on computed values only and its structure ran natively
    before under the same conditions (`Known.cost`): a Python loop's statement computed
    again, without the general walk, the cost model or the bookkeeping of other pending
    values (there are none). The value is `_MISS` for anything else, which `_compute`
    decides as always (with the key, when one was made: it is that graph's)."""
    known, keyed = _ran_natively(node)
    if known is None:
        return _MISS, keyed
    value = _run_native(known, keyed[1], known.cost, [node])
    LAST_WRITE[0] = _noted(known, keyed[1], None)  # (a value computed: `numpy.replay`'s too)
    return value, keyed


def _ran_natively(node: Node) -> tuple:
    """(the `Known` of `node`'s one-node graph when it stands on computed values only and ran
    natively before under the conditions that hold now, else None; the graph's key and
    leaves, or None when not keyed)."""
    for i in node.inputs:
        if i.cached is _UNSET:
            return None, None
    node.refresh()
    inputs = node.inputs
    for i in inputs:
        if i.cached is _UNSET:
            return None, None
    ops, elements = node.eager_work()
    if ops * elements < _KEYED_WORK:
        return None, None  # (tiny work is not keyed: the library's calls cost less)
    keyed = _one_node_key(node, inputs)
    known = _KNOWN.get(keyed[0]) if keyed[0] is not None else None
    if (
        known is None
        or known.state != "ready"
        or known.cost is None
        or known.cost_for != (SETTINGS.threads, _compiled[0])
        or (SETTINGS.compile_in_background and not SETTINGS.strict and not known.cost.native_pays)
    ):
        return None, keyed
    _KNOWN.move_to_end(keyed[0])
    return known, keyed


def ran_natively(node: Node) -> bool:
    """Whether `node`'s one-node graph ran natively before, under the conditions that hold
    now (what `write_into` needs)."""
    return _ran_natively(node)[0] is not None


def write_into(
    node: Node, region, same_place: Node | None = None, before_run: Callable | None = None
) -> bool:
    """Compute the pending `node` (an array whose value, in C order, is `region`'s: a NumPy
    array of the same shape and dtype) straight into `region`, when its structure ran
    natively before (`_ran_natively`), the program writes such a destination
    (`Destination`, `WRITTEN`) and nothing `node` reads lies in `region`'s memory (but
    `same_place`, an input the caller made to be read only at the very elements the
    program writes, `x[r] -= v`'s old `x[r]`): then `node` stays pending (a value that is
    its own array reads no memory a later write changes) and True. False: the caller
    computes `node` and copies it in (when the program ran but did not write the region,
    `node` keeps what it computed). `before_run()` is called right before the program runs
    (not when it does not run)."""
    known, keyed = _ran_natively(node)
    kind = getattr(known.executable, "destination_kind", None) if known is not None else None
    into = Destination.of(region, as_rows=kind == "rows") if kind is not None else None
    if into is None:
        return False
    call = _prepared(known)
    leaves = [keyed[1][k] for k in known.leaf_slots]
    values = [run_value(leaf) for leaf in leaves]
    for leaf, v in zip(leaves, values, strict=True):
        if leaf is not same_place and type(v) is np.ndarray and np.may_share_memory(v, region):
            unalias([])  # (the buffers lent for the run that did not happen)
            return False
    known.runs["native"] += 1
    count_scheduler_hit()
    if any_cold():
        record_always(_sites_of([node]))
    if before_run is not None:
        before_run()
    result = call(values, _threads(known.cost), into)
    if result is WRITTEN:
        unalias([])
        record(written_in_place=1)
        LAST_WRITE[0] = _noted(known, leaves, same_place)
        return True
    node.computed(unalias([result])[0])
    return False


# The program, leaves and `same_place` of the last `write_into` that wrote its region, or of
# the last value computed by `_known_native` (what a frontend's statement that replays runs
# again: `numpy.replay`), until the frontend clears it
LAST_WRITE: list = [None]
# Library runs of structures on their way to native code: counted toward their compile, or
# run while it compiles (a lazily marked statement's recording that made one is no failed
# try, `numpy.replay`)
ON_THE_WAY = [0]


def _noted(known: Known, leaves: list, same_place) -> tuple:
    """What `LAST_WRITE` keeps of a native run: (`known`, for each of its leaf parameters
    None for `same_place`, `(number,)` for a Python number, else a weak reference to the
    leaf — to the node a guarded snapshot is of —, None). Nothing is held alive by it: a
    snapshot kept past its statement would be guarded for nothing."""
    kept = []
    for k in known.leaf_slots:
        leaf = leaves[k]
        if leaf is same_place:
            kept.append(None)
        elif type(leaf) is GuardedSnapshot:
            kept.append(leaf._owner)
        elif getattr(leaf, "key", 0) is None and type(leaf.cached) is not np.ndarray:
            kept.append((leaf.cached,))
        else:
            kept.append(weakref.ref(leaf))
    return (known, tuple(kept), None)


def still_native(known: Known) -> bool:
    """Whether `known`, which ran natively, runs natively now (`_ran_natively`'s conditions:
    compiled, and run under the thread count and compiler state that hold now)."""
    return (
        known.state == "ready"
        and known.cost is not None
        and known.cost_for == (SETTINGS.threads, _compiled[0])
        and (not SETTINGS.compile_in_background or SETTINGS.strict or known.cost.native_pays)
    )


def run_replayed(known: Known, values: list, into: Destination | None = None):
    """`write_into`'s run of `known` (which `still_native` finds native) on the leaves'
    `values`, into `into` where not None: `WRITTEN`, or the value computed."""
    known.runs["native"] += 1
    result = _prepared(known)(values, _threads(known.cost), into)
    count_replayed(result is WRITTEN)
    return result


def check_budget(node: Node) -> Node:
    """Materialise `node` now when the graph it stands on has grown past `NODE_BUDGET`.
    Weights count shared inputs once per path, so past the budget the pending nodes are
    counted exactly first (and the weight corrected, so its users start from the truth)."""
    if not node.is_leaf and node.weight > NODE_BUDGET:
        exact = sum(1 for n in topological([node]) if not n.is_leaf)
        if exact > NODE_BUDGET:
            materialize([node])
        else:
            node.weight = exact
    return node


def wait_for_compiles(timeout: float | None = None) -> None:
    """Block until the background compiles submitted so far are done (tests, benchmarks)."""
    if _pool is not None:
        _pool.submit(lambda: None).result(timeout)


def forget() -> None:
    """Forget every structure, and what the lines that made them learnt (tests and
    benchmarks that must see a first call again)."""
    wait_for_compiles()
    _KNOWN.clear()
    _FAMILIES.clear()
    forget_lines()
    for forget_more in FORGET:
        forget_more()


FORGET: list[Callable] = []  # what frontends forget with the structures (`numpy.replay`'s)


def explain_schedule(roots: Sequence[Node]) -> str:
    """The scheduler's view of materialising `roots`: the cost model's numbers, whether the
    structure is compiled, and the tier it would run in."""
    pending = [r for r in dict.fromkeys(roots, None) if not r.is_leaf]
    order = topological(pending)
    cost = estimate(order)
    key, _ = structure_key(order, pending) if pending else (None, [])
    known = _KNOWN.get(key) if key is not None else None
    state = (
        "no signature (rebuilt each time)"
        if key is None and pending
        else (known.state if known is not None else "not seen")
    )
    if not pending:
        tier = "already computed"
    elif not (SETTINGS.compile_in_background and not SETTINGS.strict):
        tier = "native (compiled first: background compiling is off)"
    elif known is not None and known.state == "ready" and cost.native_pays:
        tier = "native"
    elif (
        cost.native_pays and cost.compile_first_seconds + cost.native_seconds < cost.library_seconds
    ):
        tier = "native (compiling first is sooner than the library)"
    elif cost.native_pays:
        tier = "library now, native once compiled"
    else:
        tier = "library (too small for a native call to pay)"
    lines = [
        f"scheduler: {cost.nodes} node(s) to compute, {cost.element_ops} element-operations",
        f"  cost model: library {cost.library_seconds * 1e3:.3f} ms in {cost.calls} call(s), "
        f"native {cost.native_seconds * 1e3:.3f} ms on {cost.threads} thread(s), "
        f"compile ~{cost.compile_seconds * 1e3:.0f} ms"
        + (
            f" (+{cost.cold_seconds * 1e3:.0f} ms: the compiler is cold)"
            if cost.cold_seconds
            else ""
        ),
        f"  structure: {state}; tier: {tier}",
    ]
    if known is not None:
        lines.append(
            f"  runs so far: {known.runs['native']} native, {known.runs['library']} library"
        )
    return "\n".join(lines)


def evaluate(*values):
    """Materialise several lazy values in one program that shares their work; other values
    pass through. Returns one value for one argument, else a tuple.

    >>> import daybreak as db, daybreak.numpy as dnp
    >>> x = dnp.arange(10_000.0)
    >>> db.evaluate(x.sum(), x.max())
    (np.float64(49995000.0), np.float64(9999.0))
    """
    lazies = [v for v in values if isinstance(v, LazyValue)]
    raws = dict(zip(map(id, lazies), materialize([v._lazy_node() for v in lazies]), strict=True))
    out = tuple(v._lazy_finish(raws[id(v)]) if isinstance(v, LazyValue) else v for v in values)
    return out[0] if len(out) == 1 else out


__all__ = [
    "DEPTH_BUDGET",
    "ELEM_BUDGET",
    "NODE_BUDGET",
    "Estimate",
    "check_budget",
    "estimate",
    "evaluate",
    "explain_schedule",
    "forget",
    "materialize",
    "structure_key",
    "use_compiler",
    "wait_for_compiles",
]
