"""`a[key] = value`, lazily: `a` is rebound to a new value that reads `value` inside the
assigned region and the old `a` outside it (as the in-place operators rebind `a += 1`).

* basic keys (slices, integers, `None`, `...`): the region test and the coordinates inside
  it are index arithmetic on the position; `u[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + ...)` is
  one loop over `u`.
* a boolean mask of `a`'s shape with one value: `where(mask, value, a)`, the mask lazy too.
* other advanced keys: `a` is computed first and NumPy writes the positions in place; for a
  view that is not a whole buffer, NumPy computes, once, which element of `value` lands on
  each position of `a` (the last one for repeated indices, as NumPy's assignment does), and
  the loop reads it.

Values are converted as NumPy converts them: arrays unsafely; a Python scalar strictly (an
int out of the dtype's range or a NaN into integers raise NumPy's error); a NumPy scalar
strictly for basic keys and as a 0-d array, unsafely, for masks and positions. For advanced
positions out of bounds NumPy's first error is the value's conversion, if it fails. Shapes
must broadcast to the region (NumPy's ValueError otherwise). Reads of the right-hand side
see the old `a`.

>>> import daybreak.numpy as dnp
>>> u = dnp.zeros((3, 4))
>>> u[1:, ::2] = dnp.arange(2.0)
>>> u[u > 0] = -1
>>> u.tolist()
[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 0.0, -1.0, 0.0]]
"""

from __future__ import annotations

import math
import sys

import numpy as np

from daybreak.ir import builder as B
from daybreak.runtime import stats
from daybreak.runtime.config import SETTINGS

from ..elements.broadcast import broadcast_to
from ..elements.dtypes import NUMPY_SCALAR_TYPES, ir_scalar, is_python_scalar
from ..elements.expr import Both, Elem, Leaf, Outer, Select, realized_node, snapshot_leaves
from ..elements.loops import ElementwiseLoop
from ..elements.remap import (
    INDEX,
    Affine,
    Computed,
    between,
    clamp,
    clamped_shift,
    computed_once,
    index_op,
    position,
    reindex,
)
from ..elements.sole_reader import aligned_reads, sole_reader
from ..lazy import Param
from ..scheduler import LAST_WRITE, evaluate, write_into
from ..snapshots import (
    UNARMED_SNAPSHOTS,
    GuardedSnapshot,
    give_up,
    guarded_and_read,
    intact,
    statement_stored,
)
from .array import as_operand, concrete_expr, data_now, is_lazy, ndarray, pending_readers
from .fallback import to_numpy, unsupported_operand
from .handover import HOT, SMALL_PART, hand_over
from .indexing import is_plain_basic, key_items, spread
from .replay import ACTIVE, LAZY_SIZE, LIBRARY_SEEN, Proxy, after_store, data_stored, store
from .shapes import reshape_expr, stand_in
from .ufuncs import cast_expr

_CHAIN_LIMIT = 64  # applies in the old value beyond which it is computed before reading
_SMALL_WRITE = 8  # a region this many times smaller than the array is a small write
# Values that are data already, which NumPy writes as they are
_DATA_NOW = frozenset({float, int, np.ndarray, *NUMPY_SCALAR_TYPES})
# Scalars, which `setitem` stores in place first of all (`_stored_in_place`)
_SCALARS = frozenset({float, int, *NUMPY_SCALAR_TYPES})
# Values a store takes for its statement's calls' data (`replay.data_stored`): not Python's
# numbers (`x[i] = 0.0` holds no call; asking would cost more than NumPy's store)
_DATA_STORED = frozenset({np.ndarray, *NUMPY_SCALAR_TYPES})


def setitem(a: ndarray, key, value) -> None:
    """`a[key] = value` (see the module docstring); a view passes the write to its base. It
    ends the statement unarmed snapshots were made in (`snapshots.statement_stored`)."""
    kind = type(value)
    if (
        (kind in _SCALARS or kind is np.ndarray)
        and ACTIVE[0] is None
        and LAST_WRITE[0] is None
        and not UNARMED_SNAPSHOTS
        and _stored_in_place(a, key, value)
    ):
        # a scalar or NumPy data into a computed array nothing else reads (a Python loop's
        # element or row write, ~10^5 of them): NumPy's store, and `_data_stored` inline
        if (kind is np.ndarray and value.size >= LAZY_SIZE) or (
            kind in _DATA_STORED and stats.STATS.library_runs != LIBRARY_SEEN[0]
        ):
            data_stored(value, sys._getframe(1))
        return
    # (read here, in the type's slot itself: passed on, the value counts once more)
    temporary = sys.getrefcount(value) == _STORED_TEMPORARY
    if type(value) is Proxy and store(a, key, value, sys._getframe(1)):
        return  # a replayed statement's store (`replay`)
    if LAST_WRITE[0] is not None and LAST_WRITE[0][-1] is not value:
        # (kept for this value: `x[r] op= v` wrote `x[r]`, then stores it, `replay`)
        LAST_WRITE[0] = None
    if not UNARMED_SNAPSHOTS:  # (`unarmed_pending()`)
        _setitem(a, key, value, temporary)
        if LAST_WRITE[0] is not None or ACTIVE[0] is not None:
            after_store(a, key, value, sys._getframe(1))  # (a statement to replay: `replay`)
        elif _data_stored(value):
            data_stored(value, sys._getframe(1))
        return
    stored = False
    try:
        _setitem(a, key, value, temporary)
        stored = True
        if LAST_WRITE[0] is not None or ACTIVE[0] is not None:
            # (before the snapshots are guarded: the program's leaves are let go first)
            after_store(a, key, value, sys._getframe(1))
        elif _data_stored(value):
            data_stored(value, sys._getframe(1))
    finally:
        if stored and temporary and type(value) is ndarray:
            # the stack drops the value next: what it reads goes now, so that a snapshot
            # only it read dies unguarded (its array is never read again)
            value._held = _DROPPED
        statement_stored()


def _data_stored(value) -> bool:
    """Whether the statement of a store of `value` may be one to mark (`replay.data_stored`):
    NumPy's data, or a computed daybreak array, with enough work for a lazy mark, or after a
    call the cost model sent to the library (its statement may run at once; a statement of
    NumPy's small calls only, unasked, never runs faster so: a Python loop's every store
    asks this)."""
    kind = type(value)
    if kind is np.ndarray and value.size >= LAZY_SIZE:
        return True
    if stats.STATS.library_runs == LIBRARY_SEEN[0]:
        return False
    return kind in _DATA_STORED or (kind is ndarray and value._seen is not None)


def store_data(a: ndarray, key, value: np.ndarray) -> None:
    """`a[key] = value` of NumPy data (a replayed statement's value, computed where its
    program could not write the region itself)."""
    _setitem(a, key, value, False)
    a.write_back()


_DROPPED = Outer(Param.scalar(0.0, ir_scalar(np.dtype(np.float64))), np.dtype(np.float64))


def _setitem(a: ndarray, key, value, temporary: bool) -> None:
    if type(value) in _DATA_NOW:
        if _stored_in_place(a, key, value):
            return
        target = own_buffer(a)
        if target is not None and is_plain_basic(key):
            target[key] = value
            if a._base is not None:
                a.write_back()
            return
    elif type(value) is ndarray and value.is_written_view(a, key):
        return
    if not _write_of_data(a, key, value, temporary):
        _assign(a, key, value)
    a.write_back()


def _stored_in_place(a: ndarray, key, value) -> bool:
    """`a[key] = value` of a scalar or NumPy data into a computed array nothing else reads (a
    Python loop's element or row write), done as NumPy's write in place, with nothing else
    asked (`_write_of_data`'s first case); False: not that case, nothing done. `own_buffer`
    inline for an array `concrete` has seen, whatever the key (NumPy's indexing of the
    buffer is NumPy's semantics: a daybreak array in the key is computed by NumPy's
    `__array__`, from what it read when it was made): a loop writes ~10^5 times, and calls
    cost more than the write."""
    seen, leaf = a._seen, a._held
    if seen is None or seen[0] is not leaf or not seen[3] or not a._shape:
        return False  # (`seen[3]`: NumPy may write the buffer)
    node = leaf.node
    if node.cached is not seen[1]:
        return False
    if not node.borrowed and (  # (the user's memory: see `own_buffer`)
        # `own_buffer`'s reference counts, with the same locals
        sys.getrefcount(leaf) > 4
        or sys.getrefcount(node) > 3 + (leaf.realized is not None and leaf.realized[1] is node)
        or type(node) is GuardedSnapshot
    ):
        return False
    if node.borrowed and node._snapshot is not None:
        node.written()
    seen[2][key] = value  # NumPy's conversion and errors
    if a._base is not None:
        a.write_back()
    elif type(value) is not np.ndarray or value.size < SMALL_PART:
        hot = a._hot + 1  # (a hot loop's array goes to NumPy itself: `handover.py`)
        a._hot = hot
        if hot >= HOT:
            del node, leaf  # (the handover counts the node's references: no copy for them)
            hand_over(a)
    return True


def _write_of_data(a: ndarray, key, value, temporary: bool = False) -> bool:
    """`a[key] = value` with a basic key, a value that is data already (a scalar, a NumPy
    array, a computed daybreak array or a view of one) and `a` computed with a buffer nothing
    else reads: NumPy's write, in place, at once (Python loops make thousands: rows of a
    recursive filter, elements of a triangular solve). A pending daybreak value written into
    a computed `a` is computed first (it may read the old `a`, as NumPy's right-hand side
    does), then written the same way (a time step's `u[1:-1] = f(u)`). A boolean mask over a
    computed `a` is computed and written the same way (`N[I] = n` in an escape-time loop:
    NumPy writes the selected elements, where a lazy blend would pass over all of them, and
    a loop of them would grow a chain of blends). A pending `a` stays a lazy blend (`y[y <
    0] = 0` fuses into one loop) unless it is a blend already: the earlier one is computed.
    False: not that case."""
    if not is_plain_basic(key):
        if not _mask_of(a, key) or not a._shape or ir_scalar(a.dtype) is None:
            return False
        if a.concrete() is None:
            if type(a._held) is not Select:
                return False
            a.value()
        key = key.value() if is_lazy(key) else key
    source = data_now(value)
    if source is None:
        if not is_lazy(value) or a.concrete() is None or ir_scalar(value.dtype) is None:
            return False
        if _computed_into(a, key, value, temporary):
            return True
        source = value.value()
    target = own_buffer(a)
    if target is None:
        return False
    target[key] = source  # NumPy's conversion, broadcasting and errors
    return True


def _computed_into(a: ndarray, key, value: ndarray, temporary: bool = False) -> bool:
    """`a[key] = value` (a basic key, `value` pending) by the program computing `value`
    writing `a`'s region itself, where its structure runs natively (`scheduler.write_into`:
    a time step's `B[1:-1, 1:-1] = f(A)` writes B's interior, where computing the value and
    copying it in wrote it twice). `value` stays pending: it is not the region, which later
    writes change. `temporary`: `value` is a temporary of the user's statement (nothing but
    the interpreter's stack held it when the write came, `setitem`). False: nothing was
    written (the caller computes and copies)."""
    if type(value) is not ndarray or not is_plain_basic(key):
        return False  # (a mask's or positions' `target[key]` is a copy, not the region)
    kind = type(value._held)  # (no local holds the expression: `sole_reader` counts them)
    if kind is Leaf or kind is Outer or value.size < SETTINGS.eager_below:
        return False
    node = a._held.node if type(a._held) is Leaf else None
    # (no local holds the snapshot either: `sole_reader` counts its references)
    if getattr(node, "borrowed", False) and guarded_and_read(node) is not None:
        # `x[r] = f(x)` on the user's memory: `f(x)` reads its snapshot of `x`, which a
        # write now would copy whole (a fresh reserve's every page). Written in place where
        # `f(x)` is that snapshot's only reader and reads it only where it writes; else
        # computed first into a buffer of its own, after which the snapshot is unread and
        # the write copies nothing
        return temporary and _wrote(_in_place_over_snapshot(a, key, value, node), value)
    del node  # (`own_buffer` counts the references to `a`'s node: this one is not a reader)
    target = own_buffer(a)
    if target is None:
        return False
    region = target[key]
    if type(region) is not np.ndarray or region.shape != value.shape or region.dtype != value.dtype:
        return False
    return _wrote(write_into(value._lazy_node(), region), value)


def wrote(written: bool, value) -> bool:
    """`written`; when True, the native write `write_into` just made (`LAST_WRITE`) is
    marked as `value`'s: the value stored (what `replay` records the statement by)."""
    if written and LAST_WRITE[0] is not None:
        LAST_WRITE[0] = (*LAST_WRITE[0], value)
    return written


_wrote = wrote


def _stored_temporaries() -> int | None:
    """What `sys.getrefcount(value)` gives inside a `__setitem__` (a Python function in the
    type's slot, as `setitem` is) for a value only the interpreter's stack holds (`x[r] =
    f(x)`), as this interpreter shows it; None where a value a name holds (a global, a
    local, a chained assignment) can show as few: then no value is taken for a temporary."""

    class Probe:
        def __setitem__(self, key, value):
            seen.append(sys.getrefcount(value))

    seen: list[int] = []
    probe = Probe()
    probe[0] = object()  # a temporary
    held = object()
    probe[0] = held

    def by_a_local():
        mine = object()
        probe[0] = mine

    def chained():
        probe[0] = also = object()
        return also

    by_a_local()
    chained()
    temporary, *others = seen
    return temporary if min(others) > temporary else None


_STORED_TEMPORARY = _stored_temporaries() or -1


def _in_place_over_snapshot(a: ndarray, key, value: ndarray, param: Param) -> bool:
    """`a[key] = value` (a basic key, `value` a pending temporary) where `a` is the user's
    memory and `value` reads its guarded snapshot: the program computing `value` reads the
    user's buffer and writes the region in place, and the guard ends without filling its
    reserve, where `value` reads the snapshot only at the elements it writes and nothing
    else reads the snapshot (`elements.sole_reader`); a region of the old values would be
    copied first otherwise (gemm's `C[:] = alpha * A @ B + beta * C`). False: nothing was
    written (the caller computes the value first)."""
    snap = guarded_and_read(param)
    if snap is None or not intact(snap) or a._base is not None:
        return False
    found = a.concrete()
    if found is None or not found.flags.writeable:
        return False
    region = found[key]
    if type(region) is not np.ndarray or region.shape != value.shape or region.dtype != value.dtype:
        return False
    item = region.itemsize
    flat = param.cached
    start = region.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    strides = tuple(st // item for st in region.strides)
    if start % item or any(st % item for st in region.strides):
        return False
    node = value._lazy_node()
    if (
        type(node) is not ElementwiseLoop
        or node.op is not None
        or not aligned_reads(value._held, snap, start // item, strides, value.shape)
        or not aligned_reads(node.expr, snap, start // item, strides, value.shape)
        or not sole_reader(value, node, snap)
    ):
        return False
    return write_into(node, region, same_place=snap, before_run=lambda: give_up(snap, param))


def _mask_of(a: ndarray, key) -> bool:
    """Whether `key` is a boolean array (daybreak's or NumPy's) over `a`'s leading axes."""
    kind = type(key)
    return (
        (kind is ndarray or kind is np.ndarray)
        and key.dtype == np.bool_
        and 0 < key.ndim <= a.ndim
        and key.shape == a.shape[: key.ndim]
    )


def _assign(a: ndarray, key, value) -> None:
    if (
        isinstance(key, ndarray)
        and key.dtype == np.bool_
        and key.shape == a.shape
        and a.ndim > 0
        and _one_value(value)
        and as_operand(value) is not None
    ):
        mask = as_operand(key)  # NumPy masks are wrapped
        if mask is not None:
            a._expr = _masked(a, mask, value)
            return
    items = key_items(key)
    basic = all(k is None or k is Ellipsis or isinstance(k, slice) or _is_int(k) for k in items)
    if not basic:
        # Advanced positions: `a` is computed first and NumPy writes them in place, its own
        # errors first (the value's conversion, then the positions). Read lazily they need
        # NumPy's table of which value lands where (`_by_table`): a pass over the positions
        # and two over `a`'s size before the loop reads it, where computing `a` costs one.
        if a.concrete() is None:
            a.value()
        if a.concrete() is not None:
            # (the reason only, asked without wrapping the value: NumPy converts it)
            why = unsupported_operand(value)
            return _numpy_assign(a, items, value, None if why is None else f"assigning {why}")
    try:
        region = np.shape(stand_in(a.shape)[items])  # NumPy's IndexError, the region's shape
    except IndexError:
        if not basic:
            _numpy_error_first(a, items, value)
        raise
    v, why = _value_operand(value)
    if why is not None:
        return _numpy_assign(a, items, value, why)
    if a.concrete() is None and math.prod(region) * _SMALL_WRITE <= a.size:
        a.value()  # a small write into a pending array: compute it once, then write in place
    if a.concrete() is not None:
        # The array is computed: NumPy writes the region (in place when nothing else reads
        # the buffer), so the array stays computed and later reads of it stay plain slices.
        return _numpy_assign(a, items, value, None)
    # (NumPy converts a NumPy scalar as a scalar for basic keys, strictly, and as a 0-d
    # array for advanced ones, unsafely: `a[[1, 2]] = np.float64("nan")` wraps into ints)
    scalar = isinstance(value, np.generic) and basic
    if math.prod(region) == 0:
        _value_over(a, v, region, scalar)  # NumPy's errors apply
        return None
    values = _value_over(a, v, region, scalar)
    if basic:
        a._expr = _basic(a, spread(items, a.ndim), values)
    else:
        a._expr = _by_table(a, items, values, region)
    return None


def _value_operand(value) -> tuple:
    """(`value` as an operand, None) where daybreak can write it; else (None, why NumPy
    writes it: a fallback's reason)."""
    v = as_operand(value)
    if v is None or (not is_python_scalar(v) and ir_scalar(v.dtype) is None):
        return None, f"assigning {unsupported_operand(value)}"
    return v, None


def _numpy_error_first(a: ndarray, items: tuple, value) -> None:
    """Raise what NumPy raises first for `a[items] = value` with advanced positions out of
    bounds: it converts the value before it checks them (`a[[400]] = 1e300` on int32 is an
    OverflowError), and the write into a stand-in of `a`'s dtype (one element, every stride
    0) says which. Returns when the value converts (the caller raises the IndexError)."""
    data = data_now(value)
    if data is None:
        return
    cell = np.lib.stride_tricks.as_strided(
        np.empty(1, a.dtype), a.shape, (0,) * a.ndim, writeable=True
    )
    try:
        cell[items] = data
    except IndexError:
        return


def _is_int(k) -> bool:
    return isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_)


def _one_value(value) -> bool:
    return is_python_scalar(value) or (np.ndim(value) <= 1 and np.size(value) == 1)


def _numpy_assign(a: ndarray, items, value, fallback_reason: str | None) -> None:
    """The assignment done by NumPy on a copy of `a`'s values (counted as a fallback when
    `fallback_reason` says why; a tiny write is simply cheaper there)."""
    if fallback_reason is not None:
        from .fallback import check_allowed

        check_allowed(fallback_reason)
    source = to_numpy(value)  # computed first: it may read the old `a`
    target = own_buffer(a)
    if target is not None:
        target[items] = source
        return
    target = np.array(a.value(), copy=True)
    target[items] = source
    a._expr = concrete_expr(target)[0]


def own_buffer(a: ndarray) -> np.ndarray | None:
    """`a`'s computed buffer (shaped like `a`) when writing it in place changes nothing else:
    no other lazy value reads it (reference counts: only `a`'s own leaf holds the node, only
    `a` holds the leaf) and NumPy may write it. None: the caller copies."""
    seen, leaf = a._seen, a._held
    if seen is not None and seen[0] is leaf and leaf.node.cached is seen[1] and a._shape:
        found = seen[2]  # what `concrete` would find (a Python loop's writes ask it often)
    else:
        found = a.concrete() if a._shape else None
        if found is None:  # computed: `a` reads a whole buffer, in C order
            return None
        leaf = a._held
    node = leaf.node
    if type(node) is GuardedSnapshot:
        # a lazy copy of the user's memory (`a = u.copy()`): its reserve is shared by every
        # value made from that memory meanwhile, and a run reads the user's buffer itself
        # while the guard finds it unwritten; the write goes to a copy of `a`'s own
        return None
    if getattr(node, "borrowed", False):
        # The user's memory: NumPy writes the user's own buffer (`np.asarray(u)` is `u`),
        # and so does daybreak; views of it see the write, lazy values made from it do not
        # (they read its snapshot, `Param.snapshot`).
        if not found.flags.writeable:
            return None
        if node._snapshot is not None:
            node.written()
        return found
    # `_shared(leaf, node)` inline (a Python loop's every write asks it): the same counts
    # less the argument of `_shared` itself
    held = 3 + (leaf.realized is not None and leaf.realized[1] is node)
    if sys.getrefcount(leaf) > 4 or sys.getrefcount(node) > held:
        # Pending values read the buffer (compute the recent ones, or the caller copies),
        # or views of `a` do, which must see the write (NumPy's views show it)
        views = _view_reads(a, node) if a._views is not None else 0
        if _shared(leaf, node, views) and (
            not _computed_readers(a, node) or _shared(leaf, node, views)
        ):
            return None
    return found if found.flags.writeable else None


def _shared(leaf, node, views: int = 0) -> bool:
    """Whether something besides `a` and `views` of its views' leaves reads `leaf` or its
    node (reference counts)."""
    held = 4 + (leaf.realized is not None and leaf.realized[1] is node)  # a strong one
    # `leaf` counts: a._expr, `a`'s memo of its view, `own_buffer`'s local, this function's
    # argument and getrefcount's; `node`: `leaf.node`, the two locals and getrefcount's.
    return sys.getrefcount(leaf) > 5 or sys.getrefcount(node) > held + views


def _view_reads(a: ndarray, node) -> int:
    """How many references to `node` the leaves of `a`'s live views hold (views of views
    too), counting the views whose leaf nothing else holds (a pending value made from a
    view reads the buffer: a reader like any other)."""
    count = 0
    for v in a.all_views():
        leaf = v._held
        if type(leaf) is not Leaf or leaf.node is not node:
            continue
        # `v._held`, its memos of its NumPy view, this local and getrefcount's argument
        own = 3 + (v._numpy_view is not None and v._numpy_view[0] is leaf)
        own += v._seen is not None and v._seen[0] is leaf
        if sys.getrefcount(leaf) <= own:
            count += 1
    return count


def _computed_readers(a: ndarray, node) -> bool:
    """Compute the pending values that read `node` (recently made ones, `pending_readers`)
    when together they are smaller than `a`: cheaper than copying `a` to write it. Whether
    any was computed."""
    readers = pending_readers(node)
    if not readers or sum(r.size for r in readers) >= a.size:
        return False
    evaluate(*readers)
    return True


def _converted_scalar(a: ndarray, value):
    """A scalar converted to `a`'s dtype as NumPy's assignment converts it (and its errors):
    a 0-d array casts unsafely (wraps), a scalar must fit."""
    cell = np.empty(1, a.dtype)
    if isinstance(value, np.ndarray):
        cell[...] = value
    else:
        cell[0] = value
    return Outer(Param(cell[0], ir_scalar(a.dtype), key=None), a.dtype)


def _value_over(a: ndarray, v, region: tuple[int, ...], scalar: bool = False) -> Elem:
    """The value as an element expression over the region, in `a`'s dtype (`scalar`: the
    user gave a NumPy scalar, which NumPy converts as a scalar, not as a 0-d array)."""
    if is_python_scalar(v):
        return _converted_scalar(a, v)
    shape = v.shape
    while len(shape) > len(region) and shape[0] == 1:  # NumPy drops leading ones
        shape = shape[1:]
    try:
        if len(shape) > len(region) or np.broadcast_shapes(shape, region) != region:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"could not broadcast input array from shape {v.shape} into shape {region}"
        ) from None
    if v.shape == () and (found := v.concrete()) is not None:
        return _converted_scalar(a, found if scalar else np.asarray(found))
    expr = cast_expr(broadcast_to(reshape_expr(v._expr, v.shape, shape), shape, region), a.dtype)
    # a bare read of the user's memory (`a[...] = u`) reads its snapshot, as every lazy
    # value does: `a` would otherwise be the user's array from then on
    return snapshot_leaves(expr) if isinstance(expr, Leaf | Outer) else expr


def _old(a: ndarray) -> Elem:
    """The old value as read by the new one: its computed vector when there is one (the
    right-hand side often computed it already), so repeated assignments do not nest."""
    expr = a._expr
    if (
        realized_node(expr, a.shape) is not None or expr.weight > _CHAIN_LIMIT
    ):  # an upper bound of its applies, known at once
        return computed_once(expr, a.shape)
    return expr


def _all(conditions: list[Elem]) -> Elem:
    cond = conditions[0]
    for other in conditions[1:]:
        cond = Both(cond, other)
    return cond


def _select(cond: Elem | None, inside: Elem, outside: Elem, dtype) -> Elem:
    if cond is None:
        return inside
    return Select(cond, inside, outside, dtype)


def _basic(a: ndarray, items: list, values: Elem) -> Elem:
    """Region test and region coordinates for a spread basic key."""
    ndim = a.ndim
    conditions: list[Elem] = []
    region_sources: list = []
    d = 0
    for k in items:
        if k is None:
            region_sources.append(Affine(None))
            continue
        n, c = a.shape[d], position(d, ndim)
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            m = len(range(start, stop, step))
            if step == 1 and start == 0 and m == n:
                region_sources.append(Affine(d))
            else:
                test, coord = _slice_region(c, start, step, m)
                conditions.append(test)
                region_sources.append(Computed(coord))
        else:
            i = int(k) + n if int(k) < 0 else int(k)
            conditions.append(
                index_op(
                    lambda ctx, x, i=i: x.eq(ctx.size(i)),
                    c,
                    dtype=bool,
                    eager=lambda x, i=i: x == i,
                )
            )
        d += 1
    inside = reindex(values, region_sources, ndim)
    cond = _all(conditions) if conditions else None
    return _select(cond, inside, _old(a), a.dtype)


def _slice_region(c: Elem, start: int, step: int, m: int) -> tuple[Elem, Elem]:
    """(is the coordinate `c` in the slice, its clamped index inside the slice)."""
    if step == 1:  # pieces: a loop over rows splits there and reads the region contiguously
        return between(c, start, start + m), clamped_shift(c, start, m)
    sign, k = (1, step) if step > 0 else (-1, -step)
    if sign > 0:
        q = index_op(lambda ctx, x: x - ctx.size(start), c, eager=lambda x: x - start)
    else:
        q = index_op(lambda ctx, x: ctx.size(start) - x, c, eager=lambda x: start - x)
    last = (m - 1) * k

    def test(ctx, x):
        inside = (x >= ctx.size(0)) & (x <= ctx.size(last))
        return inside if k == 1 else inside & (x % ctx.size(k)).eq(ctx.size(0))

    def test_eager(x):
        inside = (x >= 0) & (x <= last)
        return inside if k == 1 else inside & (x % k == 0)

    coord = (
        q if k == 1 else index_op(lambda ctx, x: x / ctx.size(k), q, eager=lambda x: x // k)
    )  # x >= 0 where it is read
    return index_op(test, q, dtype=bool, eager=test_eager), clamp(coord, 0, m - 1)


def _by_table(a: ndarray, items: tuple, values: Elem, region: tuple[int, ...]) -> Elem:
    """Advanced keys: for each position of `a`, which flat element of the value lands there
    (-1: none), computed by NumPy from the key."""
    positions = np.arange(a.size, dtype=INDEX).reshape(a.shape)[items].reshape(-1)
    table = np.full(a.size, -1, INDEX)
    table[positions] = np.arange(positions.size, dtype=INDEX)
    found = concrete_expr(table.reshape(a.shape))[0]
    flat = reshape_expr(values, region, (math.prod(region),))
    source = index_op(
        lambda c, x: B.op("max", x, c.size(0)), found, eager=lambda x: np.maximum(x, 0)
    )
    inside = reindex(flat, [Computed(source)], a.ndim)
    cond = index_op(lambda c, x: x >= c.size(0), found, dtype=bool, eager=lambda x: x >= 0)
    return _select(cond, inside, _old(a), a.dtype)


def _masked(a: ndarray, mask: ndarray, value) -> Elem:
    """`a[mask] = value` for one value: `where(mask, value, a)`, the mask never computed
    on its own."""
    v = as_operand(value)
    if is_python_scalar(v):
        inside = _converted_scalar(a, v)
    elif v.shape == () and (found := v.concrete()) is not None:
        # NumPy's masked write converts a NumPy scalar or 0-d array as an array, unsafely
        # (a NaN into integers wraps, with a warning, where a Python float raises)
        inside = _converted_scalar(a, np.asarray(found))
    else:
        flat = reshape_expr(v._expr, v.shape, ())
        inside = cast_expr(broadcast_to(flat, (), a.shape), a.dtype)
    return _select(mask._expr, inside, _old(a), a.dtype)
