"""The compile cache: compiled code keyed by the hash of the optimised program, on disk and in
memory.

Entries live in `~/.cache/daybreak` (`DAYBREAK_CACHE_DIR` moves it, `DAYBREAK_CACHE=0` turns
the disk cache off). An entry is never trusted, because what it holds ends up as machine code
in this process:

* it names the key it was stored under and the facts its payload depends on (the code
  generator's version, the LLVM version, the host, a hash of the source it was made from), and
  a checksum covers all of it, so an entry copied over another one, left by another version or
  host, truncated or damaged is discarded and rebuilt;
* only a regular file of sane size is read (a symlink, FIFO, device or directory in its place
  is discarded without being followed, opened for writing or read without end);
* a payload that the caller finds unusable is discarded too (`discard`), and the caller marks
  the moment it hands a payload to code that cannot fail gracefully (`handing_over`): a process
  that dies there leaves the mark, and the next process discards the entry instead of dying
  as well;
* entries are written to a temporary file renamed into place, removed when anything fails.

`LRU` bounds the in-memory caches of compiled programs (daybreak/api.py, backends/llvm).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

FORMAT = b"DAYBREAK2\n"  # the entry layout; entries of any other layout are discarded
MAX_ENTRY_BYTES = 64 << 20  # far above any compiled program; a bigger "entry" is not ours
_DIGEST_BYTES = 32  # sha256
_LENGTH_BYTES = 4  # the header's length, little-endian
# A mark older than this is stale whoever left it: handing code over takes milliseconds.
_MARK_STALE_SECONDS = 120.0

# Opening an entry: never follow a symlink, never wait for a FIFO's writer.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


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


class CorruptEntry(Exception):
    """A cache entry could not be used (it has been discarded); the caller rebuilds it."""


# ----------------------------------------------------------------------------------------------
# Reading.


def load(key: str, facts: Mapping[str, str] | None = None) -> bytes | None:
    """The payload stored under `key` by `store(key, payload, facts)` with equal `facts`; None
    when there is none (or another process is handing it over right now). Raises
    `CorruptEntry` after discarding an entry that cannot be used."""
    folder = cache_dir()
    if folder is None:
        return None
    path = _entry_path(folder, key)
    mark = _mark_path(folder, key)
    if os.path.lexists(mark):
        if _mark_is_live(mark):
            return None
        _remove(mark)
        _discard_path(path)
        raise CorruptEntry(f"{key}: a process died while loading it")
    try:
        data = _read_regular_file(path)
    except (FileNotFoundError, NotADirectoryError):  # no entry (or no cache folder)
        return None
    except (OSError, _Unusable) as why:
        _discard_path(path)
        raise CorruptEntry(f"{key}: {why}") from None
    try:
        return _payload_of(data, key, dict(facts or {}))
    except _Unusable as why:
        _discard_path(path)
        raise CorruptEntry(f"{key}: {why}") from None


class _Unusable(Exception):
    """Why the bytes at an entry's path are not an entry for this key."""


def _read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_ENTRY_BYTES, checked on the open descriptor
    (a check of the path before opening could be raced)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unusable("not a regular file")
        if info.st_size > MAX_ENTRY_BYTES:
            raise _Unusable(f"{info.st_size} bytes, more than an entry can be")
        chunks, left = [], info.st_size + 1  # one byte more: a file that grew is not ours
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) != info.st_size:
        raise _Unusable("changed while being read")
    return data


def _payload_of(data: bytes, key: str, facts: dict[str, str]) -> bytes:
    """The payload of an entry's bytes, after checking the layout, checksum, key and facts."""
    if not data.startswith(FORMAT):
        raise _Unusable("not in this version's layout")
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if (
        len(data) < len(FORMAT) + _LENGTH_BYTES + _DIGEST_BYTES
        or hashlib.sha256(body).digest() != digest
    ):
        raise _Unusable("checksum mismatch (damaged or truncated)")
    start = len(FORMAT) + _LENGTH_BYTES
    header_length = int.from_bytes(data[len(FORMAT) : start], "little")
    try:
        header = json.loads(body[start : start + header_length])
    except ValueError:
        raise _Unusable("unreadable header") from None
    if not isinstance(header, dict) or header.get("key") != key:
        raise _Unusable("stored under another key")
    if header.get("facts") != facts:
        raise _Unusable(f"made for {header.get('facts')}, not {facts}")
    payload = body[start + header_length :]
    if header.get("payload_bytes") != len(payload):
        raise _Unusable("payload length mismatch")
    return payload


# ----------------------------------------------------------------------------------------------
# Writing and discarding.


def store(key: str, payload: bytes, facts: Mapping[str, str] | None = None) -> None:
    """Store `payload` under `key`, with the `facts` that `load` must be given to get it back.
    Failing to store (a read-only or full disk) only costs the next process a compile."""
    folder = cache_dir()
    if folder is None:
        return
    header = json.dumps(
        {"key": key, "facts": dict(facts or {}), "payload_bytes": len(payload)}, sort_keys=True
    ).encode()
    body = FORMAT + len(header).to_bytes(_LENGTH_BYTES, "little") + header + payload
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key[:16]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(body + hashlib.sha256(body).digest())
        os.replace(temporary, _entry_path(folder, key))  # a symlink there is replaced, not followed
        temporary = None
    except OSError:
        pass  # a read-only or full disk only costs the next process a compile
    finally:
        if temporary is not None:
            _remove(temporary)


def discard(key: str) -> None:
    """Remove the entry stored under `key` (its payload turned out to be unusable)."""
    folder = cache_dir()
    if folder is not None:
        _discard_path(_entry_path(folder, key))


@contextmanager
def handing_over(key: str) -> Iterator[None]:
    """Mark the entry under `key` while its payload is handed to code that cannot fail
    gracefully (MCJIT aborts the process on object code it cannot load): if this process dies
    inside, the mark stays, and the next `load` discards the entry instead of dying too."""
    folder = cache_dir()
    mark = _mark_path(folder, key) if folder is not None else None
    owned = mark is not None and _make_mark(mark)
    try:
        yield
    finally:
        if owned:
            _remove(mark)


def _entry_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.bin"


def _mark_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.loading"


def _make_mark(mark: Path) -> bool:
    """Create the mark (with this process's id); False when it exists or cannot be made."""
    try:
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def _mark_is_live(mark: Path) -> bool:
    """Whether the process that made the mark may still be handing the entry over."""
    try:
        if time.time() - os.lstat(mark).st_mtime > _MARK_STALE_SECONDS:
            return False
        pid = int(_read_regular_file(mark) or b"0")
    except (OSError, ValueError, _Unusable):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (owned by someone else)
    return True


def _discard_path(path: Path) -> None:
    """Remove whatever is at an entry's path: a file or a link (never what it points to), or
    an empty directory. A directory with contents is left alone (it is not ours to delete)."""
    try:
        os.unlink(path)
    except IsADirectoryError:
        _remove_directory(path)
    except PermissionError:
        if os.path.isdir(path) and not os.path.islink(path):
            _remove_directory(path)  # Linux's unlink says EPERM or EISDIR for a directory
    except OSError:
        pass  # gone already, or not ours to remove: the entry is rebuilt elsewhere


def _remove_directory(path: Path) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass  # not empty (someone else's files): left alone, the program compiles


def _remove(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already: nothing to remove


# ----------------------------------------------------------------------------------------------
# In memory.


class LRU:
    """A thread-safe mapping that keeps its `capacity` most recently used entries. Evicting
    only drops the cache's reference: a value still held elsewhere lives on.

    >>> cache = LRU(2)
    >>> cache.put("a", 1); cache.put("b", 2); cache.get("a"); cache.put("c", 3)
    1
    >>> sorted(cache.keys())
    ['a', 'c']
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            try:
                self._items.move_to_end(key)
            except KeyError:
                return default
            return self._items[key]

    def put(self, key, value) -> None:
        evicted = []  # dropped after the lock is released: their finalisers may run then
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > max(self.capacity, 0):
                evicted.append(self._items.popitem(last=False))
        del evicted

    def keys(self) -> list:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)
