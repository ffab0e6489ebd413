"""`ndarray`: a lazy N-D array — an element expression over a shape, computed when looked at.

The shape and dtype are known at once (they come from NumPy's own rules at each call); the
values are computed when something needs them — `repr`, `np.asarray`, `float()`, iteration,
`tolist()`, a function that does not know daybreak — by one compiled program. The result is
then kept (the array reads its buffer from then on).

In-place operators (`a += 1`) and item assignment (`a[1:] = 0`) rebind `a` to the new value,
and every name bound to the same object sees it, as in NumPy. Views are NumPy's: writes
through a view reach its base (`a[0][1] = 5`, `row = a[0]; row += 1`, `a.T[0] = 1`,
`a.reshape(-1)[3] = 0`), and a view shows every later write to its base (`v = a[1:]` before
`a += 1` reads the new values: a base rebound makes its views again, `ndarray._follow`; one
written in place writes the buffer they read). `np.asarray(u)` of the user's array, strided
or not, is that array, and an array NumPy holds in Fortran order is held as a transpose
(`fortran_view`). What differs: daybreak's elementwise results are C-ordered, where NumPy's
follow their inputs' memory order (so `np.sin(u.T).reshape(-1)` is a view in daybreak and
a copy in NumPy).

>>> import daybreak.numpy as dnp
>>> a = dnp.arange(3.0)
>>> a.shape, a.dtype
((3,), dtype('float64'))
>>> a * 2
array([0., 2., 4.])
"""

from __future__ import annotations

import math
import operator
import sys
import weakref
from collections import deque

import numpy as np

from daybreak.ir.types import Vec
from daybreak.runtime.config import SETTINGS

from ..elements.dtypes import ir_scalar, is_supported
from ..elements.eager import strided, value_now
from ..elements.expr import (
    COMPUTED_EPOCH,
    Apply,
    Elem,
    Leaf,
    Outer,
    postorder,
    realized_node,
    set_realized,
    snapshot_leaf,
)
from ..elements.loops import READ_AGAIN, contiguous_strides, is_contiguous, realize
from ..lazy import _UNSET, LazyValue, Param, topological
from ..scheduler import DEPTH_BUDGET, ELEM_BUDGET, LAST_WRITE, evaluate, materialize
from ..sites import computed_in_library, materialised_alone
from ..snapshots import GuardedSnapshot, copied_for
from ..statements import register_array_type
from .fallback import foreign_array

# The arrays most recently given a pending expression (weakly), newest last: a write into a
# computed buffer that pending values still read computes those of them found here instead
# of copying the whole buffer (`pending_readers`; a mask and a blend of two rows of a big
# array, then a write of that row: NumPy would have computed them already).
RECENT_LAZY: deque = deque(maxlen=64)
# How many arrays were given a pending expression so far (`RECENT_LAZY`'s appends): a
# statement that made none ran at once (`replay`'s statements run at once)
PENDING_MADE = [0]
_NDARRAY = np.ndarray

# The arrays whose views are being made to follow them (`ndarray._follow`), which a view's
# remaking must not start again.
_FOLLOWING: set = set()
# The views writing into their bases now (`ndarray.write_back`): their own value is what the
# base is given, which remaking them from the base would lose.
_WRITING: set = set()


# The node over the buffer a run handed to the last array finished (weakly): another array
# finished with the same buffer reads it through that node (`ndarray._lazy_finish`).
_LAST_FINISHED: list = [None]


def _still_view(v, base) -> bool:
    return v is not None and v._base is not None and v._base[0] is base


def pending_readers(node, expr: Elem | None = None) -> list:
    """The live arrays among `RECENT_LAZY` whose pending expression reads `node` (directly,
    or through a pending loop that reads it), or contains `expr` or an expression `node`
    computed (they read it from there)."""
    found = []
    for ref in list(RECENT_LAZY):
        arr = ref()
        if arr is None or arr.concrete() is not None:
            continue
        e = arr._held
        if type(e) is Leaf and e.node is not None and e.node.is_leaf:
            continue  # a view of a computed buffer: nothing pending
        if any(
            e is expr
            # (every element that reads a node holds it as `node`: leaves, outers, and the
            # re-indexed reads of a computed vector, `VectorRef` and `IndexedRead`)
            or ((read := getattr(e, "node", None)) is not None and _reads(read, node))
            or (e.realized is not None and e.realized[1] is node)  # (`node` computed it)
            for e in postorder(arr._held)
        ):
            found.append(arr)
    return found


def _keep_for_readers(node, before: Elem) -> None:
    """Before a computed buffer becomes the user's memory (`ndarray._handed_out`, which
    gives the array a new node over it): when anything besides the array still reads its
    old `node` (a pending value older than `RECENT_LAZY` remembers, reading it through a
    leaf or a re-indexed read), that node keeps what the buffer holds now, in a copy, so
    the user's writes into the buffer never reach a value made before them. (Reference
    counts: the array's leaf, the caller's and this function's locals, getrefcount's own,
    and the array's old expression, which the caller holds, when it remembers the node; a
    reference to that expression from anything else is a reader.)"""
    # (a copy of the user's array whose buffer is also that array's snapshot: the user's
    # Param holds it as its last snapshot, which is no reader; `th = theta.copy()` then
    # `th[k]` in a loop copied th's whole buffer once per call)
    owner = copied_for(node)
    mine = 4 + (before.realized is not None and before.realized[1] is node) + (owner is not None)
    # (a pending value may also hold the array's old expression, which reads the node it
    # computed: four references are the callers' and this function's own)
    expression_read = type(before) is not Leaf and sys.getrefcount(before) > 4
    if sys.getrefcount(node) <= mine and not expression_read:
        if owner is not None:
            owner._snapshot = None  # (the buffer is the user's now: no snapshot of theirs)
        return
    kept = node.cached.copy()
    node.cached = kept
    if getattr(node, "key", None) is not None and node.key[0] == "id":
        node.source, node.key = kept, ("id", id(kept))


def _reads(source, node) -> bool:
    if source is node:
        return True
    if source.is_leaf:
        return False
    return any(n is node for n in topological([source]))


class _NdarrayMeta(type):
    # `isinstance(x, daybreak.numpy.ndarray)` is also true for NumPy arrays: small results
    # are real NumPy arrays (the eager path), and user code checking the type must not care.
    def __instancecheck__(cls, obj):
        return type.__instancecheck__(cls, obj) or isinstance(obj, np.ndarray)

    # `ndarray(expr, shape)` inside daybreak; `ndarray((3,), dtype=...)` is NumPy's
    # constructor (shape, dtype, buffer, offset, strides, order), made by NumPy.
    def __call__(cls, *args, **kwargs):
        if args and isinstance(args[0], Elem):
            return super().__call__(*args, **kwargs)
        from .creation import numpy_made

        value = np.ndarray(*args, **kwargs)
        if (
            value.base is not None
            and is_supported(value.dtype)
            and value.ndim > 0
            and value.size >= max(SETTINGS.eager_below, 1)
        ):
            return wrap(value, snapshot=True)  # `buffer=`: the user's memory
        return numpy_made(value, "ndarray")


# What a value computed for `float()`, `int()` or `bool()` tells (`replay.value_computed`,
# set when that module loads: it imports this one)
VALUE_COMPUTED: list = [lambda value, frame: None]


class ndarray(LazyValue, metaclass=_NdarrayMeta):  # noqa: N801 - NumPy's name
    """A lazy NumPy array (see the module docstring)."""

    __slots__ = (
        "_held",
        "_shape",
        "_base",
        "_synced",
        "_seen",
        "_numpy_view",
        "_memory",
        "_site",
        "_views",
        "_hot",
        "__weakref__",
    )
    __array_priority__ = 1000
    __hash__ = None

    def __init__(self, expr: Elem, shape: tuple[int, ...]):
        self._shape = tuple(map(int, shape))
        if expr.weight > ELEM_BUDGET and expr.depth <= DEPTH_BUDGET:
            expr.weight = len(postorder(expr))  # shared parts counted once, not per path
        if (expr.weight > ELEM_BUDGET or expr.depth > DEPTH_BUDGET) and not isinstance(
            expr, Leaf | Outer
        ):
            # A long chain of calls (`y = y + 1` in a loop): its own loop from here on, so no
            # expression, walk or loop body grows without bound.
            node = realize(expr, self._shape)
            expr = (
                Outer(node, expr.dtype)
                if self._shape == ()
                else Leaf(node, contiguous_strides(self._shape), math.prod(self._shape), expr.dtype)
            )
        # Weak references to the views of this array (`as_view_of`), which follow its
        # writes (`_follow`); None when it has none.
        self._views = None
        self._expr = expr
        self._base = None  # (array, writer, key, remake) when this is a NumPy view of it
        self._synced = None  # the base's value right after this view wrote into it
        # (expr, buffer, NumPy view, whether NumPy may write the view): what `concrete` last
        # found
        self._seen = None
        # (expr, read-only NumPy view, NumPy's view) where `expr` reads a computed buffer
        # or the user's: what `strided_view` returns (`indexing.view_of_computed`; the
        # read-only view is None until first asked for)
        self._numpy_view = None
        # The user's memory this array is (`np.asarray(u)` is `u`): the borrowed input that
        # a write rebinding this array to a pending value writes back into (`write_back`)
        self._memory = None
        # The user's line that made this value from the user's memory (cleared when the
        # array is rebound): whether the value is computed on its own or fused decides that
        # line's next call (`ufuncs._on_user_memory`, `sites`)
        self._site = None
        # Element reads and writes in a row (`handover.py`: a hot loop's array goes to NumPy)
        self._hot = 0

    @property
    def _expr(self) -> Elem:
        """The element expression this array is (a leaf once computed)."""
        return self._held

    @_expr.setter
    def _expr(self, expr: Elem) -> None:
        self._held = expr
        self._numpy_view = None  # (it would hold the old expression's buffer node alive)
        self._site = None  # (the line made the old expression, not this one)
        # The scheduler keeps the value of a pending loop that a live array is (or reads
        # whole, as a reduction's result): `Node.wanted_later`.
        if expr.owner is None or expr.owner() is None:
            expr.owner = weakref.ref(self)
            if (type(expr) is not Leaf and type(expr) is not Outer) or (
                expr.node is not None and not expr.node.is_leaf
            ):
                RECENT_LAZY.append(expr.owner)  # a pending value: `pending_readers` looks here
                PENDING_MADE[0] += 1
        elif type(expr) is not Leaf and type(expr) is not Outer:
            # a second array of a pending expression (`b = a.copy()`): a reader too, which
            # must be computed with the first when what they read is written
            RECENT_LAZY.append(weakref.ref(self))
            PENDING_MADE[0] += 1
        node = getattr(expr, "node", None)
        if node is not None and getattr(node, "source", 0) is None and not node.is_leaf:
            node.source = weakref.ref(expr)
        if self._views is not None and id(self) not in _FOLLOWING:
            self._follow()

    def as_view_of(self, base: ndarray, writer, key=None, remake=None) -> ndarray:
        """Mark this array as a view of `base`: `base[key]`, or `remake(base)` (a transpose,
        a reshape, the real part): `writer(base, self)` puts this array's values
        back into `base` after a write to this one, and a write to `base` shows in this
        array (`_follow`)."""
        self._base = (base, writer, key, remake)
        views = base._views
        if views is None:
            base._views = [weakref.ref(self)]
        else:
            if len(views) >= 32:
                base._views = views = [r for r in views if _still_view(r(), base)]
            views.append(weakref.ref(self))
        return self

    def all_views(self):
        """The live arrays that are views of this one, or of its views (every level)."""
        todo = [self]
        while todo:
            x = todo.pop()
            for ref in x._views or ():
                v = ref()
                if _still_view(v, x):
                    yield v
                    if v._views is not None:
                        todo.append(v)

    def root(self) -> ndarray:
        """The array this one is a view of, every level up (itself when it is no view)."""
        found = self
        while found._base is not None:
            found = found._base[0]
        return found

    def _follow(self) -> None:
        """This array was rebound (`a += 1`, a write into a copy of its buffer, computed):
        its views read it again, as NumPy's views show every write to their base (their own
        views follow them in turn, from their own setters)."""
        refs = self._views
        views = [r() for r in refs]  # (remaking registers more: temporaries)
        kept = [r for r, v in zip(refs, views, strict=True) if _still_view(v, self)]
        self._views = kept or None
        _FOLLOWING.add(id(self))
        try:
            for v in views:
                if _still_view(v, self) and id(v) not in _WRITING:
                    self._remake_view(v)
        finally:
            _FOLLOWING.discard(id(self))

    def _remake_view(self, v: ndarray) -> None:
        """`v`, a view of this array, made again from what this array is now. A view of a
        computed array reads its buffer where it lies (`indexing.view_of_computed`), so
        that writes in place show in it too."""
        from .indexing import getitem, view_of_computed

        key, remake = v._base[2], v._base[3]
        e = self._held
        if remake is not None:
            again = remake(self)
        elif (
            type(e) is Leaf
            and e.node is not None
            and e.node.is_leaf
            and e.offset == 0
            and e.size == self.size
            and is_contiguous(e.strides, self._shape)
            and self._shape
        ):
            # NumPy's view of the buffer (what `concrete` finds), at any size (`getitem`
            # would give a small part to NumPy, and the buffer with it)
            found = np.asarray(e.node.cached).reshape(self._shape)
            part = found[key]
            again = view_of_computed(self, part, found, key) if type(part) is np.ndarray else None
        else:
            again = getitem(self, key)
        if type(again) is ndarray and again._shape == v._shape and again.dtype == v.dtype:
            expr = again._held
            if expr.owner is not None and expr.owner() is again:
                expr.owner = None  # (it is `v`'s from now on)
            del again
            v._expr = expr

    def write_back(self) -> None:
        """After a write to this array, the same write to the array it is a view of, or to
        the user's memory it is (a write in place there needs nothing more)."""
        if self._base is not None:
            base, writer = self._base[:2]
            self._synced = None  # (this write is new: `is_written_view` must not skip it)
            _WRITING.add(id(self))
            try:
                writer(base, self)
            finally:
                _WRITING.discard(id(self))
            if self._base[3] is not None:
                base._remake_view(self)  # (`indexing._write_view` does it for `base[key]`)
            self._synced = base._expr
        elif self._memory is not None:
            self._into_memory()

    def _into_memory(self) -> None:
        """This array, rebound by a write to a pending value (`x += 1`, `np.add(x, 1,
        out=x)`), computed into the user's memory it is, then reading that memory again."""
        memory, e = self._memory, self._held
        if type(e) is Leaf and e.node is memory:
            return  # written in place
        user = memory.cached
        if self.size != user.size or self.dtype != user.dtype:
            self._memory = None  # (resized or reinterpreted: NumPy's own array changed)
            return
        value = np.asarray(self.value())
        memory.written()
        np.reshape(user, -1, copy=False)[...] = value.reshape(-1)
        self._expr = Leaf(memory, contiguous_strides(self._shape), self.size, self.dtype)

    def is_written_view(self, base: ndarray, key) -> bool:
        """Whether `base[key] = self` would only repeat this view's own write-back (Python
        runs `a[1:] += 1` as `v = a[1:]; v += 1; a[1:] = v`)."""
        return (
            self._base is not None
            and self._base[0] is base
            and self._synced is base._expr
            and self._base[2] is key
        )

    # --- what is known without computing ----------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._expr.dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    # --- materialisation --------------------------------------------------------------------
    def _lazy_node(self):
        return realize(self._expr, self._shape)

    def _lazy_finish(self, raw):
        e = self._held
        if (
            self._base is not None
            and self._shape
            and type(e) is Leaf
            and e.node is not None
            and e.node.is_leaf
        ):
            # A view computed with its base (both pending readers of memory about to be
            # written, `db.evaluate(base, view)`): finishing the base remade it over the
            # base's buffer (`_follow`), as NumPy's view, which a later write of the base
            # in place must reach; its own copy of the same values is not kept.
            found = self.strided_view()
            if found is not None:
                return found
        if self._shape == ():
            dtype = self._held.dtype
            value = raw if type(raw) is dtype.type else dtype.type(raw)
            self._expr = Outer(Param.scalar(value, ir_scalar(dtype)), dtype)
            return value
        if type(raw) is np.ndarray and raw.ndim == 1 and raw.flags.c_contiguous:
            # The flat buffer a run made (native code's block, the library's fresh array;
            # never the user's memory: `snapshots.unalias`): the leaf over it without
            # `concrete_expr`'s questions (a Python loop finishes one value per statement)
            value = raw.reshape(self._shape)
            node = realized_node(self._held, self._shape)
            if node is None or not node.is_leaf or node.cached is not raw:
                last = _LAST_FINISHED[0]
                node = last() if last is not None else None
                if node is None or node.cached is not raw:
                    # (else another array of one run got the same buffer, `b = a.copy()`
                    # computed with `a`: it reads it through the same node, so that a
                    # write into either counts the other as a reader)
                    ty = _VECTOR_TYPES.get(raw.dtype)
                    if ty is None:
                        ty = _VECTOR_TYPES[raw.dtype] = Vec(ir_scalar(raw.dtype))
                    node = Param.owned(raw, ty)
            _LAST_FINISHED[0] = weakref.ref(node)
            # (else the array reads the very node that computed it: a pending value that
            # reads the old expression reads that node too, and a write into this array in
            # place counts it as a reader, `assignment.own_buffer`; over a new node of the
            # same buffer, the write went unseen by it)
            self._expr = Leaf(node, contiguous_strides(self._shape), raw.size, raw.dtype)
            return value
        value = np.asarray(raw).reshape(self._shape)
        self._expr = concrete_expr(value)[0]
        return value

    def concrete(self):
        """The computed value if there is one without running anything, else None."""
        e = self._held
        seen = self._seen
        if seen is not None and seen[0] is e and e.node.cached is seen[1]:
            return seen[2]  # Python loops ask for it thousands of times
        if not isinstance(e, Leaf | Outer):
            kept = e.library_value
            if kept is not None and kept[0] == self._shape and kept[1].shape == self._shape:
                # The library computed it inside a larger expression (a mask of it): the
                # buffer becomes this array's alone (it may write it in place; a pending
                # value that reads the expression computes it again), so that what reads it
                # next reads data (`ix[inside]`: NumPy's selection, no positions computed
                # again from `ix`'s inputs)
                e.library_value = None
                return self._lazy_finish(kept[1].reshape(-1))
            node = realized_node(e, self._shape)
            if node is not None and node.is_leaf:
                # Another program computed this array's loop (a row of it was read, say): read
                # that from now on.
                e = self._expr = (
                    Outer(node, e.dtype)
                    if self._shape == ()
                    else Leaf(node, contiguous_strides(self._shape), self.size, e.dtype)
                )
        if (
            isinstance(e, Leaf)
            and e.node is not None
            and e.node.is_leaf
            and e.offset == 0
            and e.size == self.size
            and is_contiguous(e.strides, self._shape)
        ):
            if type(e.node) is GuardedSnapshot:
                own = e.node.copied()
                if own is not None:
                    # a copy of the user's memory, needed now: a buffer of its own (which
                    # its writes then write in place), the snapshot left to its other readers
                    e = self._expr = Leaf.plain(
                        Param.owned(own, e.node.type), e.strides, e.size, e.dtype
                    )
                else:
                    e.node.settle()  # (its reserve holds the snapshot once copied, not before)
            if self._shape == ():
                return self.dtype.type(np.asarray(e.node.cached).reshape(-1)[0])
            found = np.asarray(e.node.cached).reshape(self._shape)
            # a view: in-place writes show through
            self._seen = (e, e.node.cached, found, found.flags.writeable)
            return found
        if isinstance(e, Outer) and e.node.is_leaf and self._shape == ():
            found = self.dtype.type(e.node.cached)
            self._seen = (e, e.node.cached, found, False)
            return found
        return None

    def strided_view(self) -> np.ndarray | None:
        """A read-only NumPy view of the computed buffer this array reads (a slice, a
        transpose, a broadcast of it), or None when it is not one: for NumPy calls that
        read it now."""
        e = self._held
        known = self._numpy_view
        if known is not None and known[0] is e:
            if known[1] is None:  # (made when first asked: most views are never read so)
                readable = known[2].view()
                readable.flags.writeable = False
                self._numpy_view = known = (e, readable, known[2])
            return known[1]
        if not isinstance(e, Leaf) or e.node is None or not e.node.is_leaf or not self._shape:
            return None
        if type(e.node) is GuardedSnapshot:
            e.node.settle()  # (its reserve holds the snapshot once copied, not before)
        flat = e.node.cached
        if not isinstance(flat, np.ndarray) or flat.ndim != 1 or flat.dtype != e.dtype:
            return None
        return strided(flat, e.offset, self._shape, e.strides)

    def value(self):
        """The NumPy value (an array, or a NumPy scalar for 0-d), computing it if needed."""
        found = self.concrete()
        if found is not None:
            return found
        expr = self._held
        if type(expr) is Leaf and expr.node is not None and expr.node.is_leaf and self._shape:
            found = self.strided_view()  # a view of a computed buffer: it stays one
            if found is not None:
                return found
        if self._site is not None:
            materialised_alone(self._site)
        now = value_now(expr, self._shape)  # small work on computed inputs: NumPy, at once
        if now is not None:
            for e in postorder(expr):  # (cached on the expression)
                if type(e) is Apply and e.site is not None:
                    computed_in_library(e.site)  # its snapshot bought no fusion
            value = self._lazy_finish(now)
            set_realized(expr, self._shape, self._held.node)  # others with `expr` read it
            return value
        raw = materialize([self._lazy_node()])[0]
        if LAST_WRITE[0] is not None and len(LAST_WRITE[0]) == 3:
            LAST_WRITE[0] = (*LAST_WRITE[0], self)  # (whose program it was: `replay`)
        return self._lazy_finish(raw)

    def __array__(self, dtype=None, copy=None):
        if not copy:
            self._off_snapshot()
        before = self._held
        v = None
        if self._base is not None and not copy:
            v = self._base_view()
        if v is None:
            v = np.asarray(self.value())
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        if copy:
            return v.copy()
        if v.ndim and self._memory is None:
            if not v.flags.writeable and self._base is None and self._reads_own_strided():
                v = self._own_contiguous(v)
                before = self._held
            self._handed_out(v, before)
        return v

    def _reads_own_strided(self) -> bool:
        """Whether this array reads a buffer of daybreak's own, writeable, through strides
        that are not its C order and repeat no element (a transpose computed on its own:
        `v = w.T; v[...] = 0` leaves `w` reading `v`'s buffer transposed): NumPy's view of it
        is read-only (`strided_view`), where NumPy's own array would be writeable."""
        e = self._held
        node = getattr(e, "node", None)
        return (
            type(e) is Leaf
            and node is not None
            and type(node) is not GuardedSnapshot
            and not node.borrowed
            and node.is_leaf
            and type(node.cached) is np.ndarray
            and node.cached.flags.writeable
            and 0 not in e.strides
        )

    def _own_contiguous(self, v: np.ndarray) -> np.ndarray:
        """`v` (this array's value, a read-only strided view of its own buffer) copied into a
        C-ordered buffer that this array reads from now on, so that it can be handed out to
        the user as their memory (`_handed_out`): the views of this array follow it
        (`_follow`), and NumPy views of them handed out later share the user's memory. (A
        writeable NumPy view of the strided buffer would be written by the user where this
        array, not knowing it was handed out, writes a copy of its own.)"""
        return self._lazy_finish(np.array(v, order="C").reshape(-1))

    def _base_view(self) -> np.ndarray | None:
        """NumPy's view of the memory this view reads (`np.asarray(a[1:-1])`, `a.T`, a
        strided view of the user's memory): the buffer of the array it is a view of, through
        every level, is handed out (`__array__`), this view follows it (`_follow`) and is
        NumPy's writeable view of it, whose writes reach `a`. None: it did not follow (a
        0-d base, say): the caller copies."""
        found = self._users_view()
        if found is None:
            np.asarray(self.root())
            found = self._users_view()
        return found

    def _users_view(self) -> np.ndarray | None:
        """NumPy's writeable view of the user's memory this array reads where it lies (a
        transpose of it, a strided view of it: `_strided_user_view`), or None."""
        e = self._held
        if type(e) is not Leaf or not getattr(e.node, "borrowed", False) or not self._shape:
            return None
        flat = e.node.cached
        if type(flat) is not np.ndarray or flat.ndim != 1 or not flat.flags.writeable:
            return None
        return strided(flat, e.offset, self._shape, e.strides, writeable=True)

    def _off_snapshot(self) -> None:
        """Before this array's buffer goes to the user: an array that is a lazy copy of the
        user's memory (`u.copy()`, read through a write guard's snapshot) gets a buffer of its
        own. The snapshot's reserve is the guard's (given to the next guard of its size once
        released), and a run may read the user's buffer itself in its place."""
        e = self._held
        if type(e) is Leaf and type(e.node) is GuardedSnapshot and self._shape:
            self._expr = concrete_expr(np.array(self.value(), copy=True))[0]

    def _handed_out(self, v: np.ndarray, before: Elem) -> None:
        """`v`, this array's computed buffer, goes to the user, who may write it (NumPy's
        `np.asarray(b)` is `b`): from now on it is the user's memory (`concrete_expr`'s
        borrowed input), which lazy values read through a snapshot and writes through this
        array update. Pending values made from it before (the recent ones,
        `pending_readers`) are computed now, before the user can write it; older ones keep
        reading the node they read, which then holds a copy (`_keep_for_readers`)."""
        old = getattr(self._held, "node", None)
        expr = concrete_expr(v, snapshot=True)[0]
        if type(expr) is not Leaf or not expr.node.borrowed:
            return  # read-only, or not this array's own buffer
        readers = [r for r in pending_readers(old, before) if r is not self]
        if readers:
            evaluate(*readers)
        if old is not None and old.is_leaf and not getattr(old, "borrowed", False):
            # (the user's memory is read by lazy values through snapshots already; and a
            # view's node is its base's, which must go on reading the buffer handed out)
            _keep_for_readers(old, before)
        self._expr = expr
        self._memory = expr.node

    def __repr__(self) -> str:
        return repr(self.value())

    def __str__(self) -> str:
        return str(self.value())

    def __format__(self, spec: str) -> str:
        return format(self.value(), spec)

    def __float__(self):
        found = self.value()
        if LAST_WRITE[0] is not None:
            VALUE_COMPUTED[0](self, sys._getframe(1))  # (a statement to replay: `replay`)
        return float(found)

    def __int__(self):
        found = self.value()
        if LAST_WRITE[0] is not None:
            VALUE_COMPUTED[0](self, sys._getframe(1))
        return int(found)

    def __complex__(self):
        return complex(self.value())

    def __bool__(self):
        found = self.value()
        if LAST_WRITE[0] is not None:
            VALUE_COMPUTED[0](self, sys._getframe(1))
        return bool(found)

    def __index__(self):
        if self._shape:
            # NumPy's answer for any array of a dimension, asked before anything is computed:
            # NumPy's own indexing asks it of every key (`data[mask]` with daybreak's mask)
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return operator.index(self.value())

    def __iter__(self):
        return iter(np.asarray(self.value()))

    def tolist(self):
        """Nested Python lists (or a Python scalar for 0-d), as `numpy.ndarray.tolist`."""
        return np.asarray(self.value()).tolist()

    def item(self, *args):
        return np.asarray(self.value()).item(*args)

    # `__getitem__` and `__setitem__`: `indexing.getitem` and `assignment.setitem`, attached
    # by `methods.py` (no import per call: Python loops index thousands of times).

    def __copy__(self):
        return self._copy()

    def copy(self, order="K"):
        """`ndarray.copy`: see `_copy`; `order="F"` holds the elements in Fortran order
        (`fortran_view`), as NumPy's copy does."""
        if order == "F" and self.ndim > 1:
            return fortran_view(self.T.copy())  # (the elements in Fortran order)
        return self._copy()

    def _copy(self):
        """A copy: lazy values are never written in place, so this shares the expression,
        except the user's memory, which the copy reads through its snapshot. A leaf is the
        copy's own (over the same node): the reference counts that guard a write in place,
        or a buffer handed out, count each array's leaf (`assignment.own_buffer`,
        `_keep_for_readers`); one leaf of two arrays read as one reader, and a write into
        one of them reached the other."""
        e = self._expr
        if type(e) is Leaf and e.node is not None:
            e = snapshot_leaf(e) if getattr(e.node, "borrowed", False) else e.with_node(e.node)
        return ndarray(e, self._shape)

    def __reduce__(self):  # pickling sends the values
        return (asarray_value, (np.asarray(self.value()),))


register_array_type(ndarray)  # (its operators and stores are daybreak's: `statements`)


def fortran_view(t: ndarray) -> ndarray:
    """The array NumPy holds in Fortran order whose transpose is `t` (an array of its own,
    in C order): `t`'s transpose, a view, so that `_layout` (whether a reshape or ravel of
    it is a view) is NumPy's."""
    from .shapes import permuted

    return permuted(t, tuple(range(t.ndim))[::-1])


def lazy_array(expr: Elem, shape: tuple[int, ...]) -> ndarray:
    """`ndarray(expr, shape)` without the metaclass's check for NumPy's constructor (~0.3 us:
    the recording of every ufunc call makes one)."""
    made = object.__new__(ndarray)
    made.__init__(expr, shape)
    return made


def fresh_apply_array(expr: Apply, shape: tuple[int, ...]) -> ndarray:
    """`lazy_array(expr, shape)` of an `Apply` just made (no array is it yet, so the array
    owns it and is a pending reader, `RECENT_LAZY`) over a shape of Python ints, within the
    budgets: what a recorded ufunc call makes, without the general setter's questions."""
    if expr.weight > ELEM_BUDGET or expr.depth > DEPTH_BUDGET or expr.owner is not None:
        return lazy_array(expr, shape)
    return _owning_pending(expr, shape)


def reading_pending(expr: Leaf | Outer, shape: tuple[int, ...]) -> ndarray:
    """`lazy_array(expr, shape)` of a `Leaf` or `Outer` just made over a pending node (a
    reduction's result) and a shape of Python ints: the array owns it and is a pending
    reader (`RECENT_LAZY`), and the node's source is the element, as the setter makes them.
    (A node the budget computed already is no pending read: the general way.)"""
    node = expr.node
    if node.cached is not _UNSET:
        return lazy_array(expr, shape)
    made = _owning_pending(expr, shape)
    if getattr(node, "source", 0) is None:
        node.source = weakref.ref(expr)
    return made


def _owning_pending(expr: Elem, shape: tuple[int, ...]) -> ndarray:
    """A new array that is `expr` (a pending expression no array is yet): its owner, and a
    pending reader (`RECENT_LAZY`)."""
    made = object.__new__(ndarray)
    made._shape = shape
    made._held = expr
    made._views = made._base = made._synced = made._seen = made._numpy_view = None
    made._memory = made._site = None
    made._hot = 0
    expr.owner = ref = weakref.ref(made)
    RECENT_LAZY.append(ref)
    PENDING_MADE[0] += 1
    return made


def leaf_array(leaf: Leaf, shape: tuple[int, ...]) -> ndarray:
    """A daybreak array reading a computed buffer through a new `leaf` (a view of it): what
    `lazy_array` makes, without the checks a pending expression needs (a Python loop takes
    thousands of rows and columns of computed arrays)."""
    made = object.__new__(ndarray)
    made._shape = shape
    made._held = leaf
    made._base = made._synced = made._seen = made._numpy_view = made._memory = None
    made._site = made._views = None
    made._hot = 0
    leaf.owner = weakref.ref(made)
    return made


def result_array(value: np.ndarray) -> ndarray:
    """A daybreak array over a C-contiguous array NumPy just made (nobody else holds it, so
    it is read in place, never copied): what `wrap` makes, without its questions (a Python
    loop of calls computed at once makes one per call)."""
    # `owned_read(value, contiguous_strides(shape), shape)` with `leaf_array` inline: a
    # Python loop's every call computed at once makes one, after NumPy's pass has evicted
    # the caches the interpreter runs from (each call saved there is ~0.5 us)
    shape = value.shape
    flat = value.reshape(-1)
    dtype = value.dtype
    ty = _VECTOR_TYPES.get(dtype)
    if ty is None:
        ty = _VECTOR_TYPES[dtype] = Vec(ir_scalar(dtype))
    strides = _CONTIGUOUS.get(shape)
    if strides is None:
        if len(_CONTIGUOUS) > 1024:
            _CONTIGUOUS.clear()
        strides = _CONTIGUOUS[shape] = contiguous_strides(shape)
    leaf = Leaf.plain(Param.owned(flat, ty), strides, flat.size, dtype)
    made = object.__new__(ndarray)
    made._shape = shape
    made._held = leaf
    made._base = made._synced = made._numpy_view = made._memory = None
    made._site = made._views = None
    made._hot = 0
    leaf.owner = weakref.ref(made)
    # what `concrete` would find: the next call reads it
    made._seen = (leaf, flat, value, value.flags.writeable)
    return made


_CONTIGUOUS: dict = {}  # shape -> its C-order strides in elements (`result_array` asks per call)


_VECTOR_TYPES: dict = {}  # dtype -> the IR's vec type of it (`result_array` asks per call)


def owned_read(value: np.ndarray, strides: tuple[int, ...], shape: tuple[int, ...]) -> ndarray:
    """A daybreak array of `shape` reading the C-contiguous `value`, which nobody else holds
    (a copy just made), through element `strides` (0 along a broadcast axis)."""
    flat = value.reshape(-1)
    ty = _VECTOR_TYPES.get(value.dtype)
    if ty is None:
        ty = _VECTOR_TYPES[value.dtype] = Vec(ir_scalar(value.dtype))
    return leaf_array(Leaf.plain(Param.owned(flat, ty), strides, flat.size, flat.dtype), shape)


def asarray_value(value) -> ndarray:
    return wrap(np.asarray(value))


def user_can_write(flat: np.ndarray, arr: np.ndarray) -> bool:
    """Whether `flat` (read from the user's `arr`) is memory that someone may still write:
    it shares `arr`'s buffer and an array over that buffer is writeable."""
    if not np.may_share_memory(flat, arr):
        return False  # `ascontiguousarray` already copied
    base = arr
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return True
        base = base.base
    return base is not None and not isinstance(base, bytes)


def concrete_expr(value, snapshot: bool = False) -> tuple[Elem, tuple[int, ...]]:
    """The element expression reading a NumPy value (array or scalar) as a program input.

    `snapshot=True` for the user's arrays: a lazy value means what NumPy's would have meant
    at the line that created it, so memory the user may still write is borrowed: read and
    written in place by work done at once (a small slice, an element), and read through a
    copy (`Param.snapshot`) by lazy values. Read-only data and daybreak's own results are
    never copied."""
    arr = np.asarray(value)
    t = ir_scalar(arr.dtype)
    if arr.ndim == 0:
        return Outer(Param(arr.dtype.type(arr[()]), t, key=None), arr.dtype), ()
    copied = not arr.flags.c_contiguous  # (`ascontiguousarray` copies it)
    flat = np.ascontiguousarray(arr).reshape(-1)
    borrowed = snapshot and not copied and user_can_write(flat, arr)
    # A program's parameters are one per source (`Param.key`): a copy is its own source,
    # never the user's array, whose later copies (after the user wrote it) are other values
    source = value if isinstance(value, np.ndarray) and not copied else flat
    node = Param(flat, Vec(t), source=source, borrowed=borrowed)
    return Leaf(node, contiguous_strides(arr.shape), arr.size, arr.dtype), arr.shape


def memory_extent(arr: np.ndarray) -> tuple[np.ndarray, int, tuple[int, ...]] | None:
    """A strided NumPy view as (the 1-D run of memory from its lowest element to its
    highest, the view's first element's offset in it, its strides in elements): what a leaf
    reads so that the view stays the user's memory (`np.asarray(u[:, 3])` is a view of `u`,
    which later writes to `u` show through, and writes through it reach). None when the
    view's strides are not whole elements or the run is not inside one contiguous
    allocation (a copy is read then, as before)."""
    item = arr.itemsize
    if arr.size == 0 or any(s % item for s in arr.strides):
        return None
    low = sum(s * (n - 1) for s, n in zip(arr.strides, arr.shape, strict=True) if s < 0)
    high = sum(s * (n - 1) for s, n in zip(arr.strides, arr.shape, strict=True) if s > 0)
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    start = arr.__array_interface__["data"][0]
    root_start = root.__array_interface__["data"][0]
    if start + low < root_start or start + high + item > root_start + root.nbytes:
        return None
    first = tuple(slice(n - 1, n) if s < 0 else slice(0, 1)
                  for s, n in zip(arr.strides, arr.shape, strict=True))  # fmt: skip
    flat = np.lib.stride_tricks.as_strided(
        arr[first], shape=((high - low) // item + 1,), strides=(item,),
        writeable=arr.flags.writeable,
    )  # fmt: skip
    return flat, -low // item, tuple(s // item for s in arr.strides)


def wrap(value, snapshot: bool = False, view: bool = True) -> ndarray:
    """A daybreak array reading a NumPy array or scalar of a supported dtype (`snapshot`: a
    user's array, see `concrete_expr`). A strided view of the user's memory (`u[:, 3]`,
    Fortran order) is a view of it, read where it lies (`_strided_user_view`), unless
    `view=False` (an operand of one call: it reads a contiguous copy of just its elements,
    which is its snapshot)."""
    if (
        snapshot
        and view
        and type(value) is np.ndarray
        and value.ndim
        and not value.flags.c_contiguous
    ):
        made = _strided_user_view(value)
        if made is not None:
            return made
    if (
        not snapshot
        and type(value) is np.ndarray
        and value.ndim > 1
        and value.flags.f_contiguous
        and not value.flags.c_contiguous
    ):
        # Fortran order (NumPy's result, daybreak's to keep): the transpose of its C-ordered
        # transpose, read in place, a view whose layout is NumPy's (its reshape copies)
        return fortran_view(wrap(value.T))
    expr, shape = concrete_expr(value, snapshot)
    made = ndarray(expr, shape)
    if type(expr) is Leaf and expr.node.borrowed:
        made._memory = expr.node
    return made


def _strided_user_view(arr: np.ndarray) -> ndarray | None:
    """A strided view of the user's memory as daybreak's view of the run of memory it spans
    (`memory_extent`, wrapped as the user's array): writes through either show in both, as
    NumPy's `np.asarray(u[:, 3])` is a view of `u`. None: read-only data, or not one run."""
    found = memory_extent(arr)
    if found is None:
        return None
    flat, offset, strides = found
    base = wrap(flat, snapshot=True)
    leaf = base._held
    if type(leaf) is not Leaf or not leaf.node.borrowed:
        return None  # read-only: a copy is as good
    made = leaf_array(Leaf(leaf.node, strides, leaf.size, leaf.dtype, offset), arr.shape)
    readable = arr.view()
    readable.flags.writeable = False
    made._numpy_view = (made._held, readable, arr)

    def remake(b: ndarray) -> ndarray:
        e = b._held
        if type(e) is not Leaf or e.node is None or not e.node.is_leaf:
            b.value()
            e = b._held
        return leaf_array(Leaf(e.node, strides, e.size, e.dtype, offset), arr.shape)

    remake.layout = lambda outer: strides  # (the user's own, over the 1-D run of memory)

    def writer(b: ndarray, v: ndarray) -> None:
        values = np.asarray(v.value())
        e = b._held
        if type(e) is Leaf and getattr(e.node, "borrowed", False):
            e.node.written()
            strided(e.node.cached, offset, arr.shape, strides, writeable=True)[...] = values
        v._expr = remake(b)._held

    return made.as_view_of(base, writer, remake=remake)


def from_numpy_result(result):
    """What a NumPy call returned, as daybreak hands it back: large arrays of dtypes the IR
    has become lazy arrays again (so later calls compile); everything else is returned as is."""
    kind = type(result)
    if kind is _NDARRAY:
        size = result.size
        if size and size >= SETTINGS.eager_below and result.ndim > 0 and is_supported(result.dtype):
            if result.base is None and result.flags.c_contiguous:
                return result_array(result)  # (what `wrap` would make, sooner)
            return wrap(result, snapshot=result.base is not None)  # a view may be user data
        return result
    if kind is tuple:
        return tuple(from_numpy_result(r) for r in result)
    return result


def as_operand(x):
    """Anything a NumPy function accepts as an array, as a daybreak array or a Python scalar
    (which must stay one: NumPy promotes Python scalars weakly)."""
    if isinstance(x, ndarray) and not isinstance(x, np.ndarray):
        return x
    if type(x) in (int, float, bool):
        return x
    if foreign_array(x) is not None:  # masked arrays, matrices, Series: their own rules
        return None
    arr = np.asarray(x)
    if not is_supported(arr.dtype):
        return None
    return wrap(x if isinstance(x, np.ndarray | np.generic) else arr, snapshot=True, view=False)


def held_now(x: ndarray) -> Elem:
    """`x`'s expression for a new one to read — unless `x` is pending and a program ran
    since its expression was first read by another (which most likely computed it inline,
    not keeping its value): then the leaf of its value where the library kept it
    (`concrete`), or a loop of its own whose value the program computing it keeps
    (`READ_AGAIN`), read by this expression and later ones.

    A Python loop's `x = x * 0.999 + 0.001 * y` between reads of a value of `x`
    (`float(np.linalg.norm(x - y))`) made each step's expression hold every earlier step's:
    a structure never seen before at every step, never compiled, walked whole at every
    read. Reads with no run between them (`b = a + 1; c = a - 1`) fuse, as before."""
    e = x._held
    if type(e) is not Apply:
        return e
    epoch = _FIRST_READ.get(e)
    if epoch is None:
        _FIRST_READ[e] = COMPUTED_EPOCH[0]
        return e
    if epoch == COMPUTED_EPOCH[0] or not x._shape or x._base is not None:
        return e  # (a view follows its base's writes through its expression: left alone)
    found = e.realized
    if e.library_value is not None or (found is not None and type(found[1]) is not _WEAK):
        x.concrete()
        return x._held
    node = realize(e, x._shape)
    READ_AGAIN.add(node)
    x._expr = Leaf(node, contiguous_strides(x._shape), x.size, e.dtype)
    return x._held


_WEAK = weakref.ref
# A pending expression's first read by another (`held_now`): the count of computed loops then
_FIRST_READ: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_now(v):
    """`v` as NumPy data without running anything — a NumPy array or scalar, or the computed
    buffer (or a view of it) of a daybreak array — else None (a pending value, a list...)."""
    kind = type(v)
    if kind is ndarray:
        seen = v._seen
        if seen is not None and seen[0] is v._held and seen[0].node.cached is seen[1]:
            return seen[2]  # (`concrete`'s memo, read inline: a Python loop's calls)
        found = v.concrete()
        return found if found is not None else v.strided_view()
    if kind is np.ndarray or kind is float or kind is int or isinstance(v, _INT_OR_SCALAR):
        return v
    return None


_INT_OR_SCALAR = (int, np.generic)


def data_to_read(v):
    """`data_now(v)` for a NumPy call that reads `v` now and returns a new array: a snapshot
    of the user's memory that nobody wrote since is read where it is, the user's buffer
    (`GuardedSnapshot.lend`; the caller passes the result through `snapshots.unalias`)."""
    if type(v) is ndarray:
        e = v._held
        if type(e) is Leaf and type(e.node) is GuardedSnapshot and v._shape:
            flat = e.node.lend()
            if flat.ndim == 1 and flat.dtype == e.dtype:
                return strided(flat, e.offset, v._shape, e.strides)
    return data_now(v)


def is_lazy(x) -> bool:
    return type(x) is ndarray
