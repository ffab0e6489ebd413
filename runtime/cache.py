"""The on-disk compile cache: compiled code keyed by the hash of the optimised program.

Entries live in `~/.cache/daybreak` (`DAYBREAK_CACHE_DIR` moves it, `DAYBREAK_CACHE=0` turns
the disk cache off). Each entry is written atomically (a temporary file renamed into place)
and carries a checksum of its payload, so a corrupt or truncated entry is detected, deleted
and rebuilt — never trusted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_MAGIC = b"DAYBREAK1\n"


def cache_dir() -> Path | None:
    """The cache folder, or None when the disk cache is off."""
    if os.environ.get("DAYBREAK_CACHE", "1") == "0":
        return None
    root = os.environ.get("DAYBREAK_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "daybreak"


def key_for(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def load(key: str) -> bytes | None:
    """The payload stored under `key`; None when absent. A damaged entry is removed."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.bin"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(_MAGIC):
        digest, payload = data[len(_MAGIC) : len(_MAGIC) + 64], data[len(_MAGIC) + 64 :]
        if hashlib.sha256(payload).hexdigest().encode() == digest:
            return payload
    try:
        path.unlink()
    except OSError:
        pass
    raise CorruptEntry(key)


def store(key: str, payload: bytes) -> None:
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(payload).hexdigest().encode()
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + digest + payload)
        os.replace(tmp, folder / f"{key}.bin")
    except OSError:
        pass  # a read-only or full disk only costs the next process a compile


class CorruptEntry(Exception):
    """A cache entry failed its checksum (it has been deleted)."""
