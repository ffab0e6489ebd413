"""Where in the user's code a lazy value over the user's memory (or over computed arrays
only) was made, and what became of the values made there: the feedback that lets a frontend
choose, per call site, between recording lazily and computing at once.

A lazy value that reads memory the user may still write costs a pass over that memory when it
is made (`lazy.Param.snapshot`: a copy, or a comparison with the copy). That pass pays for
itself when the value fuses into more work computed natively. It buys nothing when the value
is computed on its own (`return a + trace`, handed to NumPy), or when what it fuses into runs
in the library call by call (tier 0: a first call, while its program compiles, or work too
small ever to compile) — there, computing the call at once, as NumPy does, is one pass where
the snapshot and the later run are two. What a value will meet cannot be known when it is
made, and deciding later would be unsound (user code may write the memory in between), so the
decision is made from what happened at the same line before, as a JIT's type feedback does.
A line records lazily (its first call too: a first call whose fused work is big compiles it
at once, and Black-Scholes' first call computing its calls on the inputs at once measured
1064 ms against 755 ms; except where the snapshot would be a copy, before the write guards
load: a line's first call is then computed at once, `first_call`) until a value made there
is computed on its own, or what it fused into runs in the library for good; then it
computes at once, until a value made there fuses into a larger lazy value (for a line taught
by the library: never, that is what happened there):

>>> site = ("example", 1)
>>> at_once(site)  # a line not seen yet
False
>>> materialised_alone(site)
>>> at_once(site)
True
>>> consumed(site)
>>> at_once(site)
False
>>> computed_in_library(site)
>>> consumed(site)
>>> at_once(site)
True

A call on computed arrays only (daybreak's own results) has no snapshot to weigh, but the
same bet: a value recorded and then computed on its own (a mask a selection reads next) was a
loop node and a trip through the scheduler around one NumPy call; the line learns the same way.

Until a structure made in a code object (a function, a loop body) has compiled, its calls are
also sampled (`sampled_out`): recorded, they would run in the library call by call anyway, so
most are computed at once, and one epoch of calls in every `SAMPLE_EVERY` is recorded, for
the scheduler to learn the structures and count what compiling them saves (those runs
counting for the others). Once a structure made there compiled (or ran natively, or paid
for its compile), the code is hot and records as above (`record_always`).

Either choice gives NumPy's values; only the cost differs.
"""

from __future__ import annotations

import sys
import weakref

_PACKAGE = __name__.split(".")[0] + "."
# site -> False: a value made there fused into a larger lazy value (record lazily); True: one
# was computed on its own; "library": one fused into a value the library computed for good.
_ALONE: dict = {}
_LIMIT = 4096
_SEEN: dict = {}  # the sites `first_call` was asked about
# id -> code object of every site in the tables above: a site is `(id(code), instruction)`,
# since hashing a code object hashes its bytecode and constants (1-2 us, on every recorded
# call), and the code is kept alive here so that its id names no other code meanwhile. (A
# site an array still carries after the tables were cleared may name other code then: a
# cost decision can err, never a value, see below.)
_CODES: dict = {}
# Sampling the calls of code no structure of which has compiled yet (`sampled_out`).
SAMPLE_EVERY = 8
EPOCH = 8  # calls of one code recorded in a row, in one epoch of every SAMPLE_EVERY
_ASKS: dict = {}  # cold code -> the calls asked about (hot code leaves it)
# Result bytes from which a cold code's call records from its first epoch (`sampled_out`):
# recording costs a fixed ~0.1-0.3 ms a statement, 4-6x NumPy's own time at 10^5 elements
# and a few percent of it at 10^6, where a first compile pays soonest (`exp` of 10^6: 6.7 ms
# by NumPy, 1.6 natively)
BIG_CALL = 1 << 22
_HOT: dict = {}  # the code hot sites are in (`record_always`: a function one structure of which
# compiled is called again and again, and its other lines' structures compile too)
_OUT: set = set()  # the cold sites whose latest call was computed at once by sampling
# The cold sites whose latest recorded call's value has not run in the library (yet): if it
# never does (it fused into native code, a rewrite read it lazily, `alpha * A` in `alpha * A
# @ x`), recording pays there for more than a library run, and the site is hot.
_PENDING: set = set()
# Values computed at once by sampling: a graph standing on one is a variant of a sampled
# structure (`stands_on_sampled`).
_SAMPLED_VALUES: weakref.WeakSet = weakref.WeakSet()


def user_site(depth: int = 1):
    """(code, instruction) of the innermost caller outside daybreak, from `depth` frames up:
    the user's line that made the value (operators, ufunc wrappers and methods are daybreak
    frames in between); None when no frame outside daybreak is found."""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # (a shallower stack than asked for)
        frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    key = id(code)
    if key not in _CODES:
        if len(_CODES) >= _LIMIT:
            _forget()
        _CODES[key] = code
    return (key, frame.f_lasti)


def site_at_once(depth: int = 1) -> tuple:
    """(`user_site(depth)`, `at_once` of it), `not_sampled` done where it is at once: the
    three questions a call on the user's memory asks, as one call (`ufuncs._on_user_memory`:
    each call it saves costs ~0.5 us after NumPy's pass evicted the interpreter's caches)."""
    site = user_site(depth + 1)
    if _ALONE.get(site, False) is not False:
        _OUT.discard(site)
        return site, True
    return site, False


def forget() -> None:
    """Forget what every line taught (tests and benchmarks that must see a first call
    again: `scheduler.forget`)."""
    _forget()


def _forget() -> None:
    """Every table at once (a site's code id must stay held while a table names it)."""
    _ALONE.clear()
    _SEEN.clear()
    _ASKS.clear()
    _HOT.clear()
    _OUT.clear()
    _PENDING.clear()
    _CODES.clear()


def first_call(site) -> bool:
    """Whether `site` is asked about for the first time (then never again): a line's first
    call, whose recording buys no compiled code (a structure run once is never compiled) and
    teaches the scheduler only what the line's next call will teach it too."""
    if site in _SEEN:
        return False
    if len(_SEEN) >= _LIMIT:
        _forget()
    _SEEN[site] = True
    return True


def at_once(site) -> bool:
    """Whether a call at `site` is computed at once: after a value made there was computed on
    its own, or fused into a value the library computed for good (and no value made there
    fused since)."""
    return _ALONE.get(site, False) is not False


def _mark(site, state) -> None:
    if len(_ALONE) >= _LIMIT:
        _forget()
    _ALONE[site] = state


def materialised_alone(site) -> None:
    """A value made at `site` was computed as it was made: nothing consumed it lazily."""
    _mark(site, True)


def consumed(site) -> None:
    """A value made at `site` became part of a larger lazy value (fusion may pay for its
    pass). Not after `computed_in_library`: such a line's values fuse, and then run op by op."""
    state = _ALONE.get(site)
    if state is not False and state != "library":  # (most lines are marked already)
        _mark(site, False)


def computed_in_library(site) -> None:
    """A value fused from one made at `site` was computed by the library, call by call, for
    good (work too small for native code ever to pay: `scheduler.library_for_good`): the
    snapshot bought no fusion, so the line computes at once from now on, also when its values
    are consumed by later calls (that is what happened here)."""
    _mark(site, "library")
    _PENDING.discard(site)


def sampled_out(site, following: bool = False, result_bytes: int = 0) -> bool:
    """Whether a call at `site` that would be recorded is computed at once instead, because
    no structure made in its code has compiled yet (cold code): recording it then buys a
    library run of the same calls at the cost of the recording, the snapshot and the
    scheduler's walk (a time step's statement: ~2.5x NumPy's own time). The calls of a cold
    code are recorded in one epoch of `EPOCH` calls out of every `SAMPLE_EVERY` (the second
    one first: its first calls are NumPy's, at once; the first one where the code's first
    sampled call writes `BIG_CALL` bytes or more); the rest are computed at once. The
    recorded ones let the scheduler learn the structures and count what compiling them
    would save (each run counting for `SAMPLE_EVERY`, `sample_weight`). Epochs of the code,
    not a count per site: a statement with two calls on data (`clip(a) * x + b * y`) records
    both in the same executions, so its structure is recorded whole (counted per site, out
    of phase, its parts were recorded in different executions and the whole never was).
    Only the calls on data count (a call with a pending input is recorded anyway).
    `following`: the call reads a value an earlier call of the same code computed at once
    by this rule (`follows`): computed at once too, uncounted (a statement's later calls,
    also across an epoch's end). Once a structure made in the code compiled (or paid for
    its compile: the next run compiles it), the code is hot (`record_always`): always
    recorded, as before; so is one where a recorded value never ran in the library
    (`ran_in_library`): it fused into native code, or a rewrite read it lazily (`alpha * A
    @ x` as `alpha * (A @ x)`), which computing it at once would lose."""
    code = site[0]
    if SAMPLE_EVERY <= 1 or code in _HOT:
        _OUT.discard(site)
        return False
    if code == RECORDED[0]:
        # a statement's run recorded whole (`numpy.replay`'s `AtOnce` of cold code): that
        # statement is sampled by its runs, not its calls
        _OUT.discard(site)
        _PENDING.add(site)
        return False
    if site in _PENDING:
        # the value of its last recorded call never ran in the library: recording paid
        record_always((site,))
        return False
    if following:
        _OUT.add(site)
        return True
    n = _ASKS.get(code)
    if n is None:
        if len(_ASKS) >= _LIMIT:
            _forget()
        # A code whose first sampled call is small records its second epoch first: its first
        # calls are NumPy's at once (recorded, a call over 10^5 elements ran 4-6x slower than
        # NumPy's, and their structures compile no sooner than a few calls later). Big work
        # records from its first epoch: compiling it first may be sooner (`scheduler`).
        n = 0 if result_bytes >= BIG_CALL else (SAMPLE_EVERY - 1) * EPOCH
    _ASKS[code] = n + 1
    if (n // EPOCH) % SAMPLE_EVERY == 0:
        _OUT.discard(site)
        _PENDING.add(site)
        return False
    _OUT.add(site)
    SAMPLED[0] += 1
    return True


# The code (its id) a statement run at once in cold code is recorded in now, its calls all
# recorded (`numpy.replay`'s `AtOnce`: it samples its runs instead of its calls)
RECORDED: list = [None]
# How many calls were computed at once by sampling (`sampled_out`): a statement whose calls
# were is not one the library computes for good (`numpy.replay` runs none such at once: the
# code's recorded epochs are what lets its structures compile)
SAMPLED = [0]


def computed_by_sampling(node) -> None:
    """`node` holds a value a cold line's call computed at once (`sampled_out`)."""
    _SAMPLED_VALUES.add(node)


def stands_on_sampled(order) -> bool:
    """Whether a graph (its nodes, `order`) reads a value computed at once by sampling: a
    variant of the structure its sampled executions record whole (the recorded calls after a
    call computed at once, an in-place `h ^= h >> 33` over a shift computed at once). Its
    runs do not count toward compiling it: counted, it compiled first, then the whole
    structure later still, once its code was hot (int_hash's warm calls in the suite, 7.5 ->
    17 ms)."""
    if not _SAMPLED_VALUES:
        return False
    return any(node in _SAMPLED_VALUES for node in order if node.is_leaf)


def sampled_pending() -> bool:
    """Whether a recorded call of a cold site awaits its library run (`ran_in_library`)."""
    return bool(_PENDING)


def ran_in_library(found) -> None:
    """The values recorded at the sites `found` were computed by the library (tier 0): what
    sampling expects of a cold site's recorded call (`sampled_out`)."""
    _PENDING.difference_update(found)


def follows(made, site) -> bool:
    """Whether a value made at `made`, by a call computed at once by sampling
    (`sampled_out`, its site's latest call), was made earlier in the code `site` is in: a
    call at `site` reading it follows it."""
    return made[0] == site[0] and made[1] < site[1] and made in _OUT


def not_sampled(site) -> None:
    """A call at `site` was computed at once for another reason than sampling (the line's
    feedback): a later call reading its value does not follow it."""
    _OUT.discard(site)


def sample_weight(site) -> int:
    """How many calls a recorded call at `site` stands for (`sampled_out`)."""
    return SAMPLE_EVERY if site[0] in _ASKS else 1


def cold(site) -> bool:
    """Whether calls at `site` may be sampled: its code is not hot (`sampled_out`)."""
    return SAMPLE_EVERY > 1 and site[0] not in _HOT


def any_cold() -> bool:
    """Whether any code is sampled now: else nothing needs marking hot (`record_always`)."""
    return bool(_ASKS)


def record_always(found) -> None:
    """A structure made of calls at the sites `found` compiled, ran natively, or has paid for
    its compile (the scheduler compiles it at its next run): the code they are in is hot,
    every call in it recorded from now on. (Hot sites one by one, the lines of a function
    whose calls were sampled out fed the compiled structure computed values: it compiled a
    part, and the whole one, recorded only in the sampled executions, came many calls
    later; hdiff's warm calls 3.4 -> 5.5 ms in the suite.)"""
    for site in found:
        code = site[0]
        if code not in _HOT:
            if len(_HOT) >= _LIMIT:
                _forget()
            _HOT[code] = True
            _ASKS.pop(code, None)  # (`_ASKS` names the cold codes only: `any_cold`)
        _OUT.discard(site)
        _PENDING.discard(site)
