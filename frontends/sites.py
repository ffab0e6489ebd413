"""Where in the user's code a lazy value over the user's memory was made, and what became of
the values made there: the feedback that lets a frontend choose, at a call site it has seen
before, between recording lazily and computing at once.

A lazy value that reads memory the user may still write costs a pass over that memory when it
is made (`lazy.Param.snapshot`: a copy, or a comparison with the copy). That pass pays for
itself when the value fuses into more work; when the value is only ever computed on its own
(`return a + trace`, handed to NumPy), computing it at once, as NumPy does, is one pass where
the snapshot and the later run are two. The first call cannot know which, and deciding later
would be unsound (user code may write the memory in between), so the decision is made from
what happened at the same line before, as a JIT's type feedback does:

>>> site = ("example", 1)
>>> alone_at(site)
False
>>> materialised_alone(site)
>>> alone_at(site)
True
>>> consumed(site)
>>> alone_at(site)
False
>>> computed_in_library(site)
>>> consumed(site)
>>> alone_at(site)
True

Either choice gives NumPy's values; only the cost differs.
"""

from __future__ import annotations

import sys

_PACKAGE = __name__.split(".")[0] + "."
_ALONE: dict = {}  # site -> True: the last value made there was computed on its own
_LIMIT = 4096


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
    return (frame.f_code, frame.f_lasti)


def alone_at(site) -> bool:
    """Whether the last value made at `site` was computed on its own (no work fused on top),
    or a value fused from it was computed in the library (`computed_in_library`)."""
    return bool(_ALONE.get(site, False))


def materialised_alone(site) -> None:
    """A value made at `site` was computed as it was made: nothing consumed it lazily."""
    if len(_ALONE) >= _LIMIT:
        _ALONE.clear()
    _ALONE[site] = True


def consumed(site) -> None:
    """A value made at `site` became part of a larger lazy value (fusion may pay for its
    pass). Not after `computed_in_library`: such a line's values fuse, and then run op by op."""
    if _ALONE.get(site) is True:
        _ALONE[site] = False


def computed_in_library(site) -> None:
    """A value fused from one made at `site` was computed by the library, call by call, for
    good (work too small for native code ever to pay: `scheduler.library_for_good`): the
    snapshot bought no fusion, so the line computes at once from now on, also when its values
    are consumed by later calls (that is what happened here)."""
    if len(_ALONE) >= _LIMIT:
        _ALONE.clear()
    _ALONE[site] = "library"
