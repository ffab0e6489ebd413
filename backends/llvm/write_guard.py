"""Write guards: a lazy value reads the user's memory in place until the user writes it.

A lazy value made from memory the user may still write must mean what that memory held when
the value was made (NumPy computes at once). Copying the memory when the value is made (a
snapshot) costs a pass over it on every call, and most of the time the user never writes it
before the value is computed. A guard defers the copy to the first write, as an operating
system's copy-on-write does for `fork`:

* `db_guard_protect(start, nbytes, reserve, serial, hidden)` makes the pages wholly inside the
  user's buffer read-only (`mprotect`), copies the bytes of the partly covered first and last
  pages into the reserve now (other objects share those pages: protecting them would turn their
  writes into copies of ours), and makes the reserve's pages for the whole ones inaccessible
  (unless `hidden`: a reserve a released guard left unwritten is still inaccessible). The
  reserve is a private mapping as long as the buffer, at the same offset within a page (a
  page in, for a buffer that starts a page: `snapshots._reserve_offset`), that the caller
  made: its pages cost nothing until the copy writes them, and so does
  protecting them (`mprotect` costs per page that is mapped, ~0.13 us here, about what
  copying it costs when it is in the cache, besides ~11 us per call in this VM). It is
  what the lazy value reads once copied.
  `db_guard_release(i, serial)` says whether the reserve was never copied into: then it is
  still inaccessible and untouched, and the caller may use it for the next guard of that
  size (whose first and last partial pages must lie where this one's did: outside what
  stayed inaccessible).
* A guard whose readers are all gone may be parked instead (`db_guard_park`): its pages stay
  protected, and a write just makes them writable (nothing reads a copy); the next lazy
  value over the same buffer revives it (`db_guard_revive`) if nothing wrote it, with no
  system call. Making pages writable ends every parked guard over them.
* The first write into the protected pages (by NumPy, the user's Python, any thread) faults:
  `db_guard_on_segv`, SIGSEGV's handler, copies every guarded buffer that write would touch
  into its reserve, makes the pages writable again and returns, and the write happens. A read
  of a reserve that nothing was copied into yet faults the same way, and copies it first:
  whoever reads the reserve reads the snapshot, always.
* `db_guard_intact(i)`: whether the buffer still holds what it held (no page was written,
  and the first and last partial pages hold the same bytes): then a program may read the
  user's buffer itself. `db_guard_detach(i)` copies now; `db_guard_release(i, serial)` ends
  a guard (the caller's serial for it: a parked guard's slot may be another's by then).

Any other fault goes to the handler that was installed before (Python's faulthandler, or the
default action), as if this one were not there. Buffers of two guards may share pages
(views of one array, or neighbours on the heap): a page is made writable again only when no
guard that still needs it protected covers it, and a guard released while another covers its
pages stays in the table (STALE) until a fault or its neighbour's release unprotects them.

All state is one table in the module's globals, changed under a spin lock that every entry
point takes; the handler takes it too and calls only `memcpy`, `mprotect` and `sigaction`,
which is what a signal handler may call. Only where the C library's `struct sigaction` and
`siginfo_t` are laid out as this module assumes (Linux on x86-64 and AArch64): elsewhere
`AVAILABLE` is false and callers copy.
"""

from __future__ import annotations

import ctypes
import os

from llvmlite import ir

from .cgutils import declare, for_range, i64, memcpy
from .layout import I32, I64, VOIDPTR
from .runtime_interrupt import CAN_WATCH

AVAILABLE = CAN_WATCH  # the same C library layouts as the SIGINT handler's
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
SLOTS = 1024  # guards alive at once; a caller past that copies
FIELDS = 8  # per guard, i64s: state, start, end, lo, hi, reserve, serial (1 spare)
STATE, START, END, LO, HI, RESERVE, SERIAL = range(7)
FREE, PROTECTED, COPIED, STALE, PARKED = range(5)
FAULTS, COPIES, CHAINED, RETRIES = range(4)  # the counters' positions
COUNTER_NAMES = ("faults", "copies", "chained", "retries")

_SIGSEGV, _SEGV_ACCERR = 11, 2
_SA_FLAGS_WORD = 17  # sa_flags (an int) at byte 136 of glibc's struct sigaction
_SA_SIGINFO, _SA_ONSTACK, _SA_NODEFER = 0x4, 0x08000000, 0x40000000
_PROT_NONE, _PROT_READ, _PROT_RW = 0, 1, 3
_SIGACTION = ir.ArrayType(I64, 32)  # 256 bytes: room for any libc's struct sigaction
_HANDLER = ir.FunctionType(ir.VoidType(), [I32, VOIDPTR, VOIDPTR])


class _Module:
    """The module being built: its globals and the C functions it calls."""

    def __init__(self):
        m = self.module = ir.Module(name="daybreak_write_guard")
        self.table = self._global("db_guard_table", ir.ArrayType(I64, SLOTS * FIELDS))
        self.lock = self._global("db_guard_lock", I64)
        self.used = self._global("db_guard_used", I64)  # slots ever used (a high-water mark)
        self.generation = self._global("db_guard_generation", I64)  # pages made writable
        self.mark = self._global("db_guard_mark", I64)  # the generation of the last miss
        self.previous = self._global("db_guard_previous", _SIGACTION)
        self.counters = self._global("db_guard_counters", ir.ArrayType(I64, len(COUNTER_NAMES)))
        self.mprotect = declare(m, "mprotect", I32, [VOIDPTR, I64, I32])
        self.memcmp = declare(m, "memcmp", I32, [VOIDPTR, VOIDPTR, I64])
        self.sigaction = declare(m, "sigaction", I32, [I32, VOIDPTR, VOIDPTR])

    def _global(self, name: str, ty: ir.Type) -> ir.GlobalVariable:
        g = ir.GlobalVariable(self.module, ty, name)
        g.linkage = "internal"
        g.initializer = ir.Constant(ty, None)
        return g

    def slot(self, b: ir.IRBuilder, index: ir.Value, field: int) -> ir.Value:
        at = b.add(b.mul(index, i64(FIELDS)), i64(field))
        return b.gep(self.table, [i64(0), at])

    def get(self, b, index, field) -> ir.Value:
        return b.load(self.slot(b, index, field))

    def count(self, b: ir.IRBuilder, which: int) -> None:
        b.atomic_rmw("add", b.gep(self.counters, [i64(0), i64(which)]), i64(1), "monotonic")

    def function(self, name: str, ret: ir.Type, args: list[ir.Type], internal: bool = False):
        fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        if internal:
            fn.linkage = "internal"
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))

    def protect_pages(self, b, lo, hi, prot: int) -> ir.Value:
        return b.call(
            self.mprotect, [b.inttoptr(lo, VOIDPTR), b.sub(hi, lo), ir.Constant(I32, prot)]
        )

    def set_action(self, b: ir.IRBuilder, action: ir.Value) -> None:
        """sigaction(SIGSEGV, action, NULL)."""
        no_old = ir.Constant(VOIDPTR, None)
        b.call(self.sigaction, [ir.Constant(I32, _SIGSEGV), b.bitcast(action, VOIDPTR), no_old])

    def writable(self, b, lo, hi) -> None:
        """Pages [lo, hi) writable again (a new generation: a fault that finds no guard may
        have raced with this, and is retried once)."""
        self.protect_pages(b, lo, hi, _PROT_RW)
        b.atomic_rmw("add", self.generation, i64(1), "seq_cst")
        # A parked guard over any of those pages no longer knows its buffer unwritten.
        with for_range(b, b.load(self.used), "p") as j:
            state = self.slot(b, j, STATE)
            parked = b.icmp_unsigned("==", b.load(state), i64(PARKED))
            touches = b.and_(
                b.icmp_unsigned("<", self.get(b, j, LO), hi),
                b.icmp_unsigned("<", lo, self.get(b, j, HI)),
            )
            with b.if_then(b.and_(parked, touches)):
                b.store(i64(FREE), state)


def _build_lock(g: _Module) -> tuple[ir.Function, ir.Function]:
    acquire, b = g.function("db_guard_acquire", ir.VoidType(), [], internal=True)
    spin = b.append_basic_block("spin")
    done = b.append_basic_block("done")
    b.branch(spin)
    b.position_at_end(spin)
    pair = b.cmpxchg(g.lock, i64(0), i64(1), "acquire", "monotonic")
    b.cbranch(b.extract_value(pair, 1), done, spin)
    b.position_at_end(done)
    b.ret_void()
    release, b = g.function("db_guard_unlock", ir.VoidType(), [], internal=True)
    b.store_atomic(i64(0), g.lock, "release", 8)
    b.ret_void()
    return acquire, release


def _build_shared(g: _Module) -> ir.Function:
    """db_guard_shared(i): whether another guard that still needs its pages protected
    (PROTECTED) covers one of guard i's pages."""
    fn, b = g.function("db_guard_shared", ir.IntType(1), [I64], internal=True)
    (index,) = fn.args
    lo, hi = g.get(b, index, LO), g.get(b, index, HI)
    found = b.alloca(ir.IntType(1))
    b.store(ir.Constant(ir.IntType(1), 0), found)
    with for_range(b, b.load(g.used), "j") as j:
        other = b.icmp_unsigned("!=", j, index)
        protected = b.icmp_unsigned("==", g.get(b, j, STATE), i64(PROTECTED))
        touches = b.and_(
            b.icmp_unsigned("<", g.get(b, j, LO), hi), b.icmp_unsigned("<", lo, g.get(b, j, HI))
        )
        with b.if_then(b.and_(other, b.and_(protected, touches))):
            b.store(ir.Constant(ir.IntType(1), 1), found)
    b.ret(b.load(found))
    return fn


def _build_copy(g: _Module) -> ir.Function:
    """db_guard_copy(i): a PROTECTED guard's pages into its reserve (made readable first);
    the guard is COPIED from then on (its pages stay as they are: the caller decides)."""
    fn, b = g.function("db_guard_copy", ir.VoidType(), [I64], internal=True)
    (index,) = fn.args
    state = g.slot(b, index, STATE)
    with b.if_then(b.icmp_unsigned("==", b.load(state), i64(PROTECTED))):
        lo, hi, start = g.get(b, index, LO), g.get(b, index, HI), g.get(b, index, START)
        into = b.add(g.get(b, index, RESERVE), b.sub(lo, start))
        g.protect_pages(b, into, b.add(into, b.sub(hi, lo)), _PROT_RW)
        memcpy(b, b.inttoptr(into, VOIDPTR), b.inttoptr(lo, VOIDPTR), b.sub(hi, lo))
        b.store(i64(COPIED), state)
        g.count(b, COPIES)
    b.ret_void()
    return fn


def _build_install(g: _Module, handler: ir.Function) -> ir.Function:
    """db_guard_install(): make the handler SIGSEGV's, in front of the one installed (kept in
    `previous`), unless it already is (someone may have installed theirs over it since)."""
    fn, b = g.function("db_guard_install", ir.VoidType(), [], internal=True)
    current = b.alloca(_SIGACTION)
    b.store(ir.Constant(_SIGACTION, None), current)
    raw = b.bitcast(current, VOIDPTR)
    b.call(g.sigaction, [ir.Constant(I32, _SIGSEGV), ir.Constant(VOIDPTR, None), raw])
    installed = b.load(b.bitcast(current, VOIDPTR.as_pointer()))
    ours = b.bitcast(handler, VOIDPTR)
    with b.if_then(b.icmp_unsigned("==", installed, ours)):
        b.ret_void()
    b.store(b.load(current), g.previous)
    action = b.alloca(_SIGACTION)
    b.store(ir.Constant(_SIGACTION, None), action)
    b.store(ours, b.bitcast(action, VOIDPTR.as_pointer()))
    flags = b.gep(action, [i64(0), i64(_SA_FLAGS_WORD)])
    b.store(i64(_SA_SIGINFO | _SA_ONSTACK | _SA_NODEFER), flags)
    g.set_action(b, action)
    b.ret_void()
    return fn


def _build_handler(g: _Module, copy: ir.Function, shared: ir.Function, lock) -> ir.Function:
    acquire, unlock = lock
    fn = ir.Function(g.module, _HANDLER, "db_guard_on_segv")
    sig, info, context = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    words = b.bitcast(info, I32.as_pointer())
    code = b.load(b.gep(words, [ir.Constant(I32, 2)]))  # si_code
    address = b.load(b.gep(b.bitcast(info, I64.as_pointer()), [ir.Constant(I32, 2)]))  # si_addr
    with b.if_then(b.icmp_signed("==", code, ir.Constant(I32, _SEGV_ACCERR))):
        b.call(acquire, [])
        used = b.load(g.used)
        # A read of a reserve nothing was copied into yet: copy that guard first.
        with for_range(b, used, "r") as j:
            start = g.get(b, j, START)
            into = b.add(g.get(b, j, RESERVE), b.sub(g.get(b, j, LO), start))
            size = b.sub(g.get(b, j, HI), g.get(b, j, LO))
            inside = b.and_(
                b.icmp_unsigned("<=", into, address),
                b.icmp_unsigned("<", address, b.add(into, size)),
            )
            protected = b.icmp_unsigned("==", g.get(b, j, STATE), i64(PROTECTED))
            with b.if_then(b.and_(inside, protected)):
                b.call(copy, [j])
                with b.if_then(b.not_(b.call(shared, [j]))):
                    g.writable(b, g.get(b, j, LO), g.get(b, j, HI))
                g.count(b, FAULTS)
                b.call(unlock, [])
                b.ret_void()
        # A write into guarded pages: copy every guard the pages to be made writable cover
        # (widening the span to each one copied, until no other guard touches it).
        page = b.and_(address, i64(~(PAGE - 1)))
        lo, hi, hit = b.alloca(I64), b.alloca(I64), b.alloca(I64)
        b.store(page, lo)
        b.store(b.add(page, i64(PAGE)), hi)
        b.store(i64(0), hit)
        again = b.alloca(I64)
        rounds = b.append_basic_block("round")
        after = b.append_basic_block("covered")
        b.branch(rounds)
        b.position_at_end(rounds)
        b.store(i64(0), again)
        with for_range(b, used, "w") as j:
            state = g.slot(b, j, STATE)
            st = b.load(state)
            jlo, jhi = g.get(b, j, LO), g.get(b, j, HI)
            touches = b.and_(
                b.icmp_unsigned("<", jlo, b.load(hi)), b.icmp_unsigned("<", b.load(lo), jhi)
            )
            with b.if_then(b.and_(touches, b.icmp_unsigned("!=", st, i64(FREE)))):
                b.store(i64(1), hit)
                # (PROTECTED: copied first; STALE and PARKED: nobody reads their copy)
                with b.if_then(b.icmp_unsigned("!=", st, i64(COPIED))):
                    b.call(copy, [j])
                    with b.if_then(b.icmp_unsigned("!=", b.load(state), i64(COPIED))):
                        b.store(i64(FREE), state)
                    with b.if_then(b.icmp_unsigned("<", jlo, b.load(lo))):
                        b.store(jlo, lo)
                        b.store(i64(1), again)
                    with b.if_then(b.icmp_unsigned(">", jhi, b.load(hi))):
                        b.store(jhi, hi)
                        b.store(i64(1), again)
        b.cbranch(b.icmp_unsigned("!=", b.load(again), i64(0)), rounds, after)
        b.position_at_end(after)
        with b.if_then(b.icmp_unsigned("!=", b.load(hit), i64(0))):
            g.writable(b, b.load(lo), b.load(hi))
            g.count(b, FAULTS)
            b.call(unlock, [])
            b.ret_void()
        # No guard covers it. A guard made the page writable between the fault and now
        # (another thread): the generation moved, so run the instruction again once.
        generation = b.load_atomic(g.generation, "seq_cst", 8)
        with b.if_then(b.icmp_unsigned("!=", generation, b.load(g.mark))):
            b.store(generation, g.mark)
            g.count(b, RETRIES)
            b.call(unlock, [])
            b.ret_void()
        b.call(unlock, [])
    # Not ours: what was installed before decides, as if this handler were not there.
    g.count(b, CHAINED)
    previous = b.load(b.bitcast(g.previous, VOIDPTR.as_pointer()))
    default = b.icmp_unsigned("<=", b.ptrtoint(previous, I64), i64(1))  # SIG_DFL, SIG_IGN
    with b.if_then(default):
        # Back to the default action; the instruction faults again and the process ends
        # as it would have without this handler.
        fresh = b.alloca(_SIGACTION)
        b.store(ir.Constant(_SIGACTION, None), fresh)
        g.set_action(b, fresh)
        b.ret_void()
    b.call(b.bitcast(previous, _HANDLER.as_pointer()), [sig, info, context])
    b.ret_void()
    return fn


def _build_protect(g: _Module, install: ir.Function, lock) -> None:
    acquire, unlock = lock
    fn, b = g.function("db_guard_protect", I64, [I64, I64, I64, I64, I64])
    start, nbytes, reserve, serial, hidden_already = fn.args
    end = b.add(start, nbytes)
    lo = b.and_(b.add(start, i64(PAGE - 1)), i64(~(PAGE - 1)))
    hi = b.and_(end, i64(~(PAGE - 1)))
    with b.if_then(b.icmp_signed("<=", hi, lo)):
        b.ret(i64(-1))  # no whole page: nothing to protect
    b.call(acquire, [])
    b.call(install, [])
    found = b.alloca(I64)
    b.store(i64(-1), found)
    used = b.load(g.used)
    with for_range(b, used, "f") as j:
        free = b.icmp_unsigned("==", g.get(b, j, STATE), i64(FREE))
        with b.if_then(b.and_(free, b.icmp_signed("<", b.load(found), i64(0)))):
            b.store(j, found)
    with b.if_then(b.icmp_signed("<", b.load(found), i64(0))):
        with b.if_then(b.icmp_signed(">=", used, i64(SLOTS))):
            b.call(unlock, [])
            b.ret(i64(-1))  # full: the caller copies
        b.store(used, found)
        b.store(b.add(used, i64(1)), g.used)
    index = b.load(found)
    # The partly covered first and last pages, copied now; the reserve's pages for the
    # whole ones made inaccessible until they are copied.
    _copy_ends(b, start, end, lo, hi, reserve)
    fields = ((START, start), (END, end), (LO, lo), (HI, hi), (RESERVE, reserve), (SERIAL, serial))
    for field, value in fields:
        b.store(value, g.slot(b, index, field))
    b.store(i64(PROTECTED), g.slot(b, index, STATE))
    into = b.add(reserve, b.sub(lo, start))
    # (a reserve a released guard left unwritten is inaccessible already: no system call)
    hidden = b.alloca(I32)
    b.store(ir.Constant(I32, 0), hidden)
    with b.if_then(b.icmp_signed("==", hidden_already, i64(0))):
        b.store(g.protect_pages(b, into, b.add(into, b.sub(hi, lo)), _PROT_NONE), hidden)
    hidden = b.load(hidden)
    guarded = g.protect_pages(b, lo, hi, _PROT_READ)
    failed = b.or_(
        b.icmp_signed("!=", hidden, ir.Constant(I32, 0)),
        b.icmp_signed("!=", guarded, ir.Constant(I32, 0)),
    )
    with b.if_then(failed, likely=False):
        g.protect_pages(b, into, b.add(into, b.sub(hi, lo)), _PROT_RW)
        b.store(i64(FREE), g.slot(b, index, STATE))
        b.call(unlock, [])
        b.ret(i64(-1))
    b.call(unlock, [])
    b.ret(index)


def _copy_ends(b, start, end, lo, hi, reserve) -> None:
    """The bytes of the partly covered first and last pages into the reserve."""
    memcpy(b, b.inttoptr(reserve, VOIDPTR), b.inttoptr(start, VOIDPTR), b.sub(lo, start))
    tail = b.add(reserve, b.sub(hi, start))
    memcpy(b, b.inttoptr(tail, VOIDPTR), b.inttoptr(hi, VOIDPTR), b.sub(end, hi))


def _build_parking(g: _Module, lock) -> None:
    """A guard nothing reads any more, over a buffer likely to be read again (the same
    array, next call): `db_guard_park(i)` keeps its pages protected without a reader
    (PARKED: a write makes them writable, and copies nothing); `db_guard_revive(i, serial)`
    makes it the snapshot of a new lazy value while nothing wrote them (the first and last
    pages copied again): no `mprotect` either way."""
    acquire, unlock = lock
    fn, b = g.function("db_guard_park", I64, [I64])
    (index,) = fn.args
    b.call(acquire, [])
    state = g.slot(b, index, STATE)
    protected = b.icmp_unsigned("==", b.load(state), i64(PROTECTED))
    with b.if_then(protected):
        b.store(i64(PARKED), state)
    b.call(unlock, [])
    b.ret(b.zext(protected, I64))

    fn, b = g.function("db_guard_revive", I64, [I64, I64])
    index, serial = fn.args
    b.call(acquire, [])
    state = g.slot(b, index, STATE)
    parked = b.and_(
        b.icmp_unsigned("==", b.load(state), i64(PARKED)),
        b.icmp_unsigned("==", g.get(b, index, SERIAL), serial),
    )
    with b.if_then(parked):
        ends = [g.get(b, index, f) for f in (START, END, LO, HI, RESERVE)]
        _copy_ends(b, *ends)
        b.store(i64(PROTECTED), state)
    b.call(unlock, [])
    b.ret(b.zext(parked, I64))


def _build_queries(g: _Module, copy: ir.Function, shared: ir.Function, lock) -> None:
    acquire, unlock = lock
    fn, b = g.function("db_guard_intact", I64, [I64])
    (index,) = fn.args
    with b.if_then(b.icmp_unsigned("!=", g.get(b, index, STATE), i64(PROTECTED))):
        b.ret(i64(0))
    start, end = g.get(b, index, START), g.get(b, index, END)
    lo, hi, reserve = g.get(b, index, LO), g.get(b, index, HI), g.get(b, index, RESERVE)
    head = b.call(
        g.memcmp,
        [b.inttoptr(start, VOIDPTR), b.inttoptr(reserve, VOIDPTR), b.sub(lo, start)],
    )
    tail = b.call(
        g.memcmp,
        [
            b.inttoptr(hi, VOIDPTR),
            b.inttoptr(b.add(reserve, b.sub(hi, start)), VOIDPTR),
            b.sub(end, hi),
        ],
    )
    same = b.and_(
        b.icmp_signed("==", head, ir.Constant(I32, 0)),
        b.icmp_signed("==", tail, ir.Constant(I32, 0)),
    )
    b.ret(b.zext(same, I64))

    fn, b = g.function("db_guard_detach", ir.VoidType(), [I64])
    (index,) = fn.args
    b.call(acquire, [])
    with b.if_then(b.icmp_unsigned("==", g.get(b, index, STATE), i64(PROTECTED))):
        b.call(copy, [index])
        with b.if_then(b.not_(b.call(shared, [index]))):
            g.writable(b, g.get(b, index, LO), g.get(b, index, HI))
    b.call(unlock, [])
    b.ret_void()

    fn, b = g.function("db_guard_release", I64, [I64, I64])
    index, serial = fn.args
    b.call(acquire, [])
    state = g.slot(b, index, STATE)
    mine = b.icmp_unsigned("==", g.get(b, index, SERIAL), serial)
    st = b.select(mine, b.load(state), i64(FREE))  # (a parked guard's slot may be another's)
    live = b.or_(
        b.or_(b.icmp_unsigned("==", st, i64(PROTECTED)), b.icmp_unsigned("==", st, i64(COPIED))),
        b.icmp_unsigned("==", st, i64(PARKED)),
    )
    with b.if_then(live):
        with b.if_else(b.call(shared, [index])) as (covered, alone):
            with covered:
                b.store(i64(STALE), state)
            with alone:
                g.writable(b, g.get(b, index, LO), g.get(b, index, HI))
                b.store(i64(FREE), state)
    b.call(unlock, [])
    never_copied = b.or_(
        b.icmp_unsigned("==", st, i64(PROTECTED)), b.icmp_unsigned("==", st, i64(PARKED))
    )
    b.ret(b.zext(never_copied, I64))  # (then its reserve is as it was made: reusable)

    fn, b = g.function("db_guard_counts", VOIDPTR, [])
    b.ret(b.bitcast(g.counters, VOIDPTR))


def build_module() -> str:
    """The write guards' LLVM IR text (a module of its own, loaded once per process)."""
    g = _Module()
    lock = _build_lock(g)
    shared = _build_shared(g)
    copy = _build_copy(g)
    handler = _build_handler(g, copy, shared, lock)
    install = _build_install(g, handler)
    _build_protect(g, install, lock)
    _build_parking(g, lock)
    _build_queries(g, copy, shared, lock)
    return str(g.module)


class WriteGuards:
    """The loaded guards, called from Python through ctypes (each call ~0.3 us)."""

    def __init__(self, addresses: dict[str, int]):
        fn = ctypes.CFUNCTYPE
        i64t = ctypes.c_int64
        self.protect = fn(i64t, i64t, i64t, i64t, i64t, i64t)(addresses["db_guard_protect"])
        self.park = fn(i64t, i64t)(addresses["db_guard_park"])
        self.revive = fn(i64t, i64t, i64t)(addresses["db_guard_revive"])
        self.intact = fn(i64t, i64t)(addresses["db_guard_intact"])
        self.detach = fn(None, i64t)(addresses["db_guard_detach"])
        self.release = fn(i64t, i64t, i64t)(addresses["db_guard_release"])
        where = fn(ctypes.c_void_p)(addresses["db_guard_counts"])()
        self._counters = (i64t * len(COUNTER_NAMES)).from_address(where)
        self.page = PAGE

    def counters(self) -> dict[str, int]:
        """Faults handled, buffers copied, faults passed on, faults retried (this process)."""
        return dict(zip(COUNTER_NAMES, self._counters, strict=True))


def load(compile_ir) -> WriteGuards | None:
    """Compile the guards into the process's engine (`compile_ir(text) -> addresses`), or
    None where they are not available."""
    if not AVAILABLE:
        return None
    return WriteGuards(compile_ir(build_module()))


__all__ = ["AVAILABLE", "PAGE", "WriteGuards", "build_module", "load"]
