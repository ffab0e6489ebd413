"""The disk cache never trusts an entry: each way of damaging or replacing entries is tried in a
NEW process (the one that would load them), which must give the right answer, neither crash
nor hang, and leave a cache that works again for the process after it."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from daybreak.runtime import cache

# The child runs under an address-space limit, so that a cache that reads without end fails
# with MemoryError instead of taking the machine's memory.
CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    import numpy as np, daybreak as db
    factor = int(sys.argv[1])
    f = db.compile(
        f"|v: vec[i64]| result(for(v, merger[i64,+], |b, i, x| merge(b, x * {factor}L)))",
        backend="llvm",
    )
    s = db.stats()
    print(int(f(np.arange(10))), s["cache_disk_hits"], s["cache_misses"], s["cache_rebuilt"])
    """
)
A, B = 3, 5  # two programs: the sums of x * 3 and x * 5 over 0..9


def _run(folder: Path, factor: int = A) -> tuple[int, int, int]:
    """(disk hits, misses, rebuilt entries) of a new process that computes program `factor`,
    after checking its answer."""
    env = {**os.environ, "DAYBREAK_CACHE_DIR": str(folder)}
    env.pop("DAYBREAK_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(factor)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    answer, *counts = (int(x) for x in done.stdout.split())
    assert answer == 45 * factor, "a wrong result from the cache"
    return tuple(counts)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict[str, Path]:
    """Cache folders made by real processes: "a" holds the runtime's and program A's entries,
    "b" the runtime's and program B's. Returns the folders and which entry is which."""
    made = {}
    for name, factor in (("a", A), ("b", B)):
        folder = tmp_path_factory.mktemp(f"cache_{name}")
        assert _run(folder, factor) == (0, 2, 0)
        made[name] = folder
    entries_a = {p.name for p in made["a"].glob("*.bin")}
    entries_b = {p.name for p in made["b"].glob("*.bin")}
    (runtime,) = entries_a & entries_b
    (program_a,) = entries_a - {runtime}
    (program_b,) = entries_b - {runtime}
    return {**made, "runtime": runtime, "program_a": program_a, "program_b": program_b}


@pytest.fixture
def folder(pristine, tmp_path) -> Path:
    """A copy of program A's cache folder, to damage."""
    copy = tmp_path / "cache"
    shutil.copytree(pristine["a"], copy)
    assert _run(copy) == (2, 0, 0)  # the copy is served from disk as it is
    return copy


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.bin"))


def _assert_rebuilt(folder: Path, damaged: int) -> None:
    """A process given the damaged folder rebuilds what it must; the next one is served
    from disk again, and no temporary file is left."""
    hits, misses, rebuilt = _run(folder)
    assert (hits, misses, rebuilt) == (2 - damaged, damaged, damaged)
    assert _run(folder) == (2, 0, 0)
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))


# ----------------------------------------------------------------------------------------------
# Entries replaced by other entries.


def test_entry_of_another_program_under_this_key(pristine, folder):
    """Program B's entry copied over program A's: A must not run B's code."""
    shutil.copyfile(pristine["b"] / pristine["program_b"], folder / pristine["program_a"])
    _assert_rebuilt(folder, damaged=1)


def test_program_entry_over_the_runtime_entry(pristine, folder):
    shutil.copyfile(folder / pristine["program_a"], folder / pristine["runtime"])
    _assert_rebuilt(folder, damaged=1)


def test_entry_of_an_older_layout(pristine, folder):
    """The previous layout (magic, sha256 hex digest, pickled object), sound in itself but
    holding program B's object under program A's key: it named no key, so it is not trusted."""
    payload = pickle.dumps({"object": _payload(pristine["b"] / pristine["program_b"])})
    entry = folder / pristine["program_a"]
    entry.write_bytes(b"DAYBREAK1\n" + hashlib.sha256(payload).hexdigest().encode() + payload)
    _assert_rebuilt(folder, damaged=1)


def test_entry_made_for_another_llvm(pristine, folder):
    """The key in place but the facts (here the host/LLVM fingerprint) of another build."""

    def other_host(header: dict, payload: bytes):
        header["facts"]["host"] = "another-cpu|+sse2|(99, 0, 0)|llvmlite 9.9"
        return header, payload

    _rewrite(folder / pristine["program_a"], other_host)
    _assert_rebuilt(folder, damaged=1)


# ----------------------------------------------------------------------------------------------
# A valid checksum over object code MCJIT cannot load (it would end the process).


def _parts(entry: Path) -> tuple[dict, bytes]:
    """An entry's header and payload (runtime/cache.py's layout: magic, header length, JSON
    header, payload, sha256 of all that)."""
    data = entry.read_bytes()
    start = len(cache.FORMAT) + 4
    length = int.from_bytes(data[len(cache.FORMAT) : start], "little")
    return json.loads(data[start : start + length]), data[start + length : -32]


def _payload(entry: Path) -> bytes:
    return _parts(entry)[1]


def _rewrite(entry: Path, change) -> None:
    """Rewrite an entry's header and payload with `change`, with a checksum that holds."""
    header, payload = change(*_parts(entry))
    header["payload_bytes"] = len(payload)
    encoded = json.dumps(header, sort_keys=True).encode()
    body = cache.FORMAT + len(encoded).to_bytes(4, "little") + encoded + payload
    entry.write_bytes(body + hashlib.sha256(body).digest())


def _payload_change(make):
    return lambda header, payload: (header, make(payload))


def _other_machine(obj: bytes) -> bytes:
    return obj[:18] + (183 if obj[18] != 183 else 62).to_bytes(2, "little") + obj[20:]


def _sections_elsewhere(obj: bytes) -> bytes:
    return obj[:40] + (len(obj) * 4).to_bytes(8, "little") + obj[48:]


def _unknown_symbol(obj: bytes) -> bytes:
    """An undefined symbol renamed to one no process has (programs call db_* runtime
    functions; the runtime calls malloc)."""
    for name in (b"db_alloc", b"db_fail", b"malloc", b"memcpy"):
        if name + b"\0" in obj:
            return obj.replace(name + b"\0", b"x" * len(name) + b"\0", 1)
    raise AssertionError("no known undefined symbol to rename")


def _flipped_relocations(obj: bytes) -> bytes:
    """Every relocation's type set to one MCJIT does not implement."""
    import struct

    shoff, shnum = struct.unpack_from("<Q", obj, 40)[0], struct.unpack_from("<H", obj, 60)[0]
    out = bytearray(obj)
    for i in range(shnum):
        _, kind, _, _, offset, size, *_ = struct.unpack_from("<IIQQQQIIQQ", obj, shoff + 64 * i)
        if kind == 4:  # SHT_RELA
            for at in range(offset, offset + size, 24):
                struct.pack_into("<I", out, at + 8, 0xBEEF)
    return bytes(out)


JUNK_PAYLOADS = {
    "junk": lambda obj: os.urandom(len(obj)),
    "empty": lambda obj: b"",
    "truncated object": lambda obj: obj[: len(obj) // 2],
    "ELF header only": lambda obj: obj[:64],
    "object for another machine": _other_machine,
    "section table outside the file": _sections_elsewhere,
    "unresolvable symbol": _unknown_symbol,
    "unsupported relocations": _flipped_relocations,
}


@pytest.mark.parametrize("kind", list(JUNK_PAYLOADS))
def test_valid_checksum_over_junk_object_code(folder, kind):
    for entry in _entries(folder):
        _rewrite(entry, _payload_change(JUNK_PAYLOADS[kind]))
    _assert_rebuilt(folder, damaged=2)


# ----------------------------------------------------------------------------------------------
# Damaged files, and things that are not files.


def test_truncated_and_damaged_entries(folder):
    """(The checksum caught these before the entries named their key: a regression guard.)"""
    truncated, flipped = _entries(folder)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x40
    flipped.write_bytes(bytes(data))
    _assert_rebuilt(folder, damaged=2)


def test_symlink_to_dev_zero(folder):
    for entry in _entries(folder):
        entry.unlink()
        entry.symlink_to("/dev/zero")
    _assert_rebuilt(folder, damaged=2)
    assert not any(p.is_symlink() for p in folder.iterdir())


def test_symlink_to_a_valid_entry_is_not_followed(pristine, folder):
    target = folder.parent / "elsewhere.bin"
    entry = folder / pristine["program_a"]
    shutil.move(entry, target)
    entry.symlink_to(target)
    _assert_rebuilt(folder, damaged=1)
    assert target.exists()  # what the link pointed to is not touched


def test_fifo_in_place_of_an_entry(folder):
    for entry in _entries(folder):
        entry.unlink()
        os.mkfifo(entry)
    _assert_rebuilt(folder, damaged=2)


def test_empty_directory_in_place_of_an_entry(folder):
    for entry in _entries(folder):
        entry.unlink()
        entry.mkdir()
    _assert_rebuilt(folder, damaged=2)


def test_directory_with_contents_in_place_of_an_entry(pristine, folder):
    """Not ours to delete: every process compiles instead, and leaves no temporary file."""
    entry = folder / pristine["program_a"]
    entry.unlink()
    entry.mkdir()
    (entry / "keep").write_text("user data")
    for _ in range(2):
        assert _run(folder) == (1, 1, 1)
    assert (entry / "keep").read_text() == "user data"
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))


def test_unreadable_entries(folder):
    for entry in _entries(folder):
        entry.chmod(0)
    if os.access(_entries(folder)[0], os.R_OK):  # root reads anyway: the entries are fine
        assert _run(folder) == (2, 0, 0)
    else:
        _assert_rebuilt(folder, damaged=2)


def test_oversized_entry(pristine, folder):
    entry = folder / pristine["program_a"]
    with open(entry, "ab") as f:
        f.truncate(cache.MAX_ENTRY_BYTES + 1)  # sparse: no disk used
    _assert_rebuilt(folder, damaged=1)


# ----------------------------------------------------------------------------------------------
# A process that died while handing an entry to MCJIT.


def test_entry_a_process_died_loading_is_discarded(pristine, folder):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (folder / (pristine["program_a"][: -len(".bin")] + ".loading")).write_text(dead.stdout)
    _assert_rebuilt(folder, damaged=1)
    assert not list(folder.glob("*.loading"))


def test_entry_being_loaded_by_a_live_process_is_left_alone(pristine, folder):
    mark = folder / (pristine["program_a"][: -len(".bin")] + ".loading")
    mark.write_text(str(os.getpid()))  # this test process: alive
    assert _run(folder) == (1, 1, 0)  # compiled instead, nothing discarded
    mark.unlink()
    assert _run(folder) == (2, 0, 0)


# ----------------------------------------------------------------------------------------------
# Writing.


def test_failed_store_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DAYBREAK_CACHE_DIR", str(tmp_path))

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(cache.os, "replace", fail)
    cache.store(cache.key_for("x"), b"payload")
    assert list(tmp_path.iterdir()) == []


def test_store_and_load_check_key_and_facts(tmp_path, monkeypatch):
    monkeypatch.setenv("DAYBREAK_CACHE_DIR", str(tmp_path))
    key, other = cache.key_for("a"), cache.key_for("b")
    cache.store(key, b"payload", {"llvm": "15"})
    assert cache.load(key, {"llvm": "15"}) == b"payload"
    with pytest.raises(cache.CorruptEntry, match="made for"):
        cache.load(key, {"llvm": "16"})
    assert cache.load(key, {"llvm": "15"}) is None  # discarded
    cache.store(key, b"payload")
    shutil.copyfile(tmp_path / f"{key}.bin", tmp_path / f"{other}.bin")
    with pytest.raises(cache.CorruptEntry, match="another key"):
        cache.load(other)
    assert not (tmp_path / f"{other}.bin").exists()
