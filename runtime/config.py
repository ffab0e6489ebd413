"""Process-wide settings, read by backends and frontends at call time.

>>> import daybreak as db
>>> old = db.config(threads=1)
>>> db.config()["threads"]
1
>>> _ = db.config(**old)
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields


@dataclass
class Settings:
    threads: int = os.cpu_count() or 1  # worker threads for top-level loops
    grain: int = 1 << 14  # fewest loop iterations worth giving a thread of their own
    backend: str = "llvm"  # the backend db.compile uses when none is named
    strict: bool = False  # make every fallback an error instead of a counted detour
    passes_off: frozenset[str] = frozenset()  # optimizer passes to skip, by name
    # Frontends run the real library directly (no lazy graph) when a result has fewer elements
    # than this and its inputs are already computed: recording a call costs ~20-80 us of
    # Python, which fusing saves back only on arrays of about this size (docs/scheduler.md).
    # (Reductions and products of NumPy data are NumPy's own at any setting: NUMPY_OWN.)
    eager_below: int = 1 << 16
    # A program the compile cache has not seen yet runs eagerly in the real library (tier 0)
    # while it compiles on a background thread; later runs of the same structure use native
    # code. False: compile first and run native code every time (tests of the compiled path).
    compile_in_background: bool = True
    # Bytes of split arguments per piece of an annotated call chain (daybreak.annotations):
    # 0 is this machine's L2 cache size, so a piece one call writes is in cache for the next.
    split_piece_bytes: int = 0
    # A statement that stores into an array and ran natively runs again as that program,
    # its calls not recorded while its names hold what they held (frontends/numpy/replay.py)
    replay: bool = True
    # A Python loop reading and writing a computed array element by element gets NumPy's
    # array over the same memory in its frame's names (frontends/numpy/handover.py)
    handover: bool = True


SETTINGS = Settings()


def config(**changes) -> dict:
    """Change settings (`threads=`, `grain=`, `backend=`, `strict=`, `passes_off=`,
    `eager_below=`, `compile_in_background=`, `split_piece_bytes=`, `replay=`, `handover=`);
    returns the settings as they were before. With no arguments, returns the current settings."""
    before = asdict(SETTINGS)
    known = {f.name for f in fields(Settings)}
    for name, value in changes.items():
        if name not in known:
            raise TypeError(f"unknown setting {name!r} (known: {', '.join(sorted(known))})")
        if name in ("threads", "grain") and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int, not {value!r}")
        if name in ("eager_below", "split_piece_bytes") and (
            not isinstance(value, int) or value < 0
        ):
            raise ValueError(f"{name} must be an int >= 0, not {value!r}")
        if name == "passes_off":
            value = _pass_names(value)
        setattr(SETTINGS, name, value)
    return before


def _pass_names(value) -> frozenset[str]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"passes_off must be a set of pass names, not {value!r}")
    # The names themselves are checked by the optimizer (runtime/ does not import it).
    return frozenset(value)
