"""The compile cache: memory hits, disk hits in a new process, corrupt entries rebuilt."""

import os
import subprocess
import sys
import textwrap

import daybreak as db
from daybreak.runtime import cache

PROGRAM = "|v: vec[i64]| result(for(v, merger[i64,+], |b, i, x| merge(b, x * 3L)))"

CHILD = textwrap.dedent(
    f"""
    import numpy as np, daybreak as db
    f = db.compile({PROGRAM!r}, backend="llvm")
    assert f(np.arange(10)) == 135
    s = db.stats()
    print(s["cache_disk_hits"], s["cache_misses"], s["cache_rebuilt"])
    """
)


def _child(tmp_path, **env):
    full = {**os.environ, "DAYBREAK_CACHE_DIR": str(tmp_path), **env}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=full, capture_output=True, text=True, check=True
    )
    return tuple(int(x) for x in out.stdout.split())


# Each process compiles two modules: the native runtime (once per process) and the program.


def test_second_process_skips_llvm(tmp_path):
    assert _child(tmp_path) == (0, 2, 0)  # compiled, stored
    assert len(list(tmp_path.glob("*.bin"))) == 2
    assert _child(tmp_path) == (2, 0, 0)  # both loaded from disk


def test_corrupt_entry_is_detected_and_rebuilt(tmp_path):
    _child(tmp_path)
    for entry in tmp_path.glob("*.bin"):
        entry.write_bytes(entry.read_bytes()[:40] + b"garbage")
    assert _child(tmp_path) == (0, 2, 2)  # rebuilt, still the right answer
    assert _child(tmp_path) == (2, 0, 0)  # and stored again


def test_cache_off(tmp_path):
    assert _child(tmp_path, DAYBREAK_CACHE="0") == (0, 2, 0)
    assert not list(tmp_path.glob("*.bin"))


def test_memory_cache_hits_for_equal_programs():
    before = db.stats()["cache_hits"]
    f1 = db.compile(PROGRAM, backend="llvm")
    f2 = db.compile(db.ir.parse(PROGRAM), backend="llvm")
    assert f1 is f2
    assert db.stats()["cache_hits"] >= before + 1


def test_store_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DAYBREAK_CACHE_DIR", str(tmp_path))
    key = cache.key_for("a", "b")
    assert cache.load(key) is None
    cache.store(key, b"payload")
    assert cache.load(key) == b"payload"
