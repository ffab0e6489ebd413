"""`x[key]` as NumPy does it, lazily: basic indexing (slices with any step, integers, `None`,
`...`) re-indexes the element expression with affine maps; advanced indexing (integer arrays,
boolean masks) gathers by an index vector.

Every key is first tried by NumPy itself on a zero-stride stand-in of the same shape, so the
result's shape and every error (IndexError for out-of-bounds, too many indices, bad index
types, mask shapes) are NumPy's, raised at the call. Index arrays and masks that are lazy are
computed then: the result's shape depends on their values.

Views: NumPy returns views for basic indexing; daybreak returns a lazy value reading the same
elements. Writing through a view (`v = a[1:]; v[0] = 5`) changes `v` only; write to `a`
itself (`a[1] = 5`), which NumPy users do, and it works lazily (`assignment`).

>>> import daybreak.numpy as dnp
>>> x = dnp.arange(12).reshape(3, 4)
>>> x[1:, ::-2].tolist(), x[:, 1].tolist(), x[x % 5 == 0].tolist()
([[7, 5], [11, 9]], [1, 5, 9], [0, 5, 10])
>>> x[[2, 0], 1:3].tolist()
[[9, 10], [1, 2]]
"""

from __future__ import annotations

import math
import operator

import numpy as np

from daybreak.ir import builder as B
from daybreak.runtime.config import SETTINGS

from ..elements.expr import Leaf, realized_node
from ..elements.remap import (
    INDEX,
    Affine,
    Computed,
    computed_once,
    identity,
    index_op,
    reindex,
)
from .array import concrete_expr, from_numpy_result, leaf_array, ndarray
from .fallback import to_numpy
from .handover import SMALL_PART, count_part
from .shapes import reshape_expr, stand_in


def is_integer(k) -> bool:
    return isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_)


def is_basic(k) -> bool:
    return k is None or k is Ellipsis or isinstance(k, slice) or is_integer(k)


def key_items(key) -> tuple:
    """The key as a tuple, with lazy arrays computed (in one program), 0-d integer arrays as
    integers, and lists as arrays."""
    items = to_numpy(key if isinstance(key, tuple) else (key,))
    out = []
    for k in items:
        if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu":
            k = k[()]
        elif isinstance(k, list):
            k = np.asarray(k)
            if k.size == 0 and k.dtype.kind == "f":
                k = k.astype(np.intp)  # NumPy reads `[]` as an empty integer index
        out.append(k)
    return tuple(out)


def spread(items: tuple, ndim: int) -> list:
    """The items with `...` replaced by full slices (and full slices for the trailing axes)."""
    used = sum(
        1
        for k in items
        if k is not None
        and k is not Ellipsis
        and not (isinstance(k, np.ndarray) and k.dtype == np.bool_)
    )
    used += sum(k.ndim for k in items if isinstance(k, np.ndarray) and k.dtype == np.bool_)
    if not any(k is Ellipsis for k in items):
        items = tuple(items) + (Ellipsis,)
    out: list = []
    for k in items:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(k)
    return out


def basic_sources(shape: tuple[int, ...], items: list) -> tuple[list, tuple[int, ...]]:
    """For a spread basic key: the affine source of each old axis, and the new shape."""
    sources: list = []
    new_shape: list[int] = []
    d = 0
    for k in items:
        if k is None:
            new_shape.append(1)
            continue
        n = shape[d]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            sources.append(Affine(len(new_shape), step, start))
            new_shape.append(len(range(start, stop, step)))
        else:
            i = operator.index(k)
            sources.append(Affine(None, 0, i + n if i < 0 else i))
        d += 1
    return sources, tuple(new_shape)


PLAIN_KEYS = frozenset({int, slice, type(None), type(Ellipsis), np.intp, np.int64, np.int32})
_NDARRAY = np.ndarray


def is_plain_basic(key) -> bool:
    """Integers, slices, `None` and `...` only (no arrays, lists or lazy values): a key NumPy
    applies to a computed array as a view, at once. (A pair, `a[i, j]` or `a[i, :j]`, is
    checked without a loop: Python loops ask this ~10^5 times.)"""
    if type(key) is tuple:
        if len(key) == 2:
            k0, k1 = key
            return type(k0) in PLAIN_KEYS and type(k1) in PLAIN_KEYS
        for k in key:
            if type(k) not in PLAIN_KEYS:
                return False
        return True
    return type(key) in PLAIN_KEYS


def getitem(x: ndarray, key):
    """`x[key]` (see the module docstring)."""
    seen = x._seen
    if seen is not None and seen[0] is x._held and seen[0].node.cached is seen[1] and x._shape:
        # Computed and read before, a key of data (plain keys of such an array are NumPy's
        # own in the subscript's slot, `methods._subscript`, before this is called)
        kind = type(key)
        if kind is _NDARRAY and _numpy_selection(x, (key,)):
            return _selected(x, seen[2][key])  # (see below)
        if kind is ndarray:
            # a computed daybreak mask or positions (`data[mask]`, the mask computed at
            # once from the user's memory): its NumPy value is the key (read, not handed
            # out to the user as `np.asarray` would)
            held = key.concrete()
            if type(held) is _NDARRAY and _numpy_selection(x, (held,)):
                return _selected(x, seen[2][held])
    if x._shape and is_plain_basic(key):
        found = x.concrete()
        if found is not None:
            # A computed array and a basic key: NumPy's own view (and errors). One element
            # is NumPy's scalar; a small part is NumPy's array (a lazy value made from it
            # snapshots it); a big part stays lazy below, to fuse into what reads it.
            return _computed_part(x, found, key)
    elif type(key) is _NDARRAY and x._shape:
        # A NumPy array of positions or a mask (a CSR row's `x[cols]`): NumPy's own selection
        # of a computed array, without normalising the key first
        found = x.concrete()
        if found is not None and _numpy_selection(x, (key,)):
            return from_numpy_result(found[key])
    items = key_items(key)
    found = x.concrete()
    if found is not None and _numpy_selection(x, items):
        return from_numpy_result(found[items[0]])  # NumPy's own (a big result stays lazy)
    selected, low = _one_array_selection(x.shape, items)
    if selected is None:
        selected = np.shape(stand_in(x.shape)[items])  # NumPy's errors and the result's shape
    if found is None and not selected and not any(k is Ellipsis for k in items):
        view = x.strided_view()  # a view of a computed buffer or the user's memory
        if view is not None:
            return view[items]  # NumPy's element, read now (a scalar: later writes never show)
    if found is not None and (
        not selected or x.size < SETTINGS.eager_below or math.prod(selected) < SETTINGS.eager_below
    ):
        # A scalar or a small part of a computed array: NumPy's own result at once (a view
        # for basic keys, as in NumPy; a lazy value made from it snapshots it).
        part = np.asarray(found)[items]
        if type(part) is _NDARRAY and part.base is not None and x._memory is None:
            part = _handed_view(x, found, part, items)
        return from_numpy_result(part)
    if all(is_basic(k) for k in items):
        sources, shape = basic_sources(x.shape, spread(items, x.ndim))
        if sources != identity(x.ndim) or realized_node(x._expr, x.shape) is not None:
            # (at the same coordinates too, once another view made the expression a loop:
            # `flx[1:] - flx[:-1]` read `flx`'s loop and its whole expression again, computed
            # twice by the library, hdiff's first call, and in native code)
            expr = computed_once(x._expr, x.shape, 8 * math.prod(shape) <= x.size)
        else:
            expr = x._expr
        view = ndarray(reindex(expr, sources, len(shape)), shape)
        if not shape and not any(k is Ellipsis for k in items):
            return view  # an element: NumPy's scalar, no view (a later write never shows)
        return view.as_view_of(x, _write_view, key)
    return _advanced(x, items, selected, low)


_PROBED = 4096  # keys with fewer elements are asked of NumPy (a stand-in's selection)


def _one_array_selection(shape: tuple[int, ...], items: tuple) -> tuple:
    """(The shape of `x[items]`, the positions' minimum or None) for `x` of `shape` where the
    key is one big array of positions (or a mask) among slices and new axes, with the
    positions in bounds (a minimum and a maximum: passes that read the key, where asking
    NumPy, `stand_in(shape)[items]`, gathers a result as big as it); (None, None): NumPy is
    asked (and raises its own error)."""
    unknown = None, None
    arrays = [k for k in items if type(k) is _NDARRAY]
    if len(arrays) != 1 or arrays[0].size < _PROBED or any(is_integer(k) for k in items):
        return unknown
    index = arrays[0]
    if not all(k is None or k is Ellipsis or type(k) is slice or k is index for k in items):
        return unknown
    out: list[int] = []
    low = None
    d = 0
    for k in spread(items, len(shape)):
        if k is None:
            out.append(1)
        elif type(k) is slice:
            if d >= len(shape):
                return unknown
            out.append(len(range(*k.indices(shape[d]))))
            d += 1
        elif index.dtype == np.bool_:
            if shape[d : d + index.ndim] != index.shape:
                return unknown
            out.append(int(np.count_nonzero(index)))
            d += index.ndim
        elif index.dtype.kind in "iu" and d < len(shape):
            n = shape[d]
            low = int(index.min())
            if low < -n or index.max() >= n:
                return unknown
            out.extend(index.shape)
            d += 1
        else:
            return unknown
    return (tuple(out), low) if d == len(shape) else unknown


def _selected(x: ndarray, part: np.ndarray):
    """NumPy's selection `part` of the computed `x` by a key of data, as daybreak returns it.
    A few elements count as a hot loop's element work (`data[mask]` in a loop over bins:
    `x` goes to NumPy itself, `handover.py`); more start the count again."""
    count_part(x, part.size)
    return from_numpy_result(part)


def part_of_seen(x: ndarray, part: np.ndarray, found: np.ndarray, key):
    """`x[key]` where `part = found[key]` is NumPy's view of `x`'s computed buffer `found`
    (the subscript's plain key, `methods._subscript`): a small part is NumPy's own, a big
    one stays lazy."""
    if part.size < SETTINGS.eager_below and not broadcasts(key, part):
        return part if x._memory is not None else _handed_view(x, found, part, key)
    x._hot = 0  # (a part to fuse: not a loop's element work, `handover.py`)
    return view_of_computed(x, part, found, key)


def leading_rows(x: ndarray, start: int, stop: int) -> np.ndarray:
    """The values of `x[start:stop]` (rows along the first axis) computed now, from `x`'s
    expression (a pending `x` is never computed whole for it, unlike `x[start:stop]`, which
    computes a pending array once when a small part of it is read): a piece of a split
    argument (daybreak.annotations), each piece by the same compiled program."""
    view = x.strided_view()
    if view is not None:
        return view[start:stop]
    sources, shape = basic_sources(x.shape, spread((slice(start, stop),), x.ndim))
    return np.asarray(ndarray(reindex(x._expr, sources, len(shape)), shape).value())


def _computed_part(x: ndarray, found: np.ndarray, key):
    """`x[key]` for a computed `x` (NumPy's value `found`) and a basic key: NumPy's own view
    (and errors). One element is NumPy's scalar; a small part is NumPy's array (a lazy value
    made from it snapshots it); a big part stays lazy, to fuse into what reads it."""
    part = found[key]
    if type(part) is not np.ndarray:
        return part  # an element
    if part.size < SETTINGS.eager_below and not broadcasts(key, part):  # a small view: NumPy's
        return part if x._memory is not None else _handed_view(x, found, part, key)
    return view_of_computed(x, part, found, key)


def broadcasts(key, part: np.ndarray) -> bool:
    """Whether a plain key adds axes (`x[:, None, :]`) to a part of `SMALL_PART` elements or
    more: such a view is made to broadcast against others into a bigger result (kmeans's
    `((X[:, None, :] - C[None]) ** 2).sum(axis=2)`), which stays lazy and fuses only where
    the view is daybreak's; as NumPy's view, every call after it was NumPy's, with its
    temporaries (4000 x 8 x 8 per step: kmeans at M 2.8x -> 3.5x NumPy). A smaller one is a
    loop's element work (resnet's `input[:, i:i + K, j:j + K, :, np.newaxis]` of 256
    elements per position: 0.97x -> 0.48x lazy)."""
    return part.size >= SMALL_PART and (key is None or (type(key) is tuple and None in key))


def _handed_view(x: ndarray, found: np.ndarray, part: np.ndarray, key) -> np.ndarray:
    """`part = found[key]`, a NumPy view of `x`'s computed buffer `found`, goes to the
    user, who may write it (`row = a[i]; row[j] = v` writes `a` in NumPy): the buffer is the
    user's memory from now on (`ndarray._handed_out`: pending values reading it are computed
    first, later ones read a snapshot). Once per buffer: after it, `x._memory` says so. When
    `x` is a view, the buffer is its root's (the array it is a view of, every level up):
    the root's is handed out, and `x` follows it (before, `x` alone became the user's
    memory and the root went on reading the buffer as its own: a copy of the root written
    in place wrote into the user's view)."""
    if not found.flags.writeable:
        return part
    if x._base is None:
        x._handed_out(found, x._held)
        return part
    np.asarray(x.root())
    again = x.concrete()
    if again is None:  # (a strided view of the root, a transpose: NumPy's view of it)
        again = x._users_view()
    return again[key] if again is not None else np.array(part, copy=True)


def _numpy_selection(x: ndarray, items: tuple) -> bool:
    """Whether NumPy's own selection is the way to compute `x[items]` for a computed `x`:
    a boolean mask over `x`'s leading axes (NumPy's compress is one pass writing the
    selected values; a lazy gather would first write a position per selected value, 8 bytes
    each, and could fuse no more than the values read by a later call), or integer
    positions along the first axis selecting fewer elements than the eager size (a gather
    of a CSR row: `x[cols]`). Asking a stand-in for the result's shape would cost as much as
    NumPy's whole selection; NumPy's own indexing raises its errors."""
    shape = x._shape
    if len(items) != 1 or type(items[0]) is not np.ndarray or not shape:
        return False
    key = items[0]
    if key.dtype.kind in "iu":
        selected = key.size * (math.prod(shape[1:]) if len(shape) > 1 else 1)
        if selected < SETTINGS.eager_below:
            return True
        # A quarter of the user's memory or less (`a[idx]` of 10^5 positions in 10^6): a
        # lazy gather would take a snapshot of the whole buffer (a copy, or a guard) to read
        # its part later, the rule `ufuncs._on_user_memory` follows
        e = x._held
        return 4 * selected <= x.size and type(e) is Leaf and getattr(e.node, "borrowed", False)
    return key.dtype == np.bool_ and 0 < key.ndim <= len(shape) and key.shape == shape[: key.ndim]


# Byte strides and item size -> strides in elements (a Python loop slicing rows or columns of
# one array asks the same few again and again).
_ELEMENT_STRIDES: dict = {}


def _first_element(found: np.ndarray, key) -> int | None:
    """The flat position in `found` (a C-ordered buffer) of the first element `key` (ints and
    slices; None for other keys) selects: arithmetic on the key, where reading the two
    arrays' addresses (`__array_interface__`) costs ~3 us each."""
    items = key if type(key) is tuple else (key,)
    shape = found.shape
    if len(items) > len(shape):
        return None
    offset, strides, item = 0, found.strides, found.itemsize
    for d, k in enumerate(items):
        kind = type(k)
        if kind is slice:
            if k.start is None and k.step is None:
                continue  # (most slices: `a[1:, :]`, `a[:, i:]`)
            start = k.indices(shape[d])[0]
        elif kind is int or kind in _INTEGER_KEYS:
            start = k + shape[d] if k < 0 else k
        else:
            return None  # None, ...: the general way
        offset += start * (strides[d] // item)
    return offset


_INTEGER_KEYS = (np.intp, np.int64, np.int32)


def view_of_computed(x: ndarray, part: np.ndarray, found: np.ndarray, key) -> ndarray:
    """`x[key]` for a computed `x` as a lazy array reading `x`'s buffer where NumPy's view
    `part = found[key]` reads it (its offset and strides): what the affine re-indexing below
    would make, without it."""
    leaf = x._expr  # a plain leaf over the computed buffer (`concrete` found it)
    item = found.itemsize
    offset = _first_element(found, key)
    if offset is None:
        address = part.__array_interface__["data"][0] - found.__array_interface__["data"][0]
        offset = address // item
    strides = _ELEMENT_STRIDES.get((part.strides, item))
    if strides is None:
        if len(_ELEMENT_STRIDES) > 1024:
            _ELEMENT_STRIDES.clear()
        strides = _ELEMENT_STRIDES[(part.strides, item)] = tuple(s // item for s in part.strides)
    read = Leaf.plain(leaf.node, strides, leaf.size, leaf.dtype)
    read.offset = int(offset)
    view = leaf_array(read, part.shape)
    # NumPy's own view, which an in-place call on the user's memory writes
    # (`methods._users_memory`), and a read-only one of it for NumPy calls that read the
    # view now (`strided_view` makes that when first asked: None until then)
    view._numpy_view = (view._held, None, part)
    return view.as_view_of(x, _write_view, key)


def _write_view(base: ndarray, view: ndarray) -> None:
    """How a view `base[key]` puts a write to it back into `base` (`key`: the view's own,
    `as_view_of`): the write, then the view reads `base`'s buffer again (a write to the view
    computed the view on its own; without this, later writes to `base` would not show in it,
    as they do in NumPy's view)."""
    key = view._base[2]
    base[key] = view
    found = base.concrete()
    if found is not None:
        part = found[key]
        again = view_of_computed(base, part, found, key) if type(part) is _NDARRAY else None
    else:
        again = getitem(base, key)
    if type(again) is ndarray and again.shape == view.shape:
        view._expr = again._held


def _advanced(x: ndarray, items: tuple, shape: tuple[int, ...], low: int | None = None):
    """`x[items]` with advanced keys (`shape`: the result's; `low`: the minimum of its one
    array of positions, when known)."""
    arrays = [k for k in items if not is_basic(k)]
    if (
        len(items) == 1
        and isinstance(items[0], np.ndarray)
        and items[0].dtype == np.bool_
        and items[0].shape == x.shape
        and x.ndim > 0
    ):
        return flat_gather(x, np.flatnonzero(items[0]).reshape(shape))
    one_axis = (
        len(arrays) == 1
        and isinstance(arrays[0], np.ndarray)
        and not any(is_integer(k) for k in items)
        and (arrays[0].dtype != np.bool_ or arrays[0].ndim == 1)
    )
    if one_axis:
        return _gather_one_axis(x, items, arrays[0], low)
    positions = np.arange(x.size, dtype=INDEX).reshape(x.shape)[items]
    return flat_gather(x, positions)


def index_leaf(index: np.ndarray, ndim: int, first_axis: int):
    """A leaf reading `index` (made i64) along new axes `first_axis...` of an `ndim`-D
    shape (stride 0 on the others)."""
    leaf = concrete_expr(np.ascontiguousarray(index, dtype=INDEX).reshape(index.shape or 1))[0]
    strides = [0] * ndim
    if index.ndim:
        strides[first_axis : first_axis + index.ndim] = leaf.strides
    return type(leaf)(leaf.node, tuple(strides), leaf.size, INDEX)


def flat_gather(x: ndarray, positions: np.ndarray) -> ndarray:
    """The elements of `x` at flat C-order `positions` (an array of any shape)."""
    flat = reshape_expr(x._expr, x.shape, (x.size,))
    leaf = index_leaf(positions, positions.ndim, 0)
    return ndarray(reindex(flat, [Computed(leaf)], positions.ndim), positions.shape)


def _gather_one_axis(x: ndarray, items: tuple, index: np.ndarray, low: int | None) -> ndarray:
    """One index array (or a 1-D mask) among slices: basic indexing with a full slice in its
    place, then a gather along that axis; the index's axes replace it."""
    if index.dtype == np.bool_:
        index = np.flatnonzero(index)
    items_list = spread(items, x.ndim)
    at = next(j for j, k in enumerate(items_list) if k is not None and not is_basic(k))
    items_list[at] = slice(None)
    sources, basic_shape = basic_sources(x.shape, items_list)
    axis = sum(1 for k in items_list[:at] if k is None or isinstance(k, slice))
    n = basic_shape[axis]
    shape = basic_shape[:axis] + index.shape + basic_shape[axis + 1 :]
    expr = reindex(x._expr, sources, len(basic_shape))
    k = index.ndim
    at = index_leaf(index, len(shape), axis)
    if low is None and index.size:
        low = index.min()
    if index.size and low < 0:
        # negative positions count from the end, in the loop (NumPy's copy of the key so
        # would cost three passes over it)
        at = index_op(
            lambda c, i: B.op("select", i < c.size(0), i + c.size(n), i),
            at,
            eager=lambda i: np.where(i < 0, i + n, i),
        )
    gather = [Affine(d) for d in range(axis)] + [Computed(at)]
    gather += [Affine(d + k - 1) for d in range(axis + 1, len(basic_shape))]
    return ndarray(reindex(expr, gather, len(shape)), shape)
